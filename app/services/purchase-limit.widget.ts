import type { Knex } from 'knex';
import type { CustomerAccess } from './customer-access.service.js';
import { mayManagePurchaseLimits, purchaseLimitsFor } from './purchase-limit.service.js';

// F-LIMIT-1 / F-DASH-11: the purchase limit widget — per shop of the customer (in the staff
// member's scope) the limit, its current window, spent and remaining. Registered in
// customer-dashboard.service.ts.

export async function loadPurchaseLimitWidget(knex: Knex, access: CustomerAccess) {
  return { rows: await purchaseLimitsFor(knex, access), mayManage: mayManagePurchaseLimits(access.staff) };
}
