import type { Knex } from 'knex';
import { refreshListStatistics } from '../db/list-statistics.js';
import { parseCustomerListQuery, type CustomerFilters } from '../schemas/customer-list.schema.js';
import { readRule, type GroupRule } from '../schemas/customer-group.schema.js';
import { customerListFilter } from './customer-list-filter.js';

// Dynamic groups (F-GRP-2): membership is what the rule matches, recomputed by the `groups` queue
// when a group is saved and nightly. The rule is evaluated by the customer list's own filter SQL
// (customerListFilter over all shops, platform-wide order figures), so "tag friend AND more than 5
// orders" here means exactly what the same filters show in the list, total spent in a currency too
// (what was spent in the shops of it) for a merchant whose shops sell in several.

/** Customers per statement: keeps each statement's work and memory bounded at a million customers. */
export const RECOMPUTE_CHUNK = 50_000;

/** A rule as the list's filters. */
export function ruleFilters(rule: GroupRule): CustomerFilters {
  return {
    ...parseCustomerListQuery({}).filters,
    tag: rule.tags,
    tagMode: rule.tagMode,
    country: rule.country,
    type: rule.type,
    ordersMin: rule.ordersMin,
    ordersMax: rule.ordersMax,
    spentMin: rule.spentMin,
    spentMax: rule.spentMax,
    spentCurrency: rule.spentCurrency,
    createdFrom: rule.createdFrom,
    createdTo: rule.createdTo,
  };
}

export interface RecomputeResult {
  added: number;
  removed: number;
}

/**
 * Brings a dynamic group's members in line with its rule: inserts the missing and deletes the stale
 * ones, set-based, per range of customer ids, all in one transaction (readers see the old or the
 * new membership, never half of it). The group row is locked, so two recomputes of one group run
 * one after the other; running it twice changes nothing the second time (idempotent).
 * Returns null for a group that no longer exists or is not dynamic.
 */
export async function recomputeDynamicGroup(knex: Knex, groupId: number, options: { chunk?: number } = {}): Promise<RecomputeResult | null> {
  const chunk = options.chunk ?? RECOMPUTE_CHUNK;
  const result = await knex.transaction(async (trx): Promise<RecomputeResult | null> => {
    const group = (await trx('customerGroups').where({ id: groupId }).forUpdate().first('id', 'kind', 'rule')) as { id: number; kind: string; rule: unknown } | undefined;
    if (!group || group.kind !== 'dynamic') return null;
    const filters = ruleFilters(readRule(group.rule));
    const bounds = (await trx('customers').max({ max: 'id' }).first()) as { max: string | number | null };
    const members = (await trx('customerGroupMembers').where({ groupId }).max({ max: 'customerId' }).first()) as { max: string | number | null };
    const last = Math.max(Number(bounds.max ?? 0), Number(members.max ?? 0));
    const total: RecomputeResult = { added: 0, removed: 0 };
    for (let from = 0; from < last; from += chunk) {
      const to = from + chunk;
      // An erased customer (F-CUST-9) matches no rule: a rule on type or figures would add them back.
      const matching = customerListFilter(trx, { kind: 'all' }, { q: '', filters }, null).whereNull('c.erased_at').where('c.id', '>', from).andWhere('c.id', '<=', to).select('c.id');
      const { sql, bindings } = matching.toSQL();
      const result = await trx.raw(
        `WITH matching AS (${sql}),
              added AS (INSERT INTO customer_group_members (group_id, customer_id, source) SELECT ?, id, 'rule' FROM matching
                        ON CONFLICT (group_id, customer_id) DO NOTHING RETURNING 1),
              removed AS (DELETE FROM customer_group_members m WHERE m.group_id = ? AND m.customer_id > ? AND m.customer_id <= ?
                          AND NOT EXISTS (SELECT 1 FROM matching WHERE matching.id = m.customer_id) RETURNING 1)
         SELECT (SELECT count(*) FROM added)::int AS added, (SELECT count(*) FROM removed)::int AS removed`,
        [...bindings, groupId, groupId, from, to] as Knex.RawBinding[],
      );
      total.added += result.rows[0].added as number;
      total.removed += result.rows[0].removed as number;
    }
    await trx('customerGroups').where({ id: groupId }).update({ recomputedAt: trx.raw('clock_timestamp()') });
    return total;
  });
  if (result) await refreshListStatistics(knex, result.added + result.removed, ['customer_group_members', 'segment_members']);
  return result;
}

export async function dynamicGroupIds(knex: Knex): Promise<number[]> {
  return ((await knex('customerGroups').where('kind', 'dynamic').orderBy('id').select('id')) as Array<{ id: number }>).map((r) => r.id);
}

/**
 * Dynamic groups whose rule changed after their last recompute (or that never ran) for longer than
 * a grace period: their job was never added (queue down) or was lost. The worker's sweep runs them.
 */
export async function staleDynamicGroupIds(knex: Knex, graceSeconds: number): Promise<number[]> {
  const rows = (await knex('customerGroups')
    .where('kind', 'dynamic')
    .andWhere((q) => q.whereNull('recomputedAt').orWhereRaw('recomputed_at < updated_at'))
    .andWhere('updatedAt', '<', knex.raw('now() - make_interval(secs => ?)', [graceSeconds]))
    .orderBy('id')
    .limit(100)
    .select('id')) as Array<{ id: number }>;
  return rows.map((r) => r.id);
}
