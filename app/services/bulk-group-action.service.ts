import type { Knex } from 'knex';
import { ValidationError } from '../lib/errors.js';

// The customer list's group bulk actions (F-LIST-5 "add to group", "remove from group"; F-GRP-6
// from the list selection or a filter). Only static groups: a dynamic group's members follow its
// rule. Run by bulk-action.service.ts per chunk like the tag actions: one set-based statement with
// the staff member's scope already applied to the chunk, idempotent (ON CONFLICT DO NOTHING /
// DELETE of what is there), one timeline entry per customer changed.

export const groupBulkActions = ['add_to_group', 'remove_from_group'] as const;
export type GroupBulkAction = (typeof groupBulkActions)[number];

export function isGroupBulkAction(action: string): action is GroupBulkAction {
  return (groupBulkActions as readonly string[]).includes(action);
}

/** The parameters a group bulk action keeps: the group's id, and its name for the progress page. */
export async function groupBulkParams(knex: Knex, action: string, groupId: number | undefined): Promise<{ groupId?: number; groupName?: string }> {
  if (!isGroupBulkAction(action)) return {};
  if (groupId === undefined) throw new ValidationError({ groupId: 'Choose the group to add to or remove from.' });
  const group = (await knex('customerGroups').where({ id: groupId }).first('id', 'name', 'kind')) as { id: number; name: string; kind: string } | undefined;
  if (!group) throw new ValidationError({ groupId: 'Choose the group to add to or remove from.' });
  if (group.kind !== 'static') throw new ValidationError({ groupId: `“${group.name}” is a dynamic group: its members follow its rule.` });
  return { groupId: group.id, groupName: group.name };
}

/** One chunk (`chunkSql`: the selection's next customer ids, scope applied) of a group bulk action. */
export async function runGroupChunk(
  trx: Knex.Transaction,
  operation: { id: number; action: string; params: { groupId?: number }; staffUserId?: number },
  chunkSql: string,
  chunkBindings: readonly unknown[],
) {
  const adding = operation.action === 'add_to_group';
  const done = adding
    ? `INSERT INTO customer_group_members (group_id, customer_id, source, added_by) SELECT grp.id, chunk.id, 'manual', ? FROM chunk CROSS JOIN grp ON CONFLICT DO NOTHING RETURNING customer_id`
    : `DELETE FROM customer_group_members m USING chunk, grp WHERE m.group_id = grp.id AND m.customer_id = chunk.id RETURNING m.customer_id`;
  const result = await trx.raw(
    `WITH chunk AS (${chunkSql}),
          grp AS (SELECT id, name FROM customer_groups WHERE id = ? AND kind = 'static'),
          done AS (${done}),
          audit AS (INSERT INTO audit_log (actor_type, actor_id, customer_id, action, changes)
                    SELECT 'staff', ?, done.customer_id, ?, jsonb_build_object('group', grp.name, 'groupId', grp.id, 'via', 'bulk action', 'operationId', ?::bigint)
                      FROM done CROSS JOIN grp RETURNING 1)
     SELECT (SELECT count(*) FROM chunk)::int AS seen, (SELECT count(*) FROM done)::int AS changed, (SELECT count(*) FROM audit)::int AS audited`,
    [
      ...chunkBindings,
      operation.params.groupId ?? 0,
      ...(adding ? [operation.staffUserId ?? null] : []),
      operation.staffUserId ?? null,
      adding ? 'group.member_added' : 'group.member_removed',
      operation.id,
    ] as Knex.RawBinding[],
  );
  const row = result.rows[0] as { seen: number; changed: number };
  return { seen: row.seen, changed: row.changed, skipped: 0, skippedExamples: [] as Array<{ id: number; reason: string }> };
}
