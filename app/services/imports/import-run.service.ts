import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import copyStreams from 'pg-copy-streams';
import { refreshListStatistics } from '../../db/list-statistics.js';
import { withPooledConnection } from '../../db/pooled-connection.js';
import { forEachConcurrently } from '../../lib/concurrency.js';
import { EMAIL_CONFLICT_TARGET, emailKeyOf } from '../../models/customer.model.js';
import type { ShopScope } from '../../models/staff-user.model.js';
import type { ImportRunMode } from '../../queues/import.queue.js';
import { recordAudit } from '../audit.service.js';
import { loadStaffPrincipal } from '../staff.service.js';
import type { ImportDeps } from './import-analysis.service.js';
import { isBlankRow } from './import-analysis.service.js';
import { COUNTRY_CODES, FIELD_KEYS, fieldLabel, fieldOf, IMPORT_FIELDS, tidyCell, type FieldKey, type ImportField } from './import-fields.js';
import { ImportFileError, readImportRows } from './import-file.js';
import { ERRORS_SAMPLE_SIZE, inScope, markImportFailed, mayImportCustomers, type CustomerImport } from './import.service.js';

/**
 * A dry run or an import (F-LIST-6), run by the imports worker:
 *
 * 1. stage: the file is streamed (COPY) into customer_import_rows, one row per line, each cell
 *    tidied for the field it is mapped to;
 * 2. validate: a set-based UPDATE gives every bad row of a staged part its reasons while the next
 *    part is staged; then duplicates of an e-mail in the file are rejected except the last valid one;
 * 3. per batch of lines: match existing customers by e-mail, reject those who belong only to shops
 *    the staff member does not manage, and — for the import — merge the batch set-based in one
 *    transaction (create or update customers, shop assignment, tags, default address, audit).
 *
 * A rejected row is rejected whole and before anything is merged, so no row is half applied and
 * a bad row never costs a good one. A dry run stops before merging and changes no customer.
 */

export const BATCH_LINES = 5_000;
/**
 * Batches merged at the same time, each in its own transaction and connection. The merge is bound
 * by index maintenance in PostgreSQL, which uses one core per connection; the batches touch
 * different customers (e-mails are unique within a run), so they do not wait for each other.
 */
const MERGE_CONCURRENCY = 2;
const STAGE = 'customer_import_rows';
const IN_BATCH = 's.import_id = ? AND s.line > ? AND s.line <= ?';
const BELONGS_ELSEWHERE = 'Belongs to another shop';
const ERASED = 'This customer’s personal data was erased; the record can no longer be changed';
const TAKEN_MEANWHILE = 'This e-mail address was created by another change at the same moment; import the file again';

// Deliberately plain: the point is to catch typos and cells from the wrong column, not to be RFC 5322.
const EMAIL_PATTERN = "^[A-Za-z0-9.!#$%&'*+/=^_`{|}~-]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$";

/** Customer columns filled by import fields (the rest of the fields belong to the address). */
const CUSTOMER_COLUMNS: Partial<Record<FieldKey, { column: string; cast?: string; fallback: string }>> = {
  salutation: { column: 'salutation', fallback: "''" },
  first_name: { column: 'first_name', fallback: "''" },
  middle_name: { column: 'middle_name', fallback: "''" },
  last_name: { column: 'last_name', fallback: "''" },
  phone: { column: 'phone', fallback: "''" },
  company: { column: 'company_name1', fallback: "''" },
  company2: { column: 'company_name2', fallback: "''" },
  department: { column: 'department', fallback: "''" },
  customer_type: { column: 'customer_type', fallback: "'B2C'" },
  marketing_opt_in: { column: 'marketing_opt_in', cast: '::boolean', fallback: 'false' },
  tax_exempt: { column: 'tax_exempt', cast: '::boolean', fallback: 'false' },
  require_approval: { column: 'require_approval', cast: '::boolean', fallback: 'false' },
  approval_limit: { column: 'require_approval_over', cast: '::bigint', fallback: 'NULL' },
  block_checkout: { column: 'block_checkout', cast: '::boolean', fallback: 'false' },
  checkout_limit: { column: 'block_checkout_over', cast: '::bigint', fallback: 'NULL' },
};

/** A new customer's value of a customer column: the row's, or the column's default. */
const newValue = (key: string, c: { cast?: string; fallback: string }) => `coalesce(s.${key}${c.cast ?? ''}, ${c.fallback})`;

/** A new customer's type, as its insert and its assignment's copy (migration 44) have it. */
const NEW_TYPE = newValue('customer_type', CUSTOMER_COLUMNS.customer_type!);

/**
 * A new customer's billing city and country: those of the default address the row adds
 * (mergeDefaultAddresses), which the addresses trigger would copy onto the customer, and the
 * customer onto its assignments. Filled in here, the triggers find nothing to change instead of
 * updating every new row.
 */
const NEW_BILLING_CITY = 'CASE WHEN s.address_line1 IS NOT NULL THEN s.address_city END';
const NEW_BILLING_COUNTRY = 'CASE WHEN s.address_line1 IS NOT NULL THEN s.address_country END';

export async function runImport(deps: ImportDeps, importId: number, mode: ImportRunMode): Promise<void> {
  const { knex } = deps;
  const record = (await knex('customerImports').where({ id: importId }).first()) as CustomerImport | undefined;
  // A job for a run that already ended (or was replaced) has nothing to do.
  if (!record || record.status !== (mode === 'dry_run' ? 'dry_run' : 'importing')) return;

  // The scope is read again now: a staff member who lost the shop meanwhile imports nothing into it.
  const staff = await loadStaffPrincipal(knex, record.staffUserId);
  if (!staff || !mayImportCustomers(staff) || !inScope(staff.scope, record.shopId)) {
    await markImportFailed(knex, importId, 'You no longer manage this shop, so nothing was imported.');
    return;
  }

  const resume = mode === 'import' && record.stagedRows !== null && (await stagedCount(knex, importId)) === record.stagedRows;
  if (!resume) {
    try {
      await knex(STAGE).where({ importId }).delete();
      const staged = await stageAndCheckRows(deps, record);
      await rejectDuplicateEmails(knex, importId);
      // Staged rows have no foreign key to their import (a lookup per line): one deleted meanwhile
      // (with its shop or staff member) takes its rows with it here.
      if (!(await knex('customerImports').where({ id: importId }).update({ stagedRows: staged }))) {
        await knex(STAGE).where({ importId }).delete();
        return;
      }
    } catch (error) {
      if (!(error instanceof ImportFileError)) throw error;
      // The parts staged before the file turned out unreadable are of no use.
      await knex(STAGE).where({ importId }).delete();
      await markImportFailed(knex, importId, error.message);
      return;
    }
  }

  const batch = { importId, shopId: record.shopId, staffId: staff.id, staffName: staff.name || staff.email, scope: staff.scope, tag: record.options?.tag ?? null, mapped: new Set(record.mapping.filter(Boolean) as FieldKey[]) };
  const pending = await pendingBatches(knex, importId);
  // Progress counts lines: those of batches with nothing left to merge (merged before a restart, or
  // rejected whole) count at once; each pending batch adds its own when it commits.
  const settled = await knex(STAGE).where({ importId }).whereRaw(`((line - 1) / ${BATCH_LINES}) * ${BATCH_LINES} <> ALL(?::int[])`, [pending]).count('* as n').first();
  await knex('customerImports').where({ id: importId }).update({ processedRows: Number(settled?.n ?? 0) });
  await forEachConcurrently(pending, MERGE_CONCURRENCY, async (from) => {
    const to = from + BATCH_LINES;
    if (mode === 'dry_run') {
      await resolveCustomers(knex, batch, from, to);
      await countProcessed(knex, importId, from, to);
    } else {
      await knex.transaction(async (trx) => {
        await resolveCustomers(trx, batch, from, to);
        await mergeBatch(trx, batch, from, to);
        await countProcessed(trx, importId, from, to);
      });
    }
  });

  await finishRun(deps, record, mode);
}

/**
 * The first line (exclusive) of every batch that still has a valid row without an outcome. A batch
 * commits whole, so after a crash exactly the batches that did not commit are merged again.
 */
async function pendingBatches(knex: Knex, importId: number): Promise<number[]> {
  const rows = await knex.raw(
    `SELECT DISTINCT ((line - 1) / ${BATCH_LINES}) * ${BATCH_LINES} AS "from" FROM ${STAGE} WHERE import_id = ? AND reason IS NULL AND outcome IS NULL ORDER BY 1`,
    [importId],
  );
  return (rows.rows as Array<{ from: number }>).map((row) => Number(row.from));
}

async function countProcessed(db: Knex | Knex.Transaction, importId: number, from: number, to: number): Promise<void> {
  const lines = await db(STAGE).where({ importId }).where('line', '>', from).where('line', '<=', to).count('* as n').first();
  await db('customerImports').where({ id: importId }).increment('processedRows', Number(lines?.n ?? 0));
}

async function stagedCount(db: Knex | Knex.Transaction, importId: number): Promise<number> {
  const row = (await db(STAGE).where({ importId }).count('* as n').first()) as { n: string | number } | undefined;
  return Number(row?.n ?? 0);
}

// --- 1. stage ----------------------------------------------------------------------------------

const STAGED_COLUMNS = ['import_id', 'line', ...FIELD_KEYS];

/** One CSV cell for COPY: NULL is an empty unquoted cell, text is always quoted. */
const copyCell = (value: string | null) => (value === null ? '' : value.includes('"') ? `"${value.replaceAll('"', '""')}"` : `"${value}"`);
const LINE1 = FIELD_KEYS.indexOf('address_line1');
const LINE2 = FIELD_KEYS.indexOf('address_line2');

/**
 * The COPY line of one row of the file: the import, the line number and every field, tidied, from
 * the column mapped to it (NULL when none is). Built straight from the mapping, as this runs for
 * every line of files of a million.
 */
function copyLineFor(record: Pick<CustomerImport, 'id' | 'mapping'>): (line: number, cells: string[]) => string {
  const sources = FIELD_KEYS.map((key) => {
    const column = record.mapping.indexOf(key);
    return column < 0 ? null : { column, field: fieldOf(key) };
  });
  return (line, cells) => {
    const values = sources.map((source) => source && tidyCell(source.field, cells[source.column] ?? ''));
    splitStreet(values);
    let text = `${record.id},${line}`;
    for (const value of values) text += `,${copyCell(value)}`;
    return text;
  };
}

/**
 * Lines per COPY. Each part is checked (step 2) as soon as it is committed, while the next is
 * staged: staging is bound by the worker's thread, so the checks cost no time of their own.
 */
const STAGE_PART_LINES = 25_000;
const COPY_CHUNK_LINES = 1_000;
const PART_CHUNKS = STAGE_PART_LINES / COPY_CHUNK_LINES;
const COPY_INTO_STAGE = `COPY ${STAGE} (${STAGED_COLUMNS.join(', ')}) FROM STDIN WITH (FORMAT csv)`;

/** COPY input of the next COPY_CHUNK_LINES lines, and the last of their line numbers. */
interface CopyChunk {
  text: string;
  lastLine: number;
}

/**
 * Streams the data rows of the file into the staging table with COPY, part by part, and gives each
 * committed part its reasons while the next is staged; answers how many rows were staged.
 */
async function stageAndCheckRows(deps: ImportDeps, record: CustomerImport): Promise<number> {
  const { knex, files } = deps;
  const copyLine = copyLineFor(record);
  const sniffed = { format: record.format ?? 'csv', delimiter: record.csvDelimiter };
  let staged = 0;

  async function* copyChunks(): AsyncGenerator<CopyChunk> {
    let seenHeader = false;
    let chunk: string[] = [];
    let lastLine = 0;
    for await (const { line, cells } of readImportRows(files, record.storageKey, sniffed)) {
      if (isBlankRow(cells)) continue;
      if (!seenHeader) {
        seenHeader = true;
        continue;
      }
      chunk.push(copyLine(line, cells));
      lastLine = line;
      staged += 1;
      if (chunk.length === COPY_CHUNK_LINES) {
        yield { text: `${chunk.join('\n')}\n`, lastLine };
        chunk = [];
      }
      if (staged % 20_000 === 0) await knex('customerImports').where({ id: record.id }).update({ processedRows: staged });
    }
    if (chunk.length) yield { text: `${chunk.join('\n')}\n`, lastLine };
  }

  // The checks of the part before, on a connection of their own; one part's at a time.
  let checking: Promise<void> = Promise.resolve();
  const chunks = copyChunks();
  try {
    await withPooledConnection(knex, async (connection) => {
      for (let from = 0, more = true; more; ) {
        const part = { lastLine: from, chunks: 0 };
        await pipeline(Readable.from(nextChunks(chunks, PART_CHUNKS, part)), connection.query(copyStreams.from(COPY_INTO_STAGE)));
        more = part.chunks === PART_CHUNKS;
        await checking;
        if (part.lastLine > from) checking = checkRows(knex, record.id, from, part.lastLine);
        // Awaited with the next part (or below); until then its failure is not an unhandled rejection.
        checking.catch(() => undefined);
        from = part.lastLine;
      }
    });
  } finally {
    await chunks.return(undefined);
    await checking.catch(() => undefined);
  }
  await checking;
  return staged;
}

/** The text of up to `limit` chunks, leaving the rest of them (and the file open) for the next part. */
async function* nextChunks(chunks: AsyncIterator<CopyChunk>, limit: number, part: { lastLine: number; chunks: number }): AsyncGenerator<string> {
  while (part.chunks < limit) {
    const next = await chunks.next();
    if (next.done) return;
    part.chunks += 1;
    part.lastLine = next.value.lastLine;
    yield next.value.text;
  }
}

/** Magento keeps both street lines in one cell, separated by a line break. */
function splitStreet(values: Array<string | null>): void {
  const street = values[LINE1];
  if (!street || !/[\r\n]/.test(street)) return;
  const [first, ...rest] = street.split(/\r?\n|\r/).map((part) => part.trim());
  values[LINE1] = first || null;
  const second = rest.filter(Boolean).join(', ');
  if (second && !values[LINE2]) values[LINE2] = second;
}

// --- 2. validate -------------------------------------------------------------------------------

const sqlText = (text: string) => `'${text.replace(/'/g, "''")}'`;
/** A cell quoted in a reason, cut short. */
const quoted = (column: string, length = 60) => `'“' || left(${column}, ${length}) || '”'`;

/** One CASE expression per check; each answers a reason or NULL. The bindings follow in order. */
function fieldChecks(): { expressions: string[]; bindings: Knex.RawBinding[] } {
  const expressions: string[] = [];
  const bindings: Knex.RawBinding[] = [];
  for (const field of IMPORT_FIELDS as readonly ImportField[]) {
    const c = field.key;
    const label = fieldLabel(field.key as FieldKey);
    const tooLong = `WHEN length(${c}) > ${field.max} THEN ${sqlText(`${label} is longer than ${field.max} characters`)}`;
    const control = `WHEN ${c} ~ '[[:cntrl:]]' THEN ${sqlText(`${label} contains a line break or another control character`)}`;
    switch (field.kind) {
      case 'email':
        expressions.push(
          `CASE WHEN ${c} IS NULL THEN 'E-mail is missing' ${tooLong}
                WHEN ${c} !~ ? OR ${c} ~ '(^|@)[.]|[.]@|[.][.]' THEN 'E-mail ' || ${quoted(c)} || ' is not a valid address' END`,
        );
        bindings.push(EMAIL_PATTERN);
        break;
      case 'text':
        expressions.push(`CASE ${tooLong} ${control} END`);
        break;
      case 'phone':
        expressions.push(`CASE ${tooLong} WHEN ${c} !~ '^[0-9+()./ x-]+$' THEN ${sqlText(label)} || ' ' || ${quoted(c, 40)} || ' may only contain digits, spaces and + ( ) - . /' END`);
        break;
      case 'bool':
        expressions.push(`CASE WHEN ${c} NOT IN ('true', 'false') THEN ${sqlText(label.replace(/ \(yes\/no\)$/, ''))} || ' must be yes or no, not ' || ${quoted(c, 40)} END`);
        break;
      case 'customerType':
        expressions.push(`CASE WHEN ${c} NOT IN ('B2C', 'B2B', 'B2E', 'GUEST') THEN 'Customer type must be B2C, B2B, B2E or GUEST, not ' || ${quoted(c, 40)} END`);
        break;
      case 'country':
        expressions.push(`CASE WHEN NOT (${c} = ANY(?::text[])) THEN 'Country ' || ${quoted(c, 40)} || ' is not a two-letter ISO country code such as DE' END`);
        bindings.push(COUNTRY_CODES);
        break;
      case 'note':
        // A note may have line breaks and tabs; other control characters are rejected.
        expressions.push(`CASE ${tooLong} WHEN ${c} ~ '[\\x01-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]' THEN ${sqlText(`${label} contains a control character`)} END`);
        break;
      case 'money': {
        // Staged in minor units when it read as an amount; anything else is the cell as written.
        const tooLow = field.zeroAllowed ? { test: '< 0', reason: 'must not be negative' } : { test: '<= 0', reason: 'must be above zero' };
        expressions.push(
          `CASE WHEN ${c} !~ '^-{0,1}[0-9]{1,15}$' THEN ${sqlText(label)} || ' must be a number like 500 or 1250.50, not ' || ${quoted(c, 40)}
                WHEN ${c}::bigint ${tooLow.test} THEN ${sqlText(`${label} ${tooLow.reason}`)} END`,
        );
        break;
      }
      case 'limitPeriod':
        expressions.push(`CASE WHEN ${c} NOT IN ('monthly', 'quarterly', 'yearly') THEN ${sqlText(label)} || ' must be monthly, quarterly or yearly, not ' || ${quoted(c, 40)} END`);
        break;
      case 'date': {
        // A day that exists: the pattern first, so the day-of-month test only ever sees a well-formed date.
        const bad = `${sqlText(label)} || ' must be a date as YYYY-MM-DD, not ' || ${quoted(c, 40)}`;
        expressions.push(
          `CASE WHEN ${c} !~ '^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' THEN ${bad}
                WHEN right(${c}, 2)::int > extract(day FROM make_date(left(${c}, 4)::int, substr(${c}, 6, 2)::int, 1) + interval '1 month' - interval '1 day') THEN ${bad} END`,
        );
        break;
      }
      case 'tags':
        expressions.push(
          `CASE WHEN EXISTS (SELECT 1 FROM unnest(string_to_array(${c}, ',')) AS t(tag) WHERE length(t.tag) > 64) THEN 'A tag is longer than 64 characters' ${control} END`,
        );
        break;
    }
  }
  // A purchase limit is an amount from a start date, over fixed dates (an end) or a period, never both.
  expressions.push(
    `CASE WHEN coalesce(purchase_limit, purchase_limit_period, purchase_limit_start, purchase_limit_end) IS NULL THEN NULL
          WHEN purchase_limit IS NULL OR purchase_limit_start IS NULL THEN 'A purchase limit needs an amount and a start date'
          WHEN (purchase_limit_end IS NULL) = (purchase_limit_period IS NULL) THEN 'A purchase limit needs either an end date or a period (monthly, quarterly, yearly), not both'
          WHEN purchase_limit_end ~ '^[0-9]{4}-' AND purchase_limit_start ~ '^[0-9]{4}-' AND purchase_limit_end < purchase_limit_start
          THEN 'The purchase limit ends before it starts' END`,
  );
  expressions.push(
    `CASE WHEN coalesce(address_line1, address_line2, address_city, address_postcode, address_region) IS NOT NULL
           AND (address_line1 IS NULL OR address_city IS NULL OR address_country IS NULL)
          THEN 'The address needs at least a street, a city and a country' END`,
  );
  return { expressions, bindings };
}

const CHECKS = fieldChecks();

/** Only the bad rows are written: writing a NULL into every staged row was a quarter of the checks. */
async function checkRows(knex: Knex, importId: number, from: number, to: number): Promise<void> {
  await knex.raw(
    `WITH checked AS (SELECT line, NULLIF(concat_ws('; ', ${CHECKS.expressions.join(',\n')}), '') AS reason FROM ${STAGE} WHERE import_id = ? AND line > ? AND line <= ?)
     UPDATE ${STAGE} s SET reason = checked.reason FROM checked WHERE s.import_id = ? AND s.line = checked.line AND checked.reason IS NOT NULL`,
    [...CHECKS.bindings, importId, from, to, importId],
  );
}

/** The last valid row of an e-mail wins; the earlier ones are reported, pointing at it. */
async function rejectDuplicateEmails(knex: Knex, importId: number): Promise<void> {
  await knex.raw(
    `WITH ranked AS (SELECT line, max(line) OVER (PARTITION BY lower(email)) AS kept FROM ${STAGE} WHERE import_id = ? AND reason IS NULL)
     UPDATE ${STAGE} s SET reason = 'Duplicate e-mail: line ' || r.kept || ' has the same address and is used instead'
       FROM ranked r WHERE s.import_id = ? AND s.line = r.line AND r.line <> r.kept`,
    [importId, importId],
  );
}

// --- 3. match, scope and merge, per batch ----------------------------------------------------

interface BatchContext {
  importId: number;
  shopId: number;
  staffId: number;
  /** The author of notes from the file, as a note added on the dashboard names it. */
  staffName: string;
  scope: ShopScope;
  tag: string | null;
  mapped: Set<FieldKey>;
}

/** Finds the existing customer of each valid row, and rejects those the staff member may not change. */
async function resolveCustomers(db: Knex | Knex.Transaction, batch: BatchContext, from: number, to: number): Promise<void> {
  const range = [batch.importId, from, to];
  await db.raw(
    `UPDATE ${STAGE} s SET customer_id = c.id FROM customers c
      WHERE ${IN_BATCH} AND s.reason IS NULL AND s.customer_id IS NULL AND ${emailKeyOf('c.email')} = lower(s.email)`,
    range,
  );
  if (batch.scope !== 'all') {
    // A customer with no shop at all, or with at least one of this staff member's shops, may be changed;
    // one who is only in other shops is not (and the reason says no more than that).
    await db.raw(
      `UPDATE ${STAGE} s SET reason = ${sqlText(BELONGS_ELSEWHERE)}
        WHERE ${IN_BATCH} AND s.reason IS NULL AND s.outcome IS NULL AND s.customer_id IS NOT NULL
          AND EXISTS (SELECT 1 FROM customer_shops x WHERE x.customer_id = s.customer_id)
          AND NOT EXISTS (SELECT 1 FROM customer_shops x WHERE x.customer_id = s.customer_id AND x.shop_id = ANY(?::bigint[]))`,
      [...range, batch.scope],
    );
  }
  // F-CUST-9: an erased customer's record (matched by its placeholder address) takes no personal data again.
  await db.raw(
    `UPDATE ${STAGE} s SET reason = ${sqlText(ERASED)}
      WHERE ${IN_BATCH} AND s.reason IS NULL AND s.outcome IS NULL
        AND EXISTS (SELECT 1 FROM customers c WHERE c.id = s.customer_id AND c.erased_at IS NOT NULL)`,
    range,
  );
}

async function mergeBatch(trx: Knex.Transaction, batch: BatchContext, from: number, to: number): Promise<void> {
  const range = [batch.importId, from, to];

  // New customers: guests (no password), every field from the row or its default. Their ids are
  // drawn first, so each row knows its customer without joining the new rows back by e-mail (the
  // sequence is looked up once, not per row).
  const inserted = Object.entries(CUSTOMER_COLUMNS);
  const drawn = await trx.raw(
    `UPDATE ${STAGE} s SET customer_id = nextval((SELECT pg_get_serial_sequence('customers', 'id'))::regclass), outcome = 'created'
      WHERE ${IN_BATCH} AND s.reason IS NULL AND s.customer_id IS NULL`,
    range,
  );
  const added = await trx.raw(
    `WITH added AS (
       INSERT INTO customers (id, email, state, ${inserted.map(([, c]) => c.column).join(', ')}, billing_city, billing_country) OVERRIDING SYSTEM VALUE
       SELECT s.customer_id, s.email, 'guest', ${inserted.map(([key, c]) => newValue(key, c)).join(', ')}, ${NEW_BILLING_CITY}, ${NEW_BILLING_COUNTRY}
         FROM ${STAGE} s WHERE ${IN_BATCH} AND s.outcome = 'created'
        ORDER BY s.line
       ON CONFLICT ${EMAIL_CONFLICT_TARGET} DO NOTHING
       RETURNING 1)
     SELECT count(*)::int AS n FROM added`,
    range,
  );
  // Someone else created some of these e-mails between our look-up and the insert: match them instead.
  if ((added.rows[0] as { n: number }).n < (drawn.rowCount ?? 0)) {
    await trx.raw(
      `UPDATE ${STAGE} s SET customer_id = NULL, outcome = NULL
        WHERE ${IN_BATCH} AND s.outcome = 'created' AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = s.customer_id)`,
      range,
    );
    await resolveCustomers(trx, batch, from, to);
    await trx.raw(`UPDATE ${STAGE} s SET reason = ${sqlText(TAKEN_MEANWHILE)} WHERE ${IN_BATCH} AND s.reason IS NULL AND s.customer_id IS NULL`, range);
  }

  // Existing customers: only the mapped fields the row fills in; a row that changes nothing writes nothing.
  const updated = inserted.filter(([key]) => batch.mapped.has(key as FieldKey));
  if (updated.length) {
    const value = (key: string, c: { column: string; cast?: string }) => `coalesce(s.${key}${c.cast ?? ''}, c.${c.column})`;
    await trx.raw(
      `WITH changed AS (
         UPDATE customers c SET ${updated.map(([key, col]) => `${col.column} = ${value(key, col)}`).join(', ')}, updated_at = now()
           FROM ${STAGE} s
          WHERE ${IN_BATCH} AND s.reason IS NULL AND s.outcome IS NULL AND s.customer_id = c.id
            AND (${updated.map(([key, col]) => `c.${col.column} IS DISTINCT FROM ${value(key, col)}`).join(' OR ')})
         RETURNING c.id, s.line)
       INSERT INTO audit_log (actor_type, actor_id, shop_id, customer_id, action, changes)
       SELECT 'staff', ?, ?, changed.id, 'customer.import_updated', jsonb_build_object('importId', ?::bigint, 'line', changed.line) FROM changed`,
      [...range, batch.staffId, batch.shopId, batch.importId],
    );
  }
  await trx.raw(`UPDATE ${STAGE} s SET outcome = 'updated' WHERE ${IN_BATCH} AND s.reason IS NULL AND s.outcome IS NULL AND s.customer_id IS NOT NULL`, range);

  // Assignment to the chosen shop, created active when missing (an existing one keeps its status),
  // and tags from the file and the "add to all" tag (tags are only ever added). A customer created
  // by this batch has neither yet, so their rows are inserted plainly: ON CONFLICT's check costs
  // an index probe and a second write per row, and only existing customers need it. Each
  // assignment keeps copies of its customer's creation time, type and billing country: a customer
  // created by this transaction was created at now(), with the type and country it was inserted
  // with above, and an existing one's are looked up by the assignments' trigger. Tags keep the
  // creation time too (migration 46), an existing customer's read in the statement: the tags'
  // trigger would look it up once for each of the file's tags.
  for (const { outcome, onConflict, copies, created } of [
    { outcome: 'created', onConflict: '', copies: `now(), ${NEW_TYPE}, ${NEW_BILLING_COUNTRY}`, created: 'now()' },
    { outcome: 'updated', onConflict: 'ON CONFLICT DO NOTHING', copies: 'NULL::timestamptz, NULL, NULL', created: '(SELECT c.created_at FROM customers c WHERE c.id = s.customer_id)' },
  ]) {
    await trx.raw(
      `INSERT INTO customer_shops (customer_id, shop_id, status, customer_created_at, customer_type, billing_country)
       SELECT s.customer_id, ?, 'active', ${copies} FROM ${STAGE} s WHERE ${IN_BATCH} AND s.reason IS NULL AND s.outcome = ?
       ${onConflict}`,
      [batch.shopId, ...range, outcome],
    );
    // Lowercased as the tags trigger would, so that the "add to all" tag is not added twice when
    // the file has it too (the file's cell has no tag twice, see tidyCell).
    await trx.raw(
      `INSERT INTO customer_tags (customer_id, tag, customer_created_at)
       SELECT s.customer_id, t.tag, ${created} FROM ${STAGE} s
        CROSS JOIN LATERAL unnest(array_remove(string_to_array(lower(coalesce(s.tags, '') COLLATE "default"), ','), lower(?::text COLLATE "default"))
                                  || array_remove(ARRAY[lower(?::text COLLATE "default")], NULL)) AS t(tag)
        WHERE ${IN_BATCH} AND s.reason IS NULL AND s.outcome = ?
       ${onConflict}`,
      [batch.tag, batch.tag, ...range, outcome],
    );
  }

  if (batch.mapped.has('address_line1')) await mergeDefaultAddresses(trx, range);

  if (batch.mapped.has('purchase_limit')) await mergePurchaseLimits(trx, batch, range);

  // A note from the file is added once: the same text on the same customer (a re-import) is not repeated.
  if (batch.mapped.has('note')) {
    await trx.raw(
      `INSERT INTO customer_notes (customer_id, author_staff_id, author_name, body)
       SELECT s.customer_id, ?, ?, s.note FROM ${STAGE} s
        WHERE ${IN_BATCH} AND s.reason IS NULL AND s.note IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM customer_notes n WHERE n.customer_id = s.customer_id AND n.body = s.note)`,
      [batch.staffId, batch.staffName, ...range],
    );
  }

  await trx.raw(
    `INSERT INTO audit_log (actor_type, actor_id, shop_id, customer_id, action, changes)
     SELECT 'staff', ?, ?, s.customer_id, 'customer.imported', jsonb_build_object('importId', ?::bigint, 'line', s.line)
       FROM ${STAGE} s WHERE ${IN_BATCH} AND s.outcome = 'created'`,
    [batch.staffId, batch.shopId, batch.importId, ...range],
  );
}

/**
 * The row's purchase limit becomes the customer's limit in the import's shop (F-LIMIT-1): set, or
 * changed when it differs; the same limit again (a re-import) writes nothing. Each change is on
 * the customer's timeline.
 */
async function mergePurchaseLimits(trx: Knex.Transaction, batch: BatchContext, range: number[]): Promise<void> {
  await trx.raw(
    `WITH changed AS (
       INSERT INTO purchase_limits AS l (customer_id, shop_id, amount, start_date, end_date, period, created_by)
       SELECT s.customer_id, ?, s.purchase_limit::bigint, s.purchase_limit_start::date, s.purchase_limit_end::date, s.purchase_limit_period, ?
         FROM ${STAGE} s WHERE ${IN_BATCH} AND s.reason IS NULL AND s.purchase_limit IS NOT NULL
       ON CONFLICT (customer_id, shop_id) DO UPDATE
          SET amount = EXCLUDED.amount, start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date, period = EXCLUDED.period, updated_at = now()
        WHERE (l.amount, l.start_date, l.end_date, l.period) IS DISTINCT FROM (EXCLUDED.amount, EXCLUDED.start_date, EXCLUDED.end_date, EXCLUDED.period)
       RETURNING l.customer_id, l.amount, l.start_date, l.end_date, l.period)
     INSERT INTO audit_log (actor_type, actor_id, shop_id, customer_id, action, changes)
     SELECT 'staff', ?, ?, changed.customer_id, 'purchase_limit.imported',
            jsonb_build_object('importId', ?::bigint, 'amount', changed.amount, 'startDate', changed.start_date::text, 'endDate', changed.end_date::text,
                               'period', changed.period, 'currency', (SELECT currency FROM shops WHERE id = ?))
       FROM changed`,
    [batch.shopId, batch.staffId, ...range, batch.staffId, batch.shopId, batch.importId, batch.shopId],
  );
}

/**
 * The row's address becomes the customer's default billing address: the existing one is updated
 * (its street, city, region, postcode and country as one unit; name, company and phone only when
 * given), or a new one is added — also as default shipping address when there is none. A customer
 * created by this batch has no address yet, so theirs are not looked up.
 */
async function mergeDefaultAddresses(trx: Knex.Transaction, range: number[]): Promise<void> {
  const place: Array<[string, string]> = [
    ['line1', 't.address_line1'],
    ['line2', "coalesce(t.address_line2, '')"],
    ['city', 't.address_city'],
    ['region', "coalesce(t.address_region, '')"],
    ['postcode', "coalesce(t.address_postcode, '')"],
    ['country_code', 't.address_country'],
    ['first_name', 'coalesce(t.address_first_name, a.first_name)'],
    ['last_name', 'coalesce(t.address_last_name, a.last_name)'],
    ['company', 'coalesce(t.address_company, a.company)'],
    ['phone', 'coalesce(t.address_phone, a.phone)'],
  ];
  await trx.raw(
    `WITH target AS (
       SELECT s.*, c.first_name AS customer_first_name, c.last_name AS customer_last_name, c.company_name1 AS customer_company,
              CASE WHEN s.outcome = 'updated' THEN (SELECT a.id FROM addresses a WHERE a.customer_id = s.customer_id AND a.is_default_billing) END AS address_id
         FROM ${STAGE} s
         JOIN customers c ON c.id = s.customer_id
        WHERE ${IN_BATCH} AND s.reason IS NULL AND s.address_line1 IS NOT NULL),
     changed AS (
       UPDATE addresses a SET ${place.map(([column, value]) => `${column} = ${value}`).join(', ')}, updated_at = now()
         FROM target t
        WHERE a.id = t.address_id AND (${place.map(([column, value]) => `a.${column} IS DISTINCT FROM ${value}`).join(' OR ')})
       RETURNING a.id)
     INSERT INTO addresses (customer_id, first_name, last_name, company, line1, line2, city, region, postcode, country_code, phone, is_default_billing, is_default_shipping)
     SELECT t.customer_id, coalesce(t.address_first_name, t.customer_first_name), coalesce(t.address_last_name, t.customer_last_name),
            coalesce(t.address_company, t.customer_company), t.address_line1, coalesce(t.address_line2, ''), t.address_city,
            coalesce(t.address_region, ''), coalesce(t.address_postcode, ''), t.address_country, coalesce(t.address_phone, ''),
            true, t.outcome = 'created' OR NOT EXISTS (SELECT 1 FROM addresses x WHERE x.customer_id = t.customer_id AND x.is_default_shipping)
       FROM target t WHERE t.address_id IS NULL`,
    range,
  );
}

// --- finish ------------------------------------------------------------------------------------

async function finishRun(deps: ImportDeps, record: CustomerImport, mode: ImportRunMode): Promise<void> {
  const { knex, files } = deps;
  const importId = record.id;
  const counts = await knex.transaction(async (trx) => {
    const totals = (
      await trx.raw(
        mode === 'dry_run'
          ? `SELECT count(*) FILTER (WHERE reason IS NULL AND customer_id IS NULL)::int AS created,
                    count(*) FILTER (WHERE reason IS NULL AND customer_id IS NOT NULL)::int AS updated,
                    count(*) FILTER (WHERE reason IS NOT NULL)::int AS rejected, count(*)::int AS processed
               FROM ${STAGE} WHERE import_id = ?`
          : `SELECT count(*) FILTER (WHERE outcome = 'created')::int AS created, count(*) FILTER (WHERE outcome = 'updated')::int AS updated,
                    count(*) FILTER (WHERE reason IS NOT NULL)::int AS rejected, count(*)::int AS processed
               FROM ${STAGE} WHERE import_id = ?`,
        [importId],
      )
    ).rows[0] as { created: number; updated: number; rejected: number; processed: number };

    await trx('customerImportRejections').where({ importId }).delete();
    await trx.raw(
      `INSERT INTO customer_import_rejections (import_id, line, email, reason)
       SELECT import_id, line, coalesce(left(email, 300), ''), reason FROM ${STAGE} WHERE import_id = ? AND reason IS NOT NULL`,
      [importId],
    );
    const sample = await trx('customerImportRejections').where({ importId }).orderBy('line').limit(ERRORS_SAMPLE_SIZE).select('line', 'email', 'reason');
    await trx('customerImports')
      .where({ id: importId })
      .update({
        status: mode === 'dry_run' ? 'ready' : 'done',
        resultOf: mode,
        createdCount: totals.created,
        updatedCount: totals.updated,
        rejectedCount: totals.rejected,
        processedRows: totals.processed,
        errorsSample: JSON.stringify(sample),
        stagedRows: null,
        finishedAt: knex.fn.now(),
      });
    await trx(STAGE).where({ importId }).delete();
    return totals;
  });

  if (mode === 'import') {
    await recordAudit(knex, {
      actorType: 'staff',
      actorId: record.staffUserId,
      shopId: record.shopId,
      customerId: null,
      action: 'customers.imported',
      changes: { importId, file: record.originalName, created: counts.created, updated: counts.updated, rejected: counts.rejected, tag: record.options?.tag ?? null },
    });
    // The file has served its purpose; the report stays.
    await files.remove(record.storageKey);
    await refreshListStatistics(knex, counts.created + counts.updated, ['customers', 'customer_shops', 'customer_tags']);
  }
}
