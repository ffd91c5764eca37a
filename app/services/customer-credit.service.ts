import type { Knex } from 'knex';
import { ValidationError } from '../lib/errors.js';
import { formatMoney } from '../lib/money.js';
import type { CreditAdjustInput } from '../schemas/customer-dashboard.schema.js';
import { recordAudit } from './audit.service.js';
import { customerAccess, scopedShop, staffActor, whereInScope, type CustomerAccess, type ScopedShop } from './customer-access.service.js';
import { shopUrl, type LinkBase } from './customer-account.service.js';
import { queueMail } from './outbox.service.js';
import { primaryHostname } from './shop.service.js';
import type { StaffPrincipal } from './staff.service.js';

// Store credit (F-DASH-5) is kept per customer and shop, in the shop's currency. The ledger is
// append-only (see migration 20261122000006): a grant is a lot with an optional expiry; a debit
// draws from lots, soonest expiry first, and each part expires with its lot. The balance is the
// sum of unexpired entries, and cannot go below zero because no lot is overdrawn.

type Db = Knex | Knex.Transaction;

export interface CreditBalance {
  shopId: number;
  shopName: string;
  currency: string;
  balance: number;
}

export interface CreditMovement {
  id: number;
  shopId: number;
  shopName: string;
  amount: number;
  currency: string;
  reason: string;
  reference: string;
  expiresAt: Date | null;
  /** The last day the credit can be used (the day before expiresAt, in the shop's time zone). */
  lastDay: Date | null;
  timeZone: string;
  expired: boolean;
  notifyCustomer: boolean;
  staffName: string | null;
  createdAt: Date;
}

export interface CreditOutcome {
  transactionId: number;
  /** False when this submission's key had already booked: nothing new was booked. */
  booked: boolean;
  amount: number;
  balance: number;
  shop: ScopedShop;
  /** The "notify customer" e-mail, to hand to the mail queue after commit. */
  outboxId: number | null;
}

export const CREDIT_NEEDS_ACTIVE: Record<string, string> = {
  guest: 'Store credit needs an Active account. This is a guest account (no password): invite the customer first.',
  invited: 'Store credit needs an Active account. This customer has not accepted the invitation yet.',
  disabled: 'Store credit needs an Active account. This account is disabled.',
};

/** Entries still counting towards the balance: no expiry, or an expiry still ahead. */
export const unexpired = (db: Db, query: Knex.QueryBuilder) => query.where((w) => w.whereNull('expiresAt').orWhere('expiresAt', '>', db.fn.now()));

/** The balance in each of the customer's shops the staff member may see (0 where nothing was booked). */
export async function creditBalances(db: Db, access: CustomerAccess): Promise<CreditBalance[]> {
  const rows = (await whereInScope(
    unexpired(db, db('creditEntries').where({ customerId: access.customerId })),
    'shopId',
    access.staff.scope,
  )
    .groupBy('shopId')
    .select('shopId', db.raw('sum(amount)::bigint AS balance'))) as Array<{ shopId: number; balance: number }>;
  const byShop = new Map(rows.map((r) => [Number(r.shopId), Number(r.balance)]));
  return access.shops.map((s) => ({ shopId: s.shopId, shopName: s.shopName, currency: s.currency, balance: byShop.get(s.shopId) ?? 0 }));
}

async function accountBalance(trx: Db, customerId: number, shopId: number): Promise<number> {
  const row = (await unexpired(trx, trx('creditEntries').where({ customerId, shopId })).sum({ balance: 'amount' }).first()) as { balance: string | number | null };
  return Number(row.balance ?? 0);
}

/** Newest first, in the staff member's shops; `shopId` narrows to one shop. */
export async function creditHistory(db: Db, access: CustomerAccess, options: { limit: number; beforeId?: number; shopId?: number }): Promise<CreditMovement[]> {
  const query = whereInScope(
    db('creditTransactions as t')
      .join('shops', 'shops.id', 't.shopId')
      .leftJoin('staffUsers as s', 's.id', 't.staffUserId')
      .where('t.customerId', access.customerId)
      .select(
        't.id',
        't.shopId',
        'shops.name as shopName',
        't.amount',
        't.currency',
        't.reason',
        't.reference',
        't.expiresAt',
        'shops.timeZone',
        db.raw('(t.expires_at IS NOT NULL AND t.expires_at <= now()) AS expired'),
        't.notifyCustomer',
        db.raw("coalesce(nullif(s.name, ''), s.email::text) AS staff_name"),
        't.createdAt',
      )
      .orderBy([{ column: 't.createdAt', order: 'desc' }, { column: 't.id', order: 'desc' }])
      .limit(options.limit),
    't.shopId',
    access.staff.scope,
  );
  if (options.beforeId) query.where('t.id', '<', options.beforeId);
  if (options.shopId) query.where('t.shopId', options.shopId);
  // Raw select columns inside a query builder come back camelCased (staff_name → staffName).
  const rows = (await query) as CreditMovement[];
  return rows.map((row) => ({ ...row, lastDay: row.expiresAt ? new Date(new Date(row.expiresAt).getTime() - 1) : null }));
}

/** Whether this customer's account may receive or spend credit, with the reason when not. */
export function creditRefusal(state: string): string | null {
  return state === 'active' ? null : (CREDIT_NEEDS_ACTIVE[state] ?? CREDIT_NEEDS_ACTIVE.disabled!);
}

/**
 * Books one adjustment (F-DASH-5) in one transaction: the customer's credit account for the shop
 * is locked (SELECT … FOR UPDATE) so concurrent bookings run one after the other; a key that
 * already booked returns that booking instead of a second one; a debit larger than the balance is
 * refused; "notify customer" writes the e-mail to the outbox in the same transaction.
 */
export async function adjustCredit(knex: Knex, staff: StaffPrincipal, customerId: number, input: CreditAdjustInput, options: { links: LinkBase; requestId?: string }): Promise<CreditOutcome> {
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId);
    const shop = scopedShop(access, input.shopId);
    const customer = (await trx('customers').where({ id: customerId }).first('email', 'firstName', 'lastName', 'state')) as { email: string; firstName: string; lastName: string; state: string };

    await trx('creditAccounts').insert({ customerId, shopId: shop.shopId, currency: shop.currency }).onConflict(['customerId', 'shopId']).ignore();
    await trx('creditAccounts').where({ customerId, shopId: shop.shopId }).forUpdate().first('customerId');

    const existing = (await trx('creditTransactions').where({ customerId, shopId: shop.shopId, idempotencyKey: input.key }).first('id', 'amount')) as { id: number; amount: number } | undefined;
    if (existing) return { transactionId: existing.id, booked: false, amount: Number(existing.amount), balance: await accountBalance(trx, customerId, shop.shopId), shop, outboxId: null };

    const refusal = creditRefusal(customer.state);
    if (refusal) throw new ValidationError({}, refusal);

    let expiresAt: Date | null = null;
    if (input.expiresOn) {
      if (input.amount < 0) throw new ValidationError({ expiresOn: 'Only credit that is added (a positive amount) can expire. Leave the date empty for a deduction.' });
      // The grant can be used through the whole expiry day, in the shop's time zone.
      const row = (await trx.raw('SELECT ((?::date + 1)::timestamp AT TIME ZONE ?) AS expires_at', [input.expiresOn, shop.timeZone])).rows[0] as { expires_at: Date };
      expiresAt = new Date(row.expires_at);
      if (expiresAt.getTime() <= Date.now()) throw new ValidationError({ expiresOn: 'The expiry date must be today or later.' });
    }

    const before = await accountBalance(trx, customerId, shop.shopId);
    const [transaction] = (await trx('creditTransactions')
      .insert({
        customerId,
        shopId: shop.shopId,
        idempotencyKey: input.key,
        amount: input.amount,
        currency: shop.currency,
        reason: input.reason,
        reference: input.reference,
        expiresAt,
        notifyCustomer: input.notify,
        staffUserId: staff.id,
      })
      .returning('id')) as Array<{ id: number }>;
    const transactionId = transaction!.id;

    if (input.amount > 0) {
      await trx('creditEntries').insert({ transactionId, customerId, shopId: shop.shopId, amount: input.amount, expiresAt });
    } else {
      const parts = await drawFromLots(trx, customerId, shop.shopId, -input.amount);
      if (!parts) {
        throw new ValidationError({ amount: `The balance is ${formatMoney(before, shop.currency)}, so at most ${formatMoney(before, shop.currency)} can be deducted.` });
      }
      await trx('creditEntries').insert(parts.map((p) => ({ transactionId, customerId, shopId: shop.shopId, amount: -p.take, lotEntryId: p.lotId, expiresAt: p.expiresAt })));
    }
    const balance = await accountBalance(trx, customerId, shop.shopId);

    let outboxId: number | null = null;
    if (input.notify) {
      const hostname = await primaryHostname(trx, shop.shopId);
      outboxId = await queueMail(trx, {
        shopId: shop.shopId,
        customerId,
        to: customer.email,
        template: 'credit-adjusted',
        data: {
          firstName: customer.firstName || customer.lastName || 'there',
          shopName: shop.shopName,
          added: input.amount > 0,
          amount: formatMoney(Math.abs(input.amount), shop.currency),
          balance: formatMoney(balance, shop.currency),
          reason: input.reason,
          reference: input.reference,
          expiresOn: expiresAt ? new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: shop.timeZone }).format(new Date(expiresAt.getTime() - 1)) : null,
          accountUrl: shopUrl({ hostname }, '/account', options.links),
        },
      });
    }

    await recordAudit(trx, {
      ...staffActor(access, options.requestId),
      shopId: shop.shopId,
      action: 'credit.adjusted',
      changes: {
        transactionId,
        amount: input.amount,
        currency: shop.currency,
        reason: input.reason,
        reference: input.reference || null,
        expiresAt,
        expiresOn: input.expiresOn || null,
        fields: { 'credit balance': { from: formatMoney(before, shop.currency), to: formatMoney(balance, shop.currency) } },
        ...(outboxId ? { mailed: { template: 'credit-adjusted', outboxId } } : {}),
      },
    });
    return { transactionId, booked: true, amount: input.amount, balance, shop, outboxId };
  });
}

interface LotDraw {
  lotId: number;
  take: number;
  expiresAt: Date | null;
}

/** Splits a debit over the unexpired lots that still hold credit, soonest expiry first; null when they hold too little. */
async function drawFromLots(trx: Knex.Transaction, customerId: number, shopId: number, amount: number): Promise<LotDraw[] | null> {
  const lots = (
    await trx.raw(
      `SELECT g.id, g.expires_at, g.amount + coalesce(sum(d.amount), 0) AS remaining
         FROM credit_entries g
         LEFT JOIN credit_entries d ON d.lot_entry_id = g.id
        WHERE g.customer_id = ? AND g.shop_id = ? AND g.lot_entry_id IS NULL
          AND (g.expires_at IS NULL OR g.expires_at > now())
        GROUP BY g.id
       HAVING g.amount + coalesce(sum(d.amount), 0) > 0
        ORDER BY g.expires_at ASC NULLS LAST, g.id`,
      [customerId, shopId],
    )
  ).rows as Array<{ id: number; expires_at: Date | null; remaining: string | number }>;
  const parts: LotDraw[] = [];
  let left = amount;
  for (const lot of lots) {
    if (left === 0) break;
    const take = Math.min(left, Number(lot.remaining));
    parts.push({ lotId: Number(lot.id), take, expiresAt: lot.expires_at });
    left -= take;
  }
  return left === 0 ? parts : null;
}
