import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../lib/errors.js';
import { recordAudit } from '../../services/audit.service.js';
import { customerAccess, scopedShop, staffActor, whereInScope, type CustomerAccess, type ScopedShop } from '../../services/customer-access.service.js';
import type { StaffPrincipal } from '../../services/staff.service.js';
import { QUOTE_ACTIONS, type QuoteAction, type QuoteInput } from './quote.schema.js';

// The Quotes module's rules. A quote is an offer to a customer in one of their shops: lines of that
// shop's products with the prices the server reads from the products (never from the form), a
// number unique per shop (Q-00001, Q-00002 …) and a day it is valid until. Draft and sent quotes
// past that day count as expired. Every read is limited to the staff member's shops; every write
// runs in one transaction with its timeline entry.

type Db = Knex | Knex.Transaction;

export type QuoteStatus = 'draft' | 'sent' | 'accepted' | 'declined' | 'expired';

export interface QuoteSummary {
  id: number;
  number: string;
  shopId: number;
  shopName: string;
  /** As the staff member should read it: a draft or sent quote past its day is "expired". */
  status: QuoteStatus;
  /** YYYY-MM-DD, the last day the quote holds. */
  validUntil: string;
  currency: string;
  total: number;
  lineCount: number;
  note: string;
  staffName: string | null;
  createdAt: Date;
}

export interface ProductOption {
  id: number;
  sku: string;
  name: string;
  price: number;
}

/** How many products a shop's product select offers at most (active ones, by name). */
export const PRODUCT_OPTIONS_LIMIT = 500;
/** How far ahead a quote may be valid. */
const MAX_VALID_DAYS = 366;

/** Sales roles make and change quotes; support staff see them. */
export function mayManageQuotes(staff: StaffPrincipal): boolean {
  return staff.role !== 'support';
}

export const QUOTES_REFUSED = 'Your role may view quotes but not create or change them.';

function summaries(db: Db, access: CustomerAccess) {
  return whereInScope(
    db('quotes as q')
      .join('shops', 'shops.id', 'q.shopId')
      .leftJoin('staffUsers as s', 's.id', 'q.createdByStaffId')
      .where('q.customerId', access.customerId)
      .select(
        'q.id',
        'q.number',
        'q.shopId',
        'shops.name as shopName',
        db.raw(`CASE WHEN q.status IN ('draft', 'sent') AND q.valid_until < (now() AT TIME ZONE shops.time_zone)::date THEN 'expired' ELSE q.status END AS status`),
        db.raw(`to_char(q.valid_until, 'YYYY-MM-DD') AS valid_until`),
        'q.currency',
        'q.total',
        db.raw('(SELECT count(*)::int FROM quote_lines l WHERE l.quote_id = q.id) AS line_count'),
        'q.note',
        db.raw("coalesce(nullif(s.name, ''), s.email::text) AS staff_name"),
        'q.createdAt',
      )
      .orderBy([{ column: 'q.createdAt', order: 'desc' }, { column: 'q.id', order: 'desc' }]),
    'q.shopId',
    access.staff.scope,
  );
}

/** Current quotes (draft or sent, still valid), newest first. */
export async function currentQuotes(db: Db, access: CustomerAccess, limit: number): Promise<QuoteSummary[]> {
  return (await summaries(db, access)
    .whereIn('q.status', ['draft', 'sent'])
    .whereRaw('q.valid_until >= (now() AT TIME ZONE shops.time_zone)::date')
    .limit(limit)) as QuoteSummary[];
}

export async function countQuotes(db: Db, access: CustomerAccess): Promise<number> {
  const row = (await whereInScope(db('quotes').where({ customerId: access.customerId }), 'shopId', access.staff.scope).count({ n: '*' }).first()) as { n: string | number };
  return Number(row.n);
}

/** Every quote in the staff member's shops, newest first; `before` (a quote id) continues after it. */
export async function quotesPage(db: Db, access: CustomerAccess, options: { limit: number; before?: number }): Promise<{ quotes: QuoteSummary[]; nextBefore: number | null }> {
  const query = summaries(db, access).limit(options.limit + 1);
  if (options.before) query.whereRaw('(q.created_at, q.id) < (SELECT created_at, id FROM quotes WHERE id = ? AND customer_id = ?)', [options.before, access.customerId]);
  const rows = (await query) as QuoteSummary[];
  const quotes = rows.slice(0, options.limit);
  return { quotes, nextBefore: rows.length > options.limit ? quotes.at(-1)!.id : null };
}

/** The widget (order 30 in the main column): up to 5 current quotes and what the buttons need. */
export async function loadQuotesWidget(knex: Knex, access: CustomerAccess) {
  const [quotes, count] = await Promise.all([currentQuotes(knex, access, 5), countQuotes(knex, access)]);
  return { quotes, count, mayManage: mayManageQuotes(access.staff) };
}

/** The active products of one of the customer's shops, for the form's selects. */
export async function productOptions(db: Db, shop: ScopedShop): Promise<ProductOption[]> {
  return (await db('products')
    .where({ shopId: shop.shopId, active: true })
    .select('id', 'sku', 'name', 'price')
    .orderBy([{ column: 'name' }, { column: 'sku' }])
    .limit(PRODUCT_OPTIONS_LIMIT)) as ProductOption[];
}

/** Today in the shop's time zone, as YYYY-MM-DD, and the day `days` later. */
export async function shopDay(db: Db, shop: Pick<ScopedShop, 'timeZone'>, days = 0): Promise<string> {
  const result = (await db.raw(`SELECT to_char((now() AT TIME ZONE ?)::date + ?::int, 'YYYY-MM-DD') AS day`, [shop.timeZone, days])) as { rows: Array<{ day: string }> };
  return result.rows[0]!.day;
}

export interface CreatedQuote {
  id: number;
  number: string;
  total: number;
  currency: string;
  shopName: string;
}

/**
 * Creates a draft quote. The shop must be one of the customer's shops within the staff member's
 * scope (else 404); every product must be an active product of that shop; the totals are the
 * products' prices times the quantities. The number is the shop's next one.
 */
export async function createQuote(knex: Knex, staff: StaffPrincipal, customerId: number, input: QuoteInput, requestId?: string): Promise<CreatedQuote> {
  if (!mayManageQuotes(staff)) throw new ForbiddenError(QUOTES_REFUSED);
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId);
    const shop = scopedShop(access, input.shopId);

    const [today, latest] = await Promise.all([shopDay(trx, shop), shopDay(trx, shop, MAX_VALID_DAYS)]);
    if (input.validUntil <= today) throw new ValidationError({ validUntil: 'The quote must be valid until a day after today.' });
    if (input.validUntil > latest) throw new ValidationError({ validUntil: 'A quote can be valid for at most a year.' });

    const ids = [...new Set(input.lines.map((l) => l.productId))];
    const products = (await trx('products').where({ shopId: shop.shopId, active: true }).whereIn('id', ids).select('id', 'sku', 'name', 'price')) as ProductOption[];
    const byId = new Map(products.map((p) => [Number(p.id), p]));
    const missing = input.lines.filter((l) => !byId.has(l.productId));
    if (missing.length) throw new ValidationError(Object.fromEntries(missing.map((l) => [`product${l.row}`, `Choose a product of ${shop.shopName} from the list.`])));

    const lines = input.lines.map((line, index) => {
      const product = byId.get(line.productId)!;
      return { position: index + 1, productId: product.id, sku: product.sku, name: product.name, quantity: line.quantity, unitPrice: Number(product.price), lineTotal: line.quantity * Number(product.price) };
    });
    const subtotal = lines.reduce((sum, l) => sum + l.lineTotal, 0);
    if (!Number.isSafeInteger(subtotal)) throw new ValidationError({ quantity1: 'The quote’s total is too large.' });

    const counter = (await trx.raw(
      `INSERT INTO quote_counters (shop_id, last_number) VALUES (?, 1)
       ON CONFLICT (shop_id) DO UPDATE SET last_number = quote_counters.last_number + 1
       RETURNING last_number`,
      [shop.shopId],
    )) as { rows: Array<{ last_number: number }> };
    const number = `Q-${String(counter.rows[0]!.last_number).padStart(5, '0')}`;

    const [quote] = (await trx('quotes')
      .insert({ shopId: shop.shopId, customerId, number, status: 'draft', validUntil: input.validUntil, currency: shop.currency, subtotal, total: subtotal, note: input.note, createdByStaffId: staff.id })
      .returning('id')) as Array<{ id: number }>;
    await trx('quoteLines').insert(lines.map((line) => ({ ...line, quoteId: quote!.id })));
    await recordAudit(trx, {
      ...staffActor(access, requestId),
      shopId: shop.shopId,
      action: 'quote.created',
      changes: { quoteId: quote!.id, number, total: subtotal, currency: shop.currency, lines: lines.length, validUntil: input.validUntil, note: input.note.length > 120 ? `${input.note.slice(0, 119)}…` : input.note },
    });
    return { id: quote!.id, number, total: subtotal, currency: shop.currency, shopName: shop.shopName };
  });
}

/** What each action may start from. Accepted, declined and expired quotes are final. */
const ALLOWED_FROM: Record<QuoteAction, string[]> = { send: ['draft'], accept: ['draft', 'sent'], decline: ['draft', 'sent'] };

/** Sends, accepts or declines a quote of this customer in the staff member's shops (else 404). */
export async function changeQuoteStatus(knex: Knex, staff: StaffPrincipal, customerId: number, quoteId: number, action: QuoteAction, requestId?: string): Promise<{ number: string; status: QuoteStatus }> {
  if (!mayManageQuotes(staff)) throw new ForbiddenError(QUOTES_REFUSED);
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId);
    const quote = (await whereInScope(trx('quotes').where({ id: quoteId, customerId }), 'shopId', access.staff.scope)
      .forUpdate()
      .first('id', 'number', 'shopId', 'status', trx.raw(`to_char(valid_until, 'YYYY-MM-DD') AS valid_until`))) as { id: number; number: string; shopId: number; status: QuoteStatus; validUntil: string } | undefined;
    if (!quote) throw new NotFoundError('We could not find that quote.');
    const shop = scopedShop(access, quote.shopId);
    const to = QUOTE_ACTIONS[action];
    if (quote.status === to) throw new ConflictError(`Quote ${quote.number} is already ${to}.`);
    if (!ALLOWED_FROM[action].includes(quote.status)) throw new ConflictError(`Quote ${quote.number} is ${quote.status}; it cannot be ${to} any more.`);
    if (quote.validUntil < (await shopDay(trx, shop))) throw new ConflictError(`Quote ${quote.number} expired after ${quote.validUntil}; create a new quote instead.`);
    await trx('quotes').where({ id: quote.id }).update({ status: to, updatedAt: trx.fn.now() });
    await recordAudit(trx, { ...staffActor(access, requestId), shopId: quote.shopId, action: 'quote.status_changed', changes: { quoteId: quote.id, number: quote.number, fields: { status: { from: quote.status, to } } } });
    return { number: quote.number, status: to };
  });
}
