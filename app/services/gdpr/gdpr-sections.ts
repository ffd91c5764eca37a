import type { Knex } from 'knex';

// F-CUST-9: every kind of personal data held about a customer is ONE section here: how to read
// its rows (for the export) and what erasure does with them. Export and erasure both walk
// GDPR_SECTIONS, so a table that is not listed is neither exported nor erased — a new table that
// holds anything about a customer needs its line (see CONTEXT.md).

type Db = Knex | Knex.Transaction;
export type GdprRow = Record<string, unknown>;

/** What erasure does with a section's rows. */
export type SectionErasure =
  /** The rows go (addresses, notes, tags …). */
  | 'delete'
  /** The rows stay as they are: they hold nothing personal (order lines, ledger amounts). */
  | 'keep'
  /** The rows stay with their personal parts scrubbed; returns how many rows were touched. */
  | ((trx: Knex.Transaction, customerId: number, erasure: ErasureContext) => Promise<number>);

export interface ErasureContext {
  /** The address the account has from now on (`erased-<id>@erased.invalid`). */
  erasedEmail: string;
}

export interface GdprSection {
  /** snake_case: the key in customer.json and the CSV's file name (`<name>.csv`). */
  name: string;
  /** The columns exported, camelCase as rows come back from knex; the CSV header in this order. */
  columns: readonly string[];
  load(db: Db, customerId: number): Promise<GdprRow[]>;
  erase: SectionErasure;
  /** For 'delete': the table to delete from (rows with this customer's customer_id). */
  table?: string;
  /**
   * Files the rows point at (F-FILE storage keys): the loader also returns these columns, which
   * are never exported as data. The export adds the first key's file as `<section>/<id>-<name>`;
   * a 'delete' erasure removes every key's file once the transaction has committed.
   */
  files?: { keys: readonly string[]; name: string; /** Rows whose file goes into the export (e.g. only checked documents); default all. */ exportable?: (row: Record<string, unknown>) => boolean };
}

/**
 * A table with a `customer_id` column, read as it is: the listed columns only (never a secret such
 * as a password or token hash, a card token or a storage key), in the order of the first column;
 * with `files`, the files its rows point at go into the export and are removed by erasure.
 * Adding a section for such a table is one line.
 */
export function customerRows(name: string, table: string, columns: readonly string[], erase: SectionErasure, files?: GdprSection['files']): GdprSection {
  const selected = [...new Set([...columns, ...(files?.keys ?? [])])];
  return {
    name,
    columns,
    erase,
    table,
    files,
    load: (db, customerId) => db(table).where({ customerId }).orderBy(columns[0]!).select(selected),
  };
}

export const ERASED_TEXT = '[erased]';
export const erasedEmailOf = (customerId: number) => `erased-${customerId}@erased.invalid`;

// ---- the customer record -------------------------------------------------------------------------

const CUSTOMER_COLUMNS = [
  'id', 'email', 'state', 'salutation', 'firstName', 'middleName', 'lastName', 'phone', 'customerType', 'pricingPolicy', 'companyName1', 'companyName2',
  'department', 'marketingOptIn', 'taxExempt', 'wholesale', 'businessAccount', 'salesTeam', 'b2bReference', 'b2bEmployeeId', 'b2bChargeId',
  'requireApproval', 'requireApprovalOver', 'blockCheckout', 'blockCheckoutOver', 'attributes', 'createdAt', 'updatedAt', 'lastLoginAt',
  'passwordChangedAt', 'erasedAt',
] as const;

/** The account itself: listed columns only, so the password hash and session version never leave. */
const customerSection: GdprSection = {
  name: 'customer',
  columns: CUSTOMER_COLUMNS,
  load: (db, customerId) =>
    db('customers as c')
      .leftJoin('businessAccounts as b', 'b.id', 'c.businessAccountId')
      .leftJoin('salesTeams as t', 't.id', 'c.salesTeamId')
      .where('c.id', customerId)
      .select(CUSTOMER_COLUMNS.map((column) => (column === 'businessAccount' ? 'b.name as businessAccount' : column === 'salesTeam' ? 't.name as salesTeam' : `c.${column}`))),
  // Blanks every personal field, ends every session (session_version), and marks the row erased
  // first: the credit ledger's guard lets a booking's text be scrubbed only for an erased customer.
  erase: async (trx, customerId, { erasedEmail }) =>
    trx('customers')
      .where({ id: customerId })
      .update({
        email: erasedEmail,
        passwordHash: null,
        state: 'disabled',
        salutation: '',
        firstName: '',
        middleName: '',
        lastName: '',
        phone: '',
        companyName1: '',
        companyName2: '',
        department: '',
        b2bReference: '',
        b2bEmployeeId: '',
        b2bChargeId: '',
        attributes: JSON.stringify({}),
        marketingOptIn: false,
        lastLoginAt: null,
        passwordChangedAt: null,
        sessionVersion: trx.raw('session_version + 1'),
        erasedAt: trx.fn.now(),
        updatedAt: trx.fn.now(),
      }),
};

// ---- the audit log (timeline) ----------------------------------------------------------------------

/** Keys of an audit entry's `changes` whose text is about the shop or the system, never the person. */
const KEEP_KEYS = new Set(['currency', 'kind', 'status', 'template', 'shop', 'shops', 'defaults', 'expiresAt', 'expiresOn', 'mode', 'sessionsEnded']);
/** Fields of a before/after pair (`changes.fields`) that are settings, not personal data. */
const KEEP_FIELDS = new Set([
  'customerType', 'pricingPolicy', 'taxExempt', 'wholesale', 'marketingOptIn', 'businessAccountId', 'salesTeamId',
  'requireApproval', 'requireApprovalOver', 'blockCheckout', 'blockCheckoutOver', 'credit balance',
]);

/**
 * An audit entry's `changes` without personal text: every string becomes "[erased]" unless its
 * key says it is not personal; numbers, booleans and nulls (ids, amounts, flags) stay. Scrubbing
 * by default means an action added later is covered without knowing its shape.
 */
export function scrubChanges(value: unknown, key = ''): unknown {
  if (KEEP_KEYS.has(key)) return value;
  if (typeof value === 'string') return ERASED_TEXT;
  if (Array.isArray(value)) return value.map((item) => scrubChanges(item, key));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (key === 'fields' && (KEEP_FIELDS.has(k) || k.startsWith('status in '))) out[k] = v;
      else out[k] = scrubChanges(v, k);
    }
    return out;
  }
  return value;
}

async function scrubAuditLog(trx: Knex.Transaction, customerId: number): Promise<number> {
  const rows = (await trx('auditLog').where({ customerId }).select('id', 'changes')) as Array<{ id: number; changes: unknown }>;
  const scrubbed = rows
    .map((row) => ({ id: row.id, before: JSON.stringify(row.changes ?? {}), changes: scrubChanges(row.changes ?? {}) }))
    .filter((row) => JSON.stringify(row.changes) !== row.before)
    .map(({ id, changes }) => ({ id, changes }));
  if (!scrubbed.length) return 0;
  await trx.raw('UPDATE audit_log a SET changes = v.changes FROM jsonb_to_recordset(?::jsonb) AS v(id bigint, changes jsonb) WHERE a.id = v.id', [JSON.stringify(scrubbed)]);
  return scrubbed.length;
}

// ---- every section, in export order (erasure runs them in this order too: the customer first) --

export const GDPR_SECTIONS: readonly GdprSection[] = [
  customerSection,
  customerRows('documents', 'customerDocuments', ['id', 'shopId', 'originalName', 'byteSize', 'contentType', 'status', 'visibleToCustomer', 'uploadedByName', 'createdAt', 'updatedAt'], 'delete', { keys: ['storageKey', 'thumbnailKey'], name: 'originalName', exportable: (row) => row.status === 'ready' }),
  // Quotes are kept for accounting, without their free text.
  customerRows('quotes', 'quotes', ['id', 'shopId', 'number', 'status', 'validUntil', 'currency', 'subtotal', 'total', 'note', 'createdAt', 'updatedAt'], (trx, id) => trx('quotes').where({ customerId: id }).update({ note: '' })),
  {
    name: 'quote_lines',
    columns: ['id', 'quoteId', 'sku', 'name', 'quantity', 'unitPrice', 'lineTotal'],
    load: (db, id) => db('quoteLines as l').join('quotes as q', 'q.id', 'l.quoteId').where('q.customerId', id).orderBy('l.id').select('l.id', 'l.quoteId', 'l.sku', 'l.name', 'l.quantity', 'l.unitPrice', 'l.lineTotal'),
    erase: 'keep',
  },
  customerRows('product_subscriptions', 'productSubscriptions', ['id', 'shopId', 'productId', 'quantity', 'interval', 'nextDelivery', 'status', 'createdAt', 'updatedAt'], 'delete'),
  customerRows('price_groups', 'customerPriceGroups', ['priceGroupId', 'assignedAt'], 'delete'),
  // Never the token: it stands for the card in the payment vault.
  customerRows('payment_cards', 'paymentCards', ['id', 'brand', 'last4', 'expMonth', 'expYear', 'holderName', 'createdAt', 'updatedAt'], 'delete'),
  customerRows('purchase_limits', 'purchaseLimits', ['id', 'shopId', 'amount', 'startDate', 'endDate', 'period', 'createdAt', 'updatedAt'], 'delete'),
  customerRows('groups', 'customerGroupMembers', ['groupId', 'source', 'createdAt'], 'delete'),
  customerRows('segments', 'segmentCustomers', ['segmentId', 'createdAt'], 'delete'),
  // Never the token hash.
  customerRows('invitations', 'customerInvitations', ['id', 'shopId', 'status', 'createdAt', 'expiresAt', 'usedAt', 'closedAt'], 'delete'),
  {
    name: 'shop_assignments',
    columns: ['shopCode', 'shopName', 'currency', 'status', 'ordersCount', 'totalSpent', 'lastOrderAt', 'createdAt', 'updatedAt'],
    load: (db, customerId) =>
      db('customerShops as cs').join('shops as s', 's.id', 'cs.shopId').where('cs.customerId', customerId).orderBy('s.code')
        .select('s.code as shopCode', 's.name as shopName', 's.currency', 'cs.status', 'cs.ordersCount', 'cs.totalSpent', 'cs.lastOrderAt', 'cs.createdAt', 'cs.updatedAt'),
    // Kept (the order figures live here), but the customer can no longer log in anywhere.
    erase: (trx, customerId) => trx('customerShops').where({ customerId }).update({ status: 'disabled', updatedAt: trx.fn.now() }),
  },
  customerRows('addresses', 'addresses', ['id', 'firstName', 'lastName', 'company', 'line1', 'line2', 'city', 'region', 'postcode', 'countryCode', 'phone', 'isDefaultBilling', 'isDefaultShipping', 'createdAt', 'updatedAt'], 'delete'),
  {
    name: 'orders',
    columns: ['id', 'shopCode', 'number', 'status', 'currency', 'subtotal', 'tax', 'creditApplied', 'total', 'placedAt'],
    load: (db, customerId) =>
      db('orders as o').join('shops as s', 's.id', 'o.shopId').where('o.customerId', customerId).orderBy('o.id')
        .select('o.id', 's.code as shopCode', 'o.number', 'o.status', 'o.currency', 'o.subtotal', 'o.tax', 'o.creditApplied', 'o.total', 'o.placedAt'),
    // Kept for accounting with their totals; an order holds no personal text (yet: a shipping
    // address on orders would be scrubbed here).
    erase: 'keep',
  },
  {
    name: 'order_lines',
    columns: ['id', 'orderId', 'orderNumber', 'sku', 'name', 'quantity', 'unitPrice', 'currency'],
    load: (db, customerId) =>
      db('orderLines as l').join('orders as o', 'o.id', 'l.orderId').where('o.customerId', customerId).orderBy('l.id')
        .select('l.id', 'l.orderId', 'o.number as orderNumber', 'l.sku', 'l.name', 'l.quantity', 'l.unitPrice', 'o.currency'),
    erase: 'keep',
  },
  customerRows('notes', 'customerNotes', ['id', 'authorName', 'body', 'createdAt'], 'delete'),
  {
    name: 'credit_accounts',
    columns: ['shopCode', 'currency', 'balance', 'createdAt'],
    load: (db, customerId) =>
      db('creditAccounts as a').join('shops as s', 's.id', 'a.shopId').where('a.customerId', customerId).orderBy('s.code')
        .select('s.code as shopCode', 'a.currency', 'a.createdAt', db.raw(`(SELECT coalesce(sum(e.amount), 0)::bigint FROM credit_entries e
          WHERE e.customer_id = a.customer_id AND e.shop_id = a.shop_id AND (e.expires_at IS NULL OR e.expires_at > now())) AS balance`)),
    erase: 'keep',
  },
  {
    name: 'credit_transactions',
    columns: ['id', 'shopCode', 'amount', 'currency', 'reason', 'reference', 'expiresAt', 'notifyCustomer', 'createdAt'],
    load: (db, customerId) =>
      db('creditTransactions as t').join('shops as s', 's.id', 't.shopId').where('t.customerId', customerId).orderBy('t.id')
        .select('t.id', 's.code as shopCode', 't.amount', 't.currency', 't.reason', 't.reference', 't.expiresAt', 't.notifyCustomer', 't.createdAt'),
    // The amounts stay (append-only ledger); the text staff typed about the customer goes.
    erase: (trx, customerId) => trx('creditTransactions').where({ customerId }).update({ reason: ERASED_TEXT, reference: '' }),
  },
  customerRows('credit_entries', 'creditEntries', ['id', 'transactionId', 'shopId', 'amount', 'lotEntryId', 'expiresAt', 'createdAt'], 'keep'),
  customerRows('tags', 'customerTags', ['tag'], 'delete'),
  {
    name: 'timeline',
    columns: ['id', 'occurredAt', 'actorType', 'shopCode', 'action', 'changes'],
    load: (db, customerId) =>
      db('auditLog as a').leftJoin('shops as s', 's.id', 'a.shopId').where('a.customerId', customerId).orderBy('a.id')
        .select('a.id', 'a.occurredAt', 'a.actorType', 's.code as shopCode', 'a.action', 'a.changes'),
    erase: scrubAuditLog,
  },
  {
    name: 'mail',
    // Not the bodies: a message may carry a one-time link (invitation, password reset).
    columns: ['id', 'shopCode', 'template', 'toAddress', 'subject', 'status', 'createdAt', 'sentAt'],
    load: (db, customerId) =>
      db('mailOutbox as m').leftJoin('shops as s', 's.id', 'm.shopId').where('m.customerId', customerId).orderBy('m.id')
        .select('m.id', 's.code as shopCode', 'm.template', 'm.toAddress', 'm.subject', 'm.status', 'm.createdAt', 'm.sentAt'),
    // Kept as a record that mail was sent, without address, subject or text; unsent mail is never sent.
    erase: async (trx, customerId, { erasedEmail }) => {
      const touched = await trx('mailOutbox').where({ customerId }).update({ toAddress: erasedEmail, subject: ERASED_TEXT, textBody: '', htmlBody: '' });
      await trx('mailOutbox').where({ customerId }).whereIn('status', ['pending', 'sending']).update({ status: 'failed', claimedUntil: null, lastError: 'The customer’s data was erased.' });
      return touched;
    },
  },
];
