import type { Writable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import copyStreams from 'pg-copy-streams';
import { insertOnce, strandedQueuedIds } from '../db/job-records.js';
import { withPooledConnection } from '../db/pooled-connection.js';
import { NotFoundError } from '../lib/errors.js';
import type { CustomerFilters } from '../schemas/customer-list.schema.js';
import type { FileStorage } from '../storage/file-storage.js';
import { recordAudit } from './audit.service.js';
import { customerListFilter, spentFilterApplies, type ListSource } from './customer-list-filter.js';
import { shopCurrencies } from './shop.service.js';
import { loadStaffPrincipal } from './staff.service.js';

// CSV export of the customer list (F-LIST-6). The filtered ids (and the listed shop's order
// figures) are collected by the list's own parameterised query into a temporary table; COPY then
// streams the formatted rows straight from PostgreSQL, so memory stays flat and a million rows take
// seconds. Small exports stream to the browser; large ones run as a job that writes a file the
// staff member downloads when it is ready.

export const EXPORT_COLUMNS = [
  'id', 'email', 'first_name', 'last_name', 'state', 'customer_type', 'company', 'phone', 'city', 'country',
  'orders_count', 'total_spent', 'last_order_at', 'created_at', 'password_changed_at', 'marketing_opt_in', 'tax_exempt', 'tags',
] as const;

/** Up to this many matching customers the export streams at once; above it, it runs as a job. */
export const INLINE_EXPORT_LIMIT = 10_000;

/**
 * A spreadsheet program runs a cell that starts with one of these as a formula (CSV injection);
 * a leading apostrophe makes it text.
 */
export function neutraliseFormula(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** neutraliseFormula in SQL, for text that COPY writes. */
const safe = (expression: string) => `CASE WHEN ${expression} ~ '^[-=+@\\t\\r]' THEN '''' || ${expression} ELSE ${expression} END`;
const isoTime = (expression: string) => `to_char(${expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const yesNo = (expression: string) => `CASE WHEN ${expression} THEN 'yes' ELSE 'no' END`;

const FORMATTED: Record<(typeof EXPORT_COLUMNS)[number], string> = {
  id: 'e.id',
  email: safe('c.email::text'),
  first_name: safe('c.first_name'),
  last_name: safe('c.last_name'),
  state: 'c.state',
  customer_type: 'c.customer_type',
  company: safe('c.company_name1'),
  phone: safe('c.phone'),
  city: safe("coalesce(c.billing_city, '')"),
  country: safe("coalesce(c.billing_country, '')"),
  orders_count: 'e.orders_count',
  total_spent: "to_char(e.total_spent / 100.0, 'FM9999999999999990.00')",
  last_order_at: isoTime('e.last_order_at'),
  created_at: isoTime('c.created_at'),
  password_changed_at: isoTime('c.password_changed_at'),
  marketing_opt_in: yesNo('c.marketing_opt_in'),
  tax_exempt: yesNo('c.tax_exempt'),
  tags: safe("coalesce(t.tags, '')"),
};

/**
 * The COPY of the collected rows. Over all shops of a merchant who sells in several currencies, a
 * customer's total spent would add amounts of different currencies: the file then has one column of
 * it per currency instead (total_spent_eur, …), empty for a customer without orders in that currency
 * (as the list leaves that currency out).
 */
function copySql(currencies: string[]): string {
  const perCurrency = currencies.length > 1;
  const columns = EXPORT_COLUMNS.flatMap((name) =>
    name === 'total_spent' && perCurrency ? currencies.map((currency) => `${spentIn(currency)} AS total_spent_${currency.toLowerCase()}`) : [`${FORMATTED[name]} AS ${name}`],
  );
  return `COPY (
  SELECT ${columns.join(', ')}
  FROM export_rows e
  JOIN customers c ON c.id = e.id
  LEFT JOIN LATERAL (SELECT string_agg(x.tag::text, ', ' ORDER BY x.tag) AS tags FROM customer_tags x WHERE x.customer_id = e.id) t ON true
  ORDER BY e.id
) TO STDOUT WITH (FORMAT csv, HEADER true)`;
}

/** A customer's total spent in the shops of one currency (a code the shops table checks: three capitals). */
function spentIn(currency: string): string {
  if (!/^[A-Z]{3}$/.test(currency)) throw new Error(`Not a currency code: ${currency}`);
  return `(SELECT to_char(sum(cs.total_spent) / 100.0, 'FM9999999999999990.00') FROM customer_shops cs JOIN shops s ON s.id = cs.shop_id
            WHERE cs.customer_id = e.id AND s.currency = '${currency}' AND cs.orders_count > 0)`;
}

/** What an export lists: the list's source, search and filters, and the sales team it is limited to. */
export interface ExportSelection {
  source: ListSource;
  q: string;
  filters: CustomerFilters;
  salesTeamId: number | null;
}

/**
 * Writes the selection as CSV (with a BOM, for spreadsheet programs) to `out`, and ends it. Answers
 * the number of rows. Over all shops only a total spent in a currency they sell in filters the rows,
 * and over shops of several currencies only one with its currency, as on the list (its request has
 * set the others aside already; a job queued before a shop's currency changed has not).
 */
export async function writeCustomerCsv(knex: Knex, selection: ExportSelection, out: Writable): Promise<number> {
  const figures = selection.source.kind === 'shop' ? 'cs' : 'c';
  const currencies = selection.source.kind === 'all' ? await shopCurrencies(knex) : [];
  const spentUnusable = selection.source.kind === 'all' && !spentFilterApplies(selection.filters.spentCurrency, currencies);
  const filters = spentUnusable ? { ...selection.filters, spentMin: undefined, spentMax: undefined } : selection.filters;
  const { sql, bindings } = customerListFilter(knex, selection.source, { ...selection, filters }, selection.salesTeamId)
    .select('c.id', `${figures}.orders_count`, `${figures}.total_spent`, `${figures}.last_order_at`)
    .toSQL()
    .toNative();
  const copy = copySql(currencies);
  return withPooledConnection(knex, async (connection) => {
    try {
      await connection.query('BEGIN');
      const collected = await connection.query(`CREATE TEMPORARY TABLE export_rows ON COMMIT DROP AS ${sql}`, [...bindings]);
      out.write('\ufeff');
      await pipeline(connection.query(copyStreams.to(copy)), out);
      await connection.query('COMMIT');
      return Number(collected.rowCount ?? 0);
    } catch (error) {
      await connection.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}

// ---- exports as jobs -------------------------------------------------------------------------

export interface CustomerExport {
  id: number;
  staffUserId: number;
  selection: ExportSelection;
  fileName: string;
  status: 'queued' | 'running' | 'done' | 'failed';
  rowsWritten: number | null;
  bytes: number | null;
  storageKey: string | null;
  error: string | null;
  createdAt: Date;
  finishedAt: Date | null;
  expiresAt: Date;
}

/** Records an export job once per idempotency key: a second submit of the same form answers the first. */
export async function createCustomerExport(knex: Knex, staffId: number, input: { key: string; selection: ExportSelection; fileName: string }): Promise<{ id: number; created: boolean }> {
  return insertOnce(knex, 'customerExports', { staffUserId: staffId, idempotencyKey: input.key }, { selection: JSON.stringify(input.selection), fileName: input.fileName });
}

/** An export of this staff member's (another's export is not theirs to see or download). */
export async function getCustomerExport(knex: Knex, staffId: number, exportId: number): Promise<CustomerExport> {
  const row = await knex('customerExports').where({ id: exportId, staffUserId: staffId }).first();
  if (!row) throw new NotFoundError('We could not find that export.');
  return row as CustomerExport;
}

/**
 * Runs an export job: checks the staff member's scope as it is now (a shop taken away since the
 * request is not exported), writes the file and marks the export done. Running it again after it
 * finished does nothing; a retry after a crash starts the file over.
 */
export async function runCustomerExport(knex: Knex, files: FileStorage, exportId: number): Promise<void> {
  const record = (await knex('customerExports').where({ id: exportId }).first()) as CustomerExport | undefined;
  if (!record || record.status === 'done') return;
  const staff = await loadStaffPrincipal(knex, record.staffUserId);
  const source = record.selection.source;
  if (!staff || (source.kind === 'all' && staff.scope !== 'all') || (source.kind === 'shop' && staff.scope !== 'all' && !staff.scope.includes(source.shopId))) {
    await markCustomerExportFailed(knex, exportId, 'You no longer have access to these customers');
    return;
  }
  await knex('customerExports').where({ id: exportId }).update({ status: 'running', error: null });
  const csv = new PassThrough();
  const written = writeCustomerCsv(knex, { ...record.selection, salesTeamId: staff.salesTeamId }, csv).catch((error: Error) => {
    // A failure before COPY began leaves the stream open: end it, so the file is removed and the job fails.
    csv.destroy(error);
    throw error;
  });
  const [stored, rows] = await Promise.all([files.receive(csv, 'exports'), written]);
  await knex.transaction(async (trx) => {
    await trx('customerExports').where({ id: exportId }).update({ status: 'done', rowsWritten: rows, bytes: stored.bytes, storageKey: stored.key, finishedAt: trx.fn.now(), expiresAt: trx.raw("now() + interval '1 day'") });
    await recordAudit(trx, { actorType: 'staff', actorId: record.staffUserId, shopId: source.kind === 'shop' ? source.shopId : null, customerId: null, action: 'customers.exported', changes: { exportId, rows } });
  });
  if (record.storageKey) await files.remove(record.storageKey);
}

export async function markCustomerExportFailed(knex: Knex, exportId: number, error: string): Promise<void> {
  await knex('customerExports').where({ id: exportId }).whereNot('status', 'done').update({ status: 'failed', error: error.slice(0, 500), finishedAt: knex.fn.now() });
}

/** Exports still 'queued' after a grace period: their job was never added (queue down) or lost. */
export async function findStrandedExportIds(knex: Knex, graceSeconds: number): Promise<number[]> {
  return strandedQueuedIds(knex, 'customerExports', graceSeconds);
}

/** Deletes the files of expired exports (customer data should not lie around); the rows stay as a record. */
export async function removeExpiredExportFiles(knex: Knex, files: FileStorage): Promise<number> {
  const expired = (await knex('customerExports').whereNotNull('storageKey').andWhere('expiresAt', '<', knex.fn.now()).limit(500).select('id', 'storageKey')) as Array<{ id: number; storageKey: string }>;
  for (const row of expired) {
    await files.remove(row.storageKey);
    await knex('customerExports').where({ id: row.id }).update({ storageKey: null });
  }
  return expired.length;
}
