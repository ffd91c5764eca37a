import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../lib/errors.js';
import { SUBSCRIPTION_ACTIONS, type SubscriptionAction, type SubscriptionInput, type SubscriptionInterval } from '../schemas/customer-subscription.schema.js';
import { recordAudit } from './audit.service.js';
import { customerAccess, scopedShop, staffActor, whereInScope, type CustomerAccess, type ScopedShop } from './customer-access.service.js';
import type { StaffPrincipal } from './staff.service.js';

// Product subscriptions (F-DASH-4): a repeat delivery of one product of one of the customer's shops,
// every week, month, quarter or year, from `nextDelivery` on. Active ones can be paused and resumed;
// cancelling is final. Reads and writes are limited to the staff member's shops; every change is on
// the timeline (audit_log, same transaction).

type Db = Knex | Knex.Transaction;
export type SubscriptionStatus = 'active' | 'paused' | 'cancelled';

export interface SubscriptionSummary {
  id: number;
  shopId: number;
  shopName: string;
  productId: number;
  productName: string;
  sku: string;
  quantity: number;
  interval: SubscriptionInterval;
  /** YYYY-MM-DD */
  nextDelivery: string;
  status: SubscriptionStatus;
  staffName: string | null;
  createdAt: Date;
}

export interface SubscriptionProduct {
  id: number;
  sku: string;
  name: string;
  price: number;
}

/** How many products the form's select offers at most (active ones, by name). */
export const SUBSCRIPTION_PRODUCTS_LIMIT = 500;
const MAX_DAYS_AHEAD = 366;
const STEP: Record<SubscriptionInterval, string> = { weekly: '1 week', monthly: '1 month', quarterly: '3 months', yearly: '1 year' };

/** Adding a subscription is a sale (not for support staff); pausing, resuming and cancelling is service, for every role. */
export function mayAddSubscriptions(staff: StaffPrincipal): boolean {
  return staff.role !== 'support';
}
export const SUBSCRIPTION_ADD_REFUSED = 'Your role may pause, resume and cancel subscriptions but not add them.';

function summaries(db: Db, access: CustomerAccess) {
  return whereInScope(
    db('productSubscriptions as ps')
      .join('shops', 'shops.id', 'ps.shopId')
      .join('products as p', 'p.id', 'ps.productId')
      .leftJoin('staffUsers as s', 's.id', 'ps.createdByStaffId')
      .where('ps.customerId', access.customerId)
      .select(
        'ps.id',
        'ps.shopId',
        'shops.name as shopName',
        'ps.productId',
        'p.name as productName',
        'p.sku',
        'ps.quantity',
        'ps.interval',
        db.raw(`to_char(ps.next_delivery, 'YYYY-MM-DD') AS next_delivery`),
        'ps.status',
        db.raw("coalesce(nullif(s.name, ''), s.email::text) AS staff_name"),
        'ps.createdAt',
      )
      .orderBy([{ column: 'ps.createdAt', order: 'desc' }, { column: 'ps.id', order: 'desc' }]),
    'ps.shopId',
    access.staff.scope,
  );
}

/** Newest first; `before` (a subscription id) continues after it. */
export async function listSubscriptions(db: Db, access: CustomerAccess, options: { limit: number; before?: number }): Promise<SubscriptionSummary[]> {
  const query = summaries(db, access).limit(options.limit);
  if (options.before) query.whereRaw('(ps.created_at, ps.id) < (SELECT created_at, id FROM product_subscriptions WHERE id = ? AND customer_id = ?)', [options.before, access.customerId]);
  return (await query) as SubscriptionSummary[];
}

export async function countSubscriptions(db: Db, access: CustomerAccess): Promise<number> {
  const row = (await whereInScope(db('productSubscriptions').where({ customerId: access.customerId }), 'shopId', access.staff.scope).count({ n: '*' }).first()) as { n: string | number };
  return Number(row.n);
}

/** The widget (order 40 in the main column): the 6 most recent subscriptions. */
export async function loadSubscriptionsWidget(knex: Knex, access: CustomerAccess) {
  const [subscriptions, count] = await Promise.all([listSubscriptions(knex, access, { limit: 6 }), countSubscriptions(knex, access)]);
  return { subscriptions, count, mayAdd: mayAddSubscriptions(access.staff) };
}

/** The active products of one of the customer's shops, for the form's select. */
export async function subscriptionProducts(db: Db, shop: ScopedShop): Promise<SubscriptionProduct[]> {
  return (await db('products')
    .where({ shopId: shop.shopId, active: true })
    .select('id', 'sku', 'name', 'price')
    .orderBy([{ column: 'name' }, { column: 'sku' }])
    .limit(SUBSCRIPTION_PRODUCTS_LIMIT)) as SubscriptionProduct[];
}

/** Today in the shop's time zone plus `days`, as YYYY-MM-DD. */
export async function shopToday(db: Db, shop: Pick<ScopedShop, 'timeZone'>, days = 0): Promise<string> {
  const result = (await db.raw(`SELECT to_char((now() AT TIME ZONE ?)::date + ?::int, 'YYYY-MM-DD') AS day`, [shop.timeZone, days])) as { rows: Array<{ day: string }> };
  return result.rows[0]!.day;
}

/**
 * Adds an active subscription. The shop must be one of the customer's shops in the staff member's
 * scope (else 404) and the product an active product of that shop; the first delivery is today or
 * later (in the shop's time zone), at most a year ahead.
 */
export async function addSubscription(knex: Knex, staff: StaffPrincipal, customerId: number, input: SubscriptionInput, requestId?: string): Promise<{ id: number; productName: string; shopName: string }> {
  if (!mayAddSubscriptions(staff)) throw new ForbiddenError(SUBSCRIPTION_ADD_REFUSED);
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId);
    const shop = scopedShop(access, input.shopId);
    const product = (await trx('products').where({ id: input.productId, shopId: shop.shopId, active: true }).first('id', 'sku', 'name')) as { id: number; sku: string; name: string } | undefined;
    if (!product) throw new ValidationError({ productId: `Choose a product of ${shop.shopName} from the list.` });
    const [today, latest] = await Promise.all([shopToday(trx, shop), shopToday(trx, shop, MAX_DAYS_AHEAD)]);
    if (input.firstDelivery < today) throw new ValidationError({ firstDelivery: 'The first delivery cannot be in the past.' });
    if (input.firstDelivery > latest) throw new ValidationError({ firstDelivery: 'The first delivery can be at most a year ahead.' });

    const [row] = (await trx('productSubscriptions')
      .insert({ customerId, shopId: shop.shopId, productId: product.id, quantity: input.quantity, interval: input.interval, nextDelivery: input.firstDelivery, status: 'active', createdByStaffId: staff.id })
      .returning('id')) as Array<{ id: number }>;
    await recordAudit(trx, {
      ...staffActor(access, requestId),
      shopId: shop.shopId,
      action: 'subscription.created',
      changes: { subscriptionId: row!.id, product: product.name, sku: product.sku, quantity: input.quantity, interval: input.interval, nextDelivery: input.firstDelivery },
    });
    return { id: row!.id, productName: product.name, shopName: shop.shopName };
  });
}

const ALLOWED_FROM: Record<SubscriptionAction, SubscriptionStatus[]> = { pause: ['active'], resume: ['paused'], cancel: ['active', 'paused'] };

/**
 * Pauses, resumes or cancels one of the customer's subscriptions in the staff member's shops (else
 * 404). Resuming moves a next delivery that has passed forward by whole intervals to today or later.
 */
export async function changeSubscriptionStatus(
  knex: Knex,
  staff: StaffPrincipal,
  customerId: number,
  subscriptionId: number,
  action: SubscriptionAction,
  requestId?: string,
): Promise<{ productName: string; status: SubscriptionStatus; nextDelivery: string }> {
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId);
    const current = (await whereInScope(trx('productSubscriptions as ps').join('products as p', 'p.id', 'ps.productId').where({ 'ps.id': subscriptionId, 'ps.customerId': customerId }), 'ps.shopId', access.staff.scope)
      .forUpdate('ps')
      .first('ps.id', 'ps.shopId', 'ps.status', 'ps.interval', 'p.name as productName', trx.raw(`to_char(ps.next_delivery, 'YYYY-MM-DD') AS next_delivery`))) as
      | { id: number; shopId: number; status: SubscriptionStatus; interval: SubscriptionInterval; productName: string; nextDelivery: string }
      | undefined;
    if (!current) throw new NotFoundError('We could not find that subscription.');
    const shop = scopedShop(access, current.shopId);
    const to = SUBSCRIPTION_ACTIONS[action];
    if (!ALLOWED_FROM[action].includes(current.status)) {
      throw new ConflictError(current.status === 'cancelled' ? `The subscription to ${current.productName} was cancelled; add a new one instead.` : `The subscription to ${current.productName} is already ${current.status}.`);
    }

    const fields: Record<string, { from: unknown; to: unknown }> = { status: { from: current.status, to } };
    let nextDelivery = current.nextDelivery;
    if (action === 'resume') {
      const today = await shopToday(trx, shop);
      if (nextDelivery < today) {
        const moved = (await trx.raw(
          `SELECT to_char(min(d), 'YYYY-MM-DD') AS day FROM generate_series(?::date::timestamp, ?::date + interval '2 years', ?::interval) d WHERE d >= ?::date`,
          [nextDelivery, today, STEP[current.interval], today],
        )) as { rows: Array<{ day: string }> };
        fields.nextDelivery = { from: nextDelivery, to: moved.rows[0]!.day };
        nextDelivery = moved.rows[0]!.day;
      }
    }
    await trx('productSubscriptions').where({ id: current.id }).update({ status: to, nextDelivery, updatedAt: trx.fn.now() });
    await recordAudit(trx, { ...staffActor(access, requestId), shopId: current.shopId, action: 'subscription.status_changed', changes: { subscriptionId: current.id, product: current.productName, fields } });
    return { productName: current.productName, status: to, nextDelivery };
  });
}
