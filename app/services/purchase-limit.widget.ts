import type { Knex } from 'knex';
import type { CustomerAccess } from './customer-access.service.js';
import { registerWidget } from './dashboard-widgets.js';
import { mayManagePurchaseLimits, purchaseLimitsFor } from './purchase-limit.service.js';

// F-LIMIT-1 / F-DASH-11: the purchase limit widget — per shop of the customer (in the staff
// member's scope) the limit, its current window, spent and remaining. Imported by
// customer-purchase-limit.router.ts.

export async function loadPurchaseLimitWidget(knex: Knex, access: CustomerAccess) {
  return { rows: await purchaseLimitsFor(knex, access), mayManage: mayManagePurchaseLimits(access.staff) };
}

registerWidget({ name: 'purchaseLimit', template: 'partials/admin/dashboard/purchase-limit', column: 'side', order: 80, load: loadPurchaseLimitWidget });
