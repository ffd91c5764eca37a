import type { Knex } from 'knex';
import { insertOnce, strandedQueuedIds } from '../db/job-records.js';
import { refreshListStatistics, type ListTable } from '../db/list-statistics.js';
import { forEachConcurrently } from '../lib/concurrency.js';
import { NotFoundError, ValidationError } from '../lib/errors.js';
import type { ShopScope } from '../models/staff-user.model.js';
import type { CustomerFilters } from '../schemas/customer-list.schema.js';
import { recordAudit } from './audit.service.js';
import { customerListFilter, type ListSource } from './customer-list-filter.js';
import type { LinkBase } from './customer-account.service.js';
import { disableAssignmentsChunk } from './customer-assignment.service.js';
import { inviteChunk } from './invitation.service.js';
import { groupBulkParams, isGroupBulkAction, runGroupChunk } from './bulk-group-action.service.js';

export const bulkActions = ['add_tag', 'remove_tag', 'disable_on_shop', 'delete', 'invite', 'add_to_group', 'remove_from_group'] as const;
export type BulkAction = (typeof bulkActions)[number];

export interface BulkSelection {
  source: ListSource;
  q: string;
  filters: CustomerFilters;
  /** The ticked rows; absent means "all matching the filter". */
  ids?: number[];
  scope: ShopScope;
  salesTeamId: number | null;
}

export interface BulkOperation {
  id: number;
  action: BulkAction;
  params: { tag?: string; groupId?: number; groupName?: string };
  selection: BulkSelection;
  status: 'queued' | 'running' | 'done' | 'failed';
  processed: number;
  changed: number;
  skipped: number;
  skippedExamples: Array<{ id: number; reason: string }>;
  /** The first and last id of each chunk done: chunks finish out of order, and a retry skips these. */
  doneRanges: Array<[number, number]>;
  error: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

/** What a run needs from the process's configuration: the base of links in e-mails (bulk invitations). */
export interface BulkRunOptions {
  links?: LinkBase;
  /** Chunks running at once (default LANES). */
  lanes?: number;
}

export const MAX_SELECTED_IDS = 1_000;
const CHUNK = 10_000;
/**
 * Two chunks at a time, each in its own transaction on its own connection: PostgreSQL spends one
 * core per statement, most of it on index entries and foreign-key checks. Chunks hold different
 * customers, so they do not wait for each other.
 */
const LANES = 2;
/** What each action writes that the customer list filters on. */
const WRITES: Record<BulkAction, ListTable[]> = {
  add_tag: ['customer_tags'],
  remove_tag: ['customer_tags'],
  disable_on_shop: ['customer_shops'],
  invite: ['customers'],
  delete: ['customers', 'customer_shops', 'customer_tags', 'customer_group_members', 'segment_members'],
  add_to_group: ['customer_group_members', 'segment_members'],
  remove_from_group: ['customer_group_members', 'segment_members'],
};
/** Skipped customers named on the result page; the count covers the rest. */
const MAX_SKIPPED_EXAMPLES = 20;

/**
 * Records a bulk action (F-LIST-5) once per idempotency key: submitting the same form twice
 * returns the first operation instead of starting a second one.
 */
export async function createBulkOperation(
  knex: Knex,
  staffId: number,
  input: { key: string; action: BulkAction; tag?: string; groupId?: number; selection: BulkSelection },
): Promise<{ id: number; created: boolean }> {
  checkBulkInput(input);
  const groupParams = await groupBulkParams(knex, input.action, input.groupId);
  return insertOnce(
    knex,
    'bulkOperations',
    { staffUserId: staffId, idempotencyKey: input.key },
    { action: input.action, params: JSON.stringify({ ...(input.tag ? { tag: input.tag } : {}), ...groupParams }), selection: JSON.stringify(input.selection) },
  );
}

/** The checks of a bulk action's form that need no database (a ValidationError names the field). */
export function checkBulkInput(input: { action: BulkAction; tag?: string; selection: Pick<BulkSelection, 'source' | 'ids'> }): void {
  if ((input.action === 'add_tag' || input.action === 'remove_tag') && !input.tag) throw new ValidationError({ tag: 'Enter the tag to add or remove.' });
  if (input.action === 'disable_on_shop' && input.selection.source.kind !== 'shop') throw new ValidationError({ action: 'Choose a shop first: customers are disabled on one shop at a time.' });
  if (input.action === 'invite' && input.selection.source.kind !== 'shop') throw new ValidationError({ action: 'Choose a shop first: invitations are sent for one shop at a time.' });
  if (input.selection.ids && (input.selection.ids.length === 0 || input.selection.ids.length > MAX_SELECTED_IDS)) {
    throw new ValidationError({ ids: `Tick between 1 and ${MAX_SELECTED_IDS} customers, or choose all matching the filter.` });
  }
}

export async function getBulkOperation(knex: Knex, staffId: number, operationId: number): Promise<BulkOperation> {
  const operation = await knex('bulkOperations').where({ id: operationId, staffUserId: staffId }).first();
  if (!operation) throw new NotFoundError('We could not find that bulk action.');
  return operation as BulkOperation;
}

/**
 * Runs an operation to the end in chunks of customer ids, each chunk one set-based statement in
 * its own transaction, LANES chunks at a time. Each chunk records its progress and its id range in
 * the same transaction, so a retried job skips exactly the chunks that committed; every action is
 * idempotent, so a chunk that ran twice changes nothing more.
 *
 * The matching ids are read once, up front, in one query the planner may answer from whichever
 * index suits the filter. Reading each chunk as "the next 10,000 matching ids" instead walks the
 * primary key through every customer, matching or not: to find 100,000 of a million customers it
 * read all million. Each chunk still applies the filter to its ids, so a customer who stopped
 * matching meanwhile is left alone.
 */
export async function runBulkOperation(knex: Knex, operationId: number, onProgress?: (processed: number) => Promise<void>, options: BulkRunOptions = {}): Promise<void> {
  const operation = (await knex('bulkOperations').where({ id: operationId }).first()) as BulkOperation | undefined;
  if (!operation || operation.status === 'done') return;
  await knex('bulkOperations').where({ id: operationId }).update({ status: 'running', error: null });

  const pending = notDone(await matchingIds(knex, operation), operation.doneRanges);
  const chunks = Array.from({ length: Math.ceil(pending.length / CHUNK) }, (_, i) => pending.slice(i * CHUNK, (i + 1) * CHUNK));
  let changed = operation.changed;
  await forEachConcurrently(chunks, options.lanes ?? LANES, async (ids) => {
    const result = await knex.transaction(async (trx) => {
      const chunk = await runChunk(trx, operation, ids, options);
      // Counted in SQL: the other lane's chunk may have committed since this run read the operation.
      await trx('bulkOperations')
        .where({ id: operationId })
        .update({
          processed: trx.raw('processed + ?', [chunk.seen]),
          changed: trx.raw('changed + ?', [chunk.changed]),
          skipped: trx.raw('skipped + ?', [chunk.skipped]),
          skippedExamples: trx.raw(
            `(SELECT coalesce(jsonb_agg(x.e ORDER BY x.n), '[]') FROM jsonb_array_elements(skipped_examples || ?::jsonb) WITH ORDINALITY AS x(e, n) WHERE x.n <= ${MAX_SKIPPED_EXAMPLES})`,
            [JSON.stringify(chunk.skippedExamples)],
          ),
          doneRanges: trx.raw('done_ranges || jsonb_build_array(jsonb_build_array(?::bigint, ?::bigint))', [ids[0]!, ids.at(-1)!]),
        });
      return chunk;
    });
    changed += result.changed;
    await onProgress?.(result.seen);
  });
  // Before "done": the list the staff member goes back to is then planned with the new sizes.
  await refreshListStatistics(knex, changed, WRITES[operation.action]);

  const done = await knex('bulkOperations').where({ id: operationId }).update({ status: 'done', finishedAt: knex.fn.now() }).returning(['processed', 'changed', 'skipped']);
  await recordAudit(knex, {
    actorType: 'staff',
    actorId: (await knex('bulkOperations').where({ id: operationId }).first('staffUserId')).staffUserId,
    shopId: operation.selection.source.kind === 'shop' ? operation.selection.source.shopId : null,
    customerId: null,
    action: `customers.bulk.${operation.action}`,
    changes: { operationId, ...operation.params, ...done[0] },
  });
}

/** Operations still 'queued' after a grace period: their job was never added (queue down) or lost. */
export async function findStrandedBulkOperationIds(knex: Knex, graceSeconds: number): Promise<number[]> {
  return strandedQueuedIds(knex, 'bulkOperations', graceSeconds);
}

export async function markBulkOperationFailed(knex: Knex, operationId: number, error: string): Promise<void> {
  await knex('bulkOperations').where({ id: operationId }).whereNot('status', 'done').update({ status: 'failed', error: error.slice(0, 500) });
}

interface ChunkResult {
  seen: number;
  changed: number;
  skipped: number;
  skippedExamples: Array<{ id: number; reason: string }>;
}

/** The customers an operation acts on: its filter, in the staff member's scope, or the ticked ones among them. */
function selected(db: Knex | Knex.Transaction, operation: BulkOperation): Knex.QueryBuilder {
  const selection = operation.selection;
  const customers = customerListFilter(db, selection.source, selection, selection.salesTeamId).select('c.id');
  // Erased customers (F-CUST-9) take no changes; only deleting their record (orders permitting) applies.
  // An anti-join with the few erased ones (their partial index) rather than a test of every row: a
  // filter the indexes answer (created, orders, spent, tags, groups) then reads no table rows.
  if (operation.action !== 'delete') customers.whereRaw('NOT EXISTS (SELECT 1 FROM customers e WHERE e.id = c.id AND e.erased_at IS NOT NULL)');
  if (selection.ids) customers.whereIn('c.id', selection.ids);
  return customers;
}

/** The ids the operation selects, in order, as one array (a row per id would cost more to receive than to find). */
async function matchingIds(knex: Knex, operation: BulkOperation): Promise<number[]> {
  const [row] = (await knex.queryBuilder().from(selected(knex, operation).as('m')).select(knex.raw('array_agg(m.id ORDER BY m.id) AS ids'))) as Array<{ ids: Array<string | number> | null }>;
  return (row?.ids ?? []).map(Number);
}

/** The ids (in order) outside every range of a chunk already done. */
function notDone(ids: number[], doneRanges: Array<[number, number]>): number[] {
  const ranges = doneRanges.map(([first, last]) => [Number(first), Number(last)] as const).sort((a, b) => a[0] - b[0]);
  let r = 0;
  return ids.filter((id) => {
    while (r < ranges.length && ranges[r]![1] < id) r++;
    return !(r < ranges.length && ranges[r]![0] <= id);
  });
}

async function runChunk(trx: Knex.Transaction, operation: BulkOperation, ids: number[], options: BulkRunOptions = {}): Promise<ChunkResult> {
  const selection = operation.selection;
  const chunk = selected(trx, operation).whereRaw('c.id = ANY(?::bigint[])', [ids]).orderBy('c.id');
  if (operation.action === 'add_tag') chunk.select('c.created_at');
  const { sql, bindings } = chunk.toSQL();
  // F-LIFE-2: tokens are minted per customer in the worker, so this one is not a single statement.
  if (operation.action === 'invite') {
    if (selection.source.kind !== 'shop' || !options.links) throw new Error('A bulk invitation needs a shop and the link base.');
    const staffUserId = (operation as BulkOperation & { staffUserId: number }).staffUserId;
    return inviteChunk(trx, { sql, bindings, operationId: operation.id, staffUserId, shopId: selection.source.shopId, scope: selection.scope, links: options.links });
  }
  if (isGroupBulkAction(operation.action)) return runGroupChunk(trx, operation as BulkOperation & { staffUserId: number }, sql, bindings);
  if (operation.action === 'disable_on_shop') {
    if (selection.source.kind !== 'shop' || !options.links) throw new Error('Disabling on a shop needs the shop and the link base.');
    const staffUserId = (operation as BulkOperation & { staffUserId: number }).staffUserId;
    const { seen, changed } = await disableAssignmentsChunk(trx, { chunkSql: sql, bindings, operationId: operation.id, staffUserId, shopId: selection.source.shopId, links: options.links });
    return { seen, changed, skipped: 0, skippedExamples: [] };
  }
  const summary = `SELECT (SELECT count(*) FROM chunk)::int AS seen, (SELECT count(*) FROM done)::int AS changed`;

  if (operation.action === 'delete') {
    // Never deleted: customers with orders (offer disabling instead) and customers who are also
    // in shops this staff member does not manage.
    const outside = selection.scope === 'all' ? 'false' : 'EXISTS (SELECT 1 FROM customer_shops x WHERE x.customer_id = chunk.id AND NOT (x.shop_id = ANY(?::bigint[])))';
    const result = await trx.raw(
      `WITH chunk AS (${sql}),
            checked AS (SELECT chunk.id, CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = chunk.id) THEN 'has orders'
                                               WHEN ${outside} THEN 'also in a shop you do not manage' END AS reason FROM chunk),
            done AS (DELETE FROM customers c USING checked WHERE c.id = checked.id AND checked.reason IS NULL RETURNING 1)
       ${summary}, (SELECT count(*) FROM checked WHERE reason IS NOT NULL)::int AS skipped,
       (SELECT coalesce(json_agg(json_build_object('id', id, 'reason', reason)), '[]') FROM (SELECT id, reason FROM checked WHERE reason IS NOT NULL ORDER BY id LIMIT 20) s) AS examples`,
      [...bindings, ...(selection.scope === 'all' ? [] : [selection.scope])] as Knex.RawBinding[],
    );
    const row = result.rows[0];
    return { seen: row.seen, changed: row.changed, skipped: row.skipped, skippedExamples: row.examples };
  }

  const statement: Record<Exclude<BulkAction, 'delete' | 'invite' | 'disable_on_shop' | 'add_to_group' | 'remove_from_group'>, { sql: string; bindings: Knex.RawBinding[] }> = {
    // The tag's copy of the customer's creation time (migration 46) from the chunk's rows, not a trigger's look-up per row.
    add_tag: { sql: 'INSERT INTO customer_tags (customer_id, tag, customer_created_at) SELECT id, ?, created_at FROM chunk ON CONFLICT DO NOTHING RETURNING 1', bindings: [operation.params.tag ?? ''] },
    remove_tag: { sql: 'DELETE FROM customer_tags t USING chunk WHERE t.customer_id = chunk.id AND t.tag = ? RETURNING 1', bindings: [operation.params.tag ?? ''] },
  };
  const action = statement[operation.action];
  const result = await trx.raw(`WITH chunk AS (${sql}), done AS (${action.sql}) ${summary}`, [...bindings, ...action.bindings] as Knex.RawBinding[]);
  const row = result.rows[0];
  return { seen: row.seen, changed: row.changed, skipped: 0, skippedExamples: [] };
}
