import type { Knex } from 'knex';
import type { CustomerAccess } from './customer-access.service.js';
import { customerPriceGroups, mayAssignPriceGroups } from './price-group.service.js';

// F-DASH-6: the price groups widget — the customer's 4 highest-priority groups (their own and
// those inherited through the business account). Registered in customer-dashboard.service.ts.

export const PRICE_GROUPS_SHOWN = 4;

export async function loadPriceGroupsWidget(knex: Knex, access: CustomerAccess) {
  const groups = await customerPriceGroups(knex, access.customerId);
  return { groups: groups.slice(0, PRICE_GROUPS_SHOWN), count: groups.length, mayAssign: mayAssignPriceGroups(access.staff) };
}
