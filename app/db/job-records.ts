import type { Knex } from 'knex';

// Rows that stand for a background job (bulk operations, customer exports): written once per
// submitted form, then found again by the workers' sweep when their job never reached the queue.

/**
 * Inserts `row` into `table` once per `key` (the columns of a unique constraint, e.g. the staff
 * member and the form's idempotency key): a second call with the same key inserts nothing and
 * answers the id of the row that is already there, so a form submitted twice acts once.
 */
export async function insertOnce(knex: Knex, table: string, key: Record<string, unknown>, row: Record<string, unknown>): Promise<{ id: number; created: boolean }> {
  const inserted = await knex(table)
    .insert({ ...row, ...key })
    .onConflict(Object.keys(key))
    .ignore()
    .returning('id');
  if (inserted[0]) return { id: inserted[0].id as number, created: true };
  const existing = await knex(table).where(key).first('id');
  return { id: existing.id as number, created: false };
}

/** Ids of rows still 'queued' after a grace period (their job was never added, or lost), oldest first, at most 100. */
export async function strandedQueuedIds(knex: Knex, table: string, graceSeconds: number): Promise<number[]> {
  const rows = await knex(table)
    .where('status', 'queued')
    .andWhere('createdAt', '<', knex.raw('now() - make_interval(secs => ?)', [graceSeconds]))
    .orderBy('id')
    .limit(100)
    .select('id');
  return rows.map((row: { id: number }) => row.id);
}
