import type { Knex } from 'knex';
import type { CustomerListQuery } from '../../schemas/customer-list.schema.js';
import { groupOptions } from '../../services/customer-group.service.js';
import { listFilterNames, listFilterOptions } from '../../services/customer-membership.service.js';

// The customer list's membership filters (F-LIST-2: group, segment, business account) and the
// group bulk actions' choices (F-LIST-5), kept out of customers.router.ts.

export interface MembershipNames {
  group?: string;
  segment?: string;
  business?: string;
}

/**
 * The names of the chosen group, segment and business account, for their chips. An id that names
 * nothing is dropped from the filters and reported as ignored, like any other unusable value.
 */
export async function resolveMembershipFilters(knex: Knex, query: CustomerListQuery): Promise<MembershipNames> {
  const f = query.filters;
  if (f.group === undefined && f.segment === undefined && f.business === undefined) return {};
  const found = await listFilterNames(knex, { group: f.group, segment: f.segment, business: f.business });
  const names: MembershipNames = {};
  for (const [key, label] of [['group', 'group'], ['segment', 'segment'], ['business', 'business account']] as const) {
    const name = found[key];
    if (name === null) {
      query.ignored.push(`${label} “${f[key]}” (there is no such ${label})`);
      f[key] = undefined;
    } else if (name !== undefined) names[key] = name;
  }
  return names;
}

/**
 * What the filter form and the bulk bar's group menu offer. Both are read for the full page only:
 * an htmx swap of the results keeps the menus the page already has (hx-preserve).
 */
export async function membershipChoices(knex: Knex, options: { fullPage: boolean }) {
  if (!options.fullPage) return { filters: null, staticGroups: null };
  const [filters, staticGroups] = await Promise.all([listFilterOptions(knex), groupOptions(knex, { staticOnly: true })]);
  return { filters, staticGroups };
}
