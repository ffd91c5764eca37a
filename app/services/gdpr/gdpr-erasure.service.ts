import type { Knex } from 'knex';
import { ConflictError, ValidationError } from '../../lib/errors.js';
import { recordAudit } from '../audit.service.js';
import { customerAccess, staffActor, type CustomerAccess } from '../customer-access.service.js';
import type { FileStorage } from '../../storage/file-storage.js';
import type { StaffPrincipal } from '../staff.service.js';
import { assertMayHandlePersonalData, personalDataRefusal } from './gdpr-access.js';
import { erasedEmailOf, GDPR_SECTIONS } from './gdpr-sections.js';

// F-CUST-9 erasure: in one transaction, every section of gdpr-sections.ts is deleted, scrubbed or
// kept as it says (the customer row first: anonymised, disabled, sessions ended, marked erased).
// Orders with their totals and the credit ledger's amounts stay for accounting. One audit entry
// without personal data records that it happened.

type Db = Knex | Knex.Transaction;

export interface CreditKept {
  shopName: string;
  shopCode: string;
  currency: string;
  balance: number;
}

export interface ErasurePreview {
  email: string;
  erasedAt: Date | null;
  /** Why this staff member may not erase (role, shops outside their scope), or null. */
  refusal: string | null;
  /** Shops where the customer still has store credit: erased anyway, the ledger stays. */
  credit: CreditKept[];
  ordersCount: number;
}

export const CONFIRM_MISMATCH = 'That is not this customer’s e-mail address. Type it exactly as shown to confirm.';

export function alreadyErased(erasedAt: Date): string {
  return `This customer’s personal data was already erased on ${erasedAt.toISOString().slice(0, 10)}; there is nothing left to erase.`;
}

/** Positive credit balances in every shop of the customer (erasure needs all of them in scope). */
async function positiveBalances(db: Db, customerId: number): Promise<CreditKept[]> {
  const rows = (await db('creditEntries as e')
    .join('shops as s', 's.id', 'e.shopId')
    .where('e.customerId', customerId)
    .andWhere((w) => w.whereNull('e.expiresAt').orWhere('e.expiresAt', '>', db.fn.now()))
    .groupBy('s.id', 's.name', 's.code', 's.currency')
    .havingRaw('sum(e.amount) > 0')
    .orderBy('s.name')
    .select('s.name as shopName', 's.code as shopCode', 's.currency', db.raw('sum(e.amount)::bigint AS balance'))) as Array<CreditKept & { balance: number | string }>;
  return rows.map((r) => ({ ...r, balance: Number(r.balance) }));
}

/** What the confirm modal shows: whose e-mail to type, whether it is allowed, credit that stays. */
export async function erasurePreview(db: Db, access: CustomerAccess): Promise<ErasurePreview> {
  const row = (await db('customers').where({ id: access.customerId }).first('email', 'erasedAt', 'ordersCount')) as { email: string; erasedAt: Date | null; ordersCount: number };
  const refusal = await personalDataRefusal(db, access);
  return {
    email: row.email,
    erasedAt: row.erasedAt,
    refusal,
    credit: refusal || row.erasedAt ? [] : await positiveBalances(db, access.customerId),
    ordersCount: Number(row.ordersCount),
  };
}

export interface ErasureOutcome {
  /** Rows deleted or scrubbed per section (sections kept as they are are not listed). */
  sections: Record<string, number>;
  credit: CreditKept[];
  /** Stored files of deleted rows that could not be removed after commit (to log; a sweep may retry). */
  filesLeft: string[];
}

/**
 * Erases the customer's personal data. `typedEmail` must be the customer's e-mail (any case): a
 * mismatch is a 422 and nothing changes; a customer already erased is a 409.
 */
export async function eraseCustomer(knex: Knex, files: FileStorage, staff: StaffPrincipal, customerId: number, typedEmail: string, requestId?: string): Promise<ErasureOutcome> {
  const erased = await knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId, { lock: true });
    await assertMayHandlePersonalData(trx, access);
    const row = (await trx('customers').where({ id: customerId }).first('email', 'erasedAt')) as { email: string; erasedAt: Date | null };
    if (row.erasedAt) throw new ConflictError(alreadyErased(row.erasedAt));
    if (typedEmail.trim().toLowerCase() !== row.email.toLowerCase()) throw new ValidationError({ email: CONFIRM_MISMATCH });

    const credit = await positiveBalances(trx, customerId);
    const sections: Record<string, number> = {};
    const erasure = { erasedEmail: erasedEmailOf(customerId) };
    const fileKeys: string[] = [];
    for (const section of GDPR_SECTIONS) {
      if (section.erase === 'keep') continue;
      if (section.files && section.erase === 'delete') {
        for (const row of await section.load(trx, customerId)) for (const column of section.files.keys) if (typeof row[column] === 'string') fileKeys.push(row[column]);
      }
      sections[section.name] = section.erase === 'delete' ? await trx(section.table!).where({ customerId }).delete() : await section.erase(trx, customerId, erasure);
    }
    await recordAudit(trx, {
      ...staffActor(access, requestId),
      shopId: null,
      action: 'customer.erased',
      changes: { sections, creditKept: credit.map((c) => ({ shop: c.shopCode, currency: c.currency, balance: c.balance })) },
    });
    return { sections, credit, fileKeys };
  });
  // Only once the rows are gone for good: a rolled-back erasure keeps its files.
  const removed = await Promise.allSettled(erased.fileKeys.map((key) => files.remove(key)));
  return { sections: erased.sections, credit: erased.credit, filesLeft: erased.fileKeys.filter((_key, i) => removed[i]!.status === 'rejected') };
}
