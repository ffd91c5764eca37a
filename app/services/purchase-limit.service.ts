import type { Knex } from 'knex';
import { ForbiddenError, NotFoundError } from '../lib/errors.js';
import { formatMoney } from '../lib/money.js';
import type { LimitPeriod, PurchaseLimitInput } from '../schemas/purchase-limit.schema.js';
import { recordAudit } from './audit.service.js';
import { customerAccess, scopedShop, staffActor, type CustomerAccess, type ScopedShop } from './customer-access.service.js';
import type { StaffPrincipal } from './staff.service.js';

// Purchase limits (F-LIMIT-1): per customer and shop, an amount over a window that is either
// fixed (start … end date, both days included) or recurring from the start date (monthly,
// quarterly, yearly; each window starts on the start date's day of the month, or the month's
// last day when it is shorter). Dates are calendar days in the shop's time zone. "Spent" is the
// sum of the customer's orders in the shop within the current window, cancelled ones excepted,
// read through orders_customer_idx (customer_id, shop_id, placed_at) — a range scan over that
// customer's orders in the window, never a scan of all orders. The storefront (My Account,
// checkout) uses purchaseLimitStatus; the dashboard uses purchaseLimitsFor.

type Db = Knex | Knex.Transaction;

export const PERIOD_MONTHS: Record<LimitPeriod, number> = { monthly: 1, quarterly: 3, yearly: 12 };
export const PERIOD_LABELS: Record<LimitPeriod, string> = { monthly: 'per month', quarterly: 'per quarter', yearly: 'per year' };

export function mayManagePurchaseLimits(staff: StaffPrincipal): boolean {
  return staff.role === 'owner' || staff.role === 'manager' || staff.role === 'sales_rep';
}

export interface PurchaseLimit {
  id: number;
  shopId: number;
  amount: number;
  /** YYYY-MM-DD */
  startDate: string;
  /** YYYY-MM-DD (inclusive) for a fixed window; null for a recurring one. */
  endDate: string | null;
  period: LimitPeriod | null;
  updatedAt: Date;
}

/** The window in force (or the next one): calendar days, `end` included. */
export interface LimitWindow {
  start: string;
  end: string;
  /** The day after `end`: where the window stops, at midnight in the shop's time zone. */
  endExclusive: string;
}

export type LimitState = 'upcoming' | 'active' | 'ended';

export interface LimitStatus {
  limit: PurchaseLimit;
  currency: string;
  state: LimitState;
  window: LimitWindow;
  /** Spent within the current window (0 before it starts). */
  spent: number;
  /** What may still be spent in the current window; null once a fixed window has ended. */
  remaining: number | null;
}

// ---- calendar arithmetic on YYYY-MM-DD strings (no time zones involved) --------------------------

const parts = (date: string) => date.split('-').map(Number) as [number, number, number];
const iso = (y: number, m: number, d: number) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
const daysInMonth = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

/** `date` plus `months`, on the same day of the month or the month's last day when it is shorter. */
export function addMonths(date: string, months: number): string {
  const [y, m, d] = parts(date);
  const total = y * 12 + (m - 1) + months;
  const ny = Math.floor(total / 12);
  const nm = (total % 12) + 1;
  return iso(ny, nm, Math.min(d, daysInMonth(ny, nm)));
}

export function addDays(date: string, days: number): string {
  const [y, m, d] = parts(date);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Today's date in `timeZone`, as YYYY-MM-DD. */
export function todayIn(timeZone: string, now = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/** The window of `limit` that contains `today`, the first one when it has not started, or the last when it has ended. */
export function limitWindow(limit: Pick<PurchaseLimit, 'startDate' | 'endDate' | 'period'>, today: string): { state: LimitState; window: LimitWindow } {
  if (!limit.period) {
    const end = limit.endDate ?? limit.startDate;
    const window = { start: limit.startDate, end, endExclusive: addDays(end, 1) };
    return { state: today < limit.startDate ? 'upcoming' : today > end ? 'ended' : 'active', window };
  }
  const step = PERIOD_MONTHS[limit.period];
  const recurring = (k: number) => {
    const start = addMonths(limit.startDate, k * step);
    const endExclusive = addMonths(limit.startDate, (k + 1) * step);
    return { start, end: addDays(endExclusive, -1), endExclusive };
  };
  if (today < limit.startDate) return { state: 'upcoming', window: recurring(0) };
  const [sy, sm] = parts(limit.startDate);
  const [ty, tm] = parts(today);
  let k = Math.floor(((ty - sy) * 12 + (tm - sm)) / step);
  while (k > 0 && recurring(k).start > today) k--;
  while (recurring(k).endExclusive <= today) k++;
  return { state: 'active', window: recurring(k) };
}

// ---- reading ------------------------------------------------------------------------------------

const LIMIT_COLUMNS = (db: Db) => [
  'id',
  'shopId',
  'amount',
  db.raw("to_char(start_date, 'YYYY-MM-DD') AS start_date"),
  db.raw("to_char(end_date, 'YYYY-MM-DD') AS end_date"),
  'period',
  'updatedAt',
];

type SpentOptions = { customerId: number; shopId: number; timeZone: string; start: string; endExclusive: string };

/**
 * The query behind spentBetween: a range over orders_customer_idx (customer_id, shop_id,
 * placed_at), so it reads only this customer's orders in this shop and window.
 */
export function spentQuery(db: Db, options: SpentOptions): Knex.QueryBuilder {
  return db('orders')
    .where({ customerId: options.customerId, shopId: options.shopId })
    .whereNot('status', 'cancelled')
    .whereRaw('placed_at >= (?::date)::timestamp AT TIME ZONE ?', [options.start, options.timeZone])
    .whereRaw('placed_at < (?::date)::timestamp AT TIME ZONE ?', [options.endExclusive, options.timeZone])
    .sum({ spent: 'total' });
}

/** What the customer spent in the shop between two calendar days of the shop's time zone (end excluded). */
export async function spentBetween(db: Db, options: SpentOptions): Promise<number> {
  const row = (await spentQuery(db, options).first()) as { spent: string | number | null };
  return Number(row.spent ?? 0);
}

async function statusOf(db: Db, customerId: number, limit: PurchaseLimit, shop: { currency: string; timeZone: string }, now: Date): Promise<LimitStatus> {
  const { state, window } = limitWindow(limit, todayIn(shop.timeZone, now));
  const spent = state === 'active' ? await spentBetween(db, { customerId, shopId: limit.shopId, timeZone: shop.timeZone, start: window.start, endExclusive: window.endExclusive }) : 0;
  return { limit, currency: shop.currency, state, window, spent, remaining: state === 'ended' ? null : Math.max(0, Number(limit.amount) - spent) };
}

/** The customer's limit in one shop and where it stands now; null when there is none. For the storefront. */
export async function purchaseLimitStatus(db: Db, options: { customerId: number; shopId: number; now?: Date }): Promise<LimitStatus | null> {
  const limit = (await db('purchaseLimits').where({ customerId: options.customerId, shopId: options.shopId }).first(LIMIT_COLUMNS(db))) as PurchaseLimit | undefined;
  if (!limit) return null;
  const shop = (await db('shops').where({ id: options.shopId }).first('currency', 'timeZone')) as { currency: string; timeZone: string };
  return statusOf(db, options.customerId, limit, shop, options.now ?? new Date());
}

/** Per shop of the customer that the staff member may see: the limit and where it stands (or null). */
export async function purchaseLimitsFor(db: Db, access: CustomerAccess, now = new Date()): Promise<Array<{ shop: ScopedShop; status: LimitStatus | null }>> {
  const limits = (await db('purchaseLimits').where({ customerId: access.customerId }).whereIn('shopId', access.shopIds).select(LIMIT_COLUMNS(db))) as PurchaseLimit[];
  const byShop = new Map(limits.map((l) => [Number(l.shopId), l]));
  return Promise.all(
    access.shops.map(async (shop) => {
      const limit = byShop.get(shop.shopId);
      return { shop, status: limit ? await statusOf(db, access.customerId, limit, shop, now) : null };
    }),
  );
}

export async function findPurchaseLimit(db: Db, access: CustomerAccess, shopId: number): Promise<PurchaseLimit | null> {
  scopedShop(access, shopId);
  return ((await db('purchaseLimits').where({ customerId: access.customerId, shopId }).first(LIMIT_COLUMNS(db))) as PurchaseLimit | undefined) ?? null;
}

/** "€500.00 per month from 2026-01-15" / "€500.00 from 2026-01-01 to 2026-03-31" (timeline, audit). */
export function describeLimit(limit: Pick<PurchaseLimit, 'amount' | 'startDate' | 'endDate' | 'period'>, currency: string): string {
  const amount = formatMoney(Number(limit.amount), currency);
  return limit.period ? `${amount} ${PERIOD_LABELS[limit.period]} from ${limit.startDate}` : `${amount} from ${limit.startDate} to ${limit.endDate}`;
}

// ---- writing ------------------------------------------------------------------------------------

function requireManage(staff: StaffPrincipal): void {
  if (!mayManagePurchaseLimits(staff)) throw new ForbiddenError('Your role may not change purchase limits.');
}

/** Sets or changes the limit in one of the customer's shops (in the staff member's scope). */
export async function setPurchaseLimit(knex: Knex, staff: StaffPrincipal, customerId: number, input: PurchaseLimitInput, requestId?: string): Promise<{ created: boolean; changed: boolean; shop: ScopedShop }> {
  requireManage(staff);
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId, { lock: true });
    const shop = scopedShop(access, input.shopId);
    const next = { amount: input.amount, startDate: input.startDate, endDate: input.period === 'fixed' ? input.endDate : null, period: input.period === 'fixed' ? null : input.period };
    const before = (await trx('purchaseLimits').where({ customerId, shopId: shop.shopId }).first(LIMIT_COLUMNS(trx))) as PurchaseLimit | undefined;
    const same = before && Number(before.amount) === next.amount && before.startDate === next.startDate && before.endDate === next.endDate && before.period === next.period;
    if (same) return { created: false, changed: false, shop };
    await trx('purchaseLimits')
      .insert({ customerId, shopId: shop.shopId, ...next, createdBy: staff.id })
      .onConflict(['customerId', 'shopId'])
      .merge({ ...next, updatedAt: trx.fn.now() });
    const described = describeLimit(next, shop.currency);
    await recordAudit(trx, {
      ...staffActor(access, requestId),
      shopId: shop.shopId,
      action: before ? 'purchase_limit.changed' : 'purchase_limit.set',
      changes: { ...next, currency: shop.currency, ...(before ? { fields: { 'purchase limit': { from: describeLimit(before, shop.currency), to: described } } } : { limit: described }) },
    });
    return { created: !before, changed: true, shop };
  });
}

export async function removePurchaseLimit(knex: Knex, staff: StaffPrincipal, customerId: number, shopId: number, requestId?: string): Promise<ScopedShop> {
  requireManage(staff);
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId, { lock: true });
    const shop = scopedShop(access, shopId);
    const before = (await trx('purchaseLimits').where({ customerId, shopId }).first(LIMIT_COLUMNS(trx))) as PurchaseLimit | undefined;
    if (!before) throw new NotFoundError('This customer has no purchase limit in that shop.');
    await trx('purchaseLimits').where({ id: before.id }).delete();
    await recordAudit(trx, { ...staffActor(access, requestId), shopId, action: 'purchase_limit.removed', changes: { limit: describeLimit(before, shop.currency) } });
    return shop;
  });
}
