import type { Knex } from 'knex';
import { ForbiddenError, NotFoundError } from '../lib/errors.js';
import { cardExpired, cardExpiry, CARD_BRAND_LABELS, newCardToken, type CardBrand } from '../lib/payment-card.js';
import type { CardAddInput, CardEditInput } from '../schemas/payment-card.schema.js';
import { recordAudit } from './audit.service.js';
import { customerAccess, staffActor, type CustomerAccess } from './customer-access.service.js';
import type { StaffPrincipal } from './staff.service.js';

// Payment cards (F-DASH-7). What is kept for a card: an opaque token (the payment vault's
// reference; random until a gateway is wired in), brand, last 4 digits, expiry and holder name.
// The number is validated and reduced to brand + last 4 in the form schema and never reaches this
// file, the database, the audit log or a log line. Cards belong to the customer (not to one shop).

type Db = Knex | Knex.Transaction;

export const CARD_NOT_FOUND = 'We could not find that card.';

export function mayManageCards(staff: StaffPrincipal): boolean {
  return staff.role === 'owner' || staff.role === 'manager' || staff.role === 'sales_rep';
}

function requireManage(staff: StaffPrincipal): void {
  if (!mayManageCards(staff)) throw new ForbiddenError('Your role may not change a customer’s payment cards.');
}

export interface PaymentCard {
  id: number;
  brand: CardBrand;
  brandLabel: string;
  last4: string;
  expMonth: number;
  expYear: number;
  expiry: string;
  expired: boolean;
  holderName: string;
  createdAt: Date;
}

const COLUMNS = ['id', 'brand', 'last4', 'expMonth', 'expYear', 'holderName', 'createdAt'] as const;

function present(row: Omit<PaymentCard, 'brandLabel' | 'expiry' | 'expired'>): PaymentCard {
  return { ...row, brandLabel: CARD_BRAND_LABELS[row.brand] ?? 'Card', expiry: cardExpiry(row.expMonth, row.expYear), expired: cardExpired(row.expMonth, row.expYear) };
}

/** The customer's cards, most recently added first. */
export async function listCards(db: Db, access: CustomerAccess, options: { limit?: number } = {}): Promise<PaymentCard[]> {
  const query = db('paymentCards')
    .where({ customerId: access.customerId })
    .select(COLUMNS)
    .orderBy([{ column: 'createdAt', order: 'desc' }, { column: 'id', order: 'desc' }]);
  if (options.limit) query.limit(options.limit);
  return ((await query) as Array<Omit<PaymentCard, 'brandLabel' | 'expiry' | 'expired'>>).map(present);
}

export async function countCards(db: Db, access: CustomerAccess): Promise<number> {
  const row = (await db('paymentCards').where({ customerId: access.customerId }).count({ n: '*' }).first()) as { n: string | number };
  return Number(row.n);
}

export async function findCard(db: Db, access: CustomerAccess, cardId: number): Promise<PaymentCard> {
  const row = (await db('paymentCards').where({ id: cardId, customerId: access.customerId }).first(COLUMNS)) as Omit<PaymentCard, 'brandLabel' | 'expiry' | 'expired'> | undefined;
  if (!row) throw new NotFoundError(CARD_NOT_FOUND);
  return present(row);
}

const label = (card: { brand: CardBrand; last4: string }) => ({ brand: card.brand, last4: card.last4 });

/** Stores what stands for the card; the number itself was dropped by the schema. */
export async function addCard(knex: Knex, staff: StaffPrincipal, customerId: number, input: CardAddInput, requestId?: string): Promise<PaymentCard> {
  requireManage(staff);
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId);
    const [row] = (await trx('paymentCards')
      .insert({
        customerId,
        token: newCardToken(),
        brand: input.number.brand,
        last4: input.number.last4,
        expMonth: input.expMonth,
        expYear: input.expYear,
        holderName: input.holderName,
        createdBy: staff.id,
      })
      .returning(COLUMNS)) as Array<Omit<PaymentCard, 'brandLabel' | 'expiry' | 'expired'>>;
    await recordAudit(trx, { ...staffActor(access, requestId), shopId: null, action: 'card.added', changes: { cardId: row!.id, ...label(row!), expiry: cardExpiry(row!.expMonth, row!.expYear) } });
    return present(row!);
  });
}

/** Changes the holder name and the expiry; returns how many fields changed. */
export async function updateCard(knex: Knex, staff: StaffPrincipal, customerId: number, cardId: number, input: CardEditInput, requestId?: string): Promise<number> {
  requireManage(staff);
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId);
    const card = (await trx('paymentCards').where({ id: cardId, customerId }).forUpdate().first(COLUMNS)) as Omit<PaymentCard, 'brandLabel' | 'expiry' | 'expired'> | undefined;
    if (!card) throw new NotFoundError(CARD_NOT_FOUND);
    const fields: Record<string, { from: unknown; to: unknown }> = {};
    if (card.holderName !== input.holderName) fields.cardholder = { from: card.holderName, to: input.holderName };
    if (card.expMonth !== input.expMonth || card.expYear !== input.expYear) fields.expiry = { from: cardExpiry(card.expMonth, card.expYear), to: cardExpiry(input.expMonth, input.expYear) };
    if (Object.keys(fields).length === 0) return 0;
    await trx('paymentCards').where({ id: cardId }).update({ holderName: input.holderName, expMonth: input.expMonth, expYear: input.expYear, updatedAt: trx.fn.now() });
    await recordAudit(trx, { ...staffActor(access, requestId), shopId: null, action: 'card.updated', changes: { cardId, ...label(card), fields } });
    return Object.keys(fields).length;
  });
}

export async function removeCard(knex: Knex, staff: StaffPrincipal, customerId: number, cardId: number, requestId?: string): Promise<PaymentCard> {
  requireManage(staff);
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId);
    const card = (await trx('paymentCards').where({ id: cardId, customerId }).first(COLUMNS)) as Omit<PaymentCard, 'brandLabel' | 'expiry' | 'expired'> | undefined;
    if (!card) throw new NotFoundError(CARD_NOT_FOUND);
    await trx('paymentCards').where({ id: cardId }).delete();
    await recordAudit(trx, { ...staffActor(access, requestId), shopId: null, action: 'card.removed', changes: { cardId, ...label(card), expiry: cardExpiry(card.expMonth, card.expYear) } });
    return present(card);
  });
}
