import type { Knex } from 'knex';
import { ForbiddenError } from '../../lib/errors.js';
import type { CustomerAccess } from '../customer-access.service.js';
import type { StaffPrincipal } from '../staff.service.js';

// Who may export or erase a customer's personal data (F-CUST-9): owners and managers, and only
// for a customer all of whose shops they see — an export must be complete, and an erasure
// changes the customer in every shop.

export const GDPR_ROLES_ONLY = 'Only owners and managers may export or erase a customer’s personal data.';
export const GDPR_OUTSIDE_SCOPE = 'This customer also belongs to shops outside your scope. Only staff who see all of the customer’s shops may export or erase their data.';

export function mayHandlePersonalData(staff: StaffPrincipal): boolean {
  return staff.role === 'owner' || staff.role === 'manager';
}

/** Why this staff member may not export or erase this customer, or null when they may. */
export async function personalDataRefusal(db: Knex | Knex.Transaction, access: CustomerAccess): Promise<string | null> {
  if (!mayHandlePersonalData(access.staff)) return GDPR_ROLES_ONLY;
  if (access.staff.scope === 'all') return null;
  const outside = await db('customerShops').where({ customerId: access.customerId }).whereNotIn('shopId', access.shopIds).first('shopId');
  return outside ? GDPR_OUTSIDE_SCOPE : null;
}

/** The scope-checked access (404 before this) turned into a 403 with the reason, when refused. */
export async function assertMayHandlePersonalData(db: Knex | Knex.Transaction, access: CustomerAccess): Promise<void> {
  const refusal = await personalDataRefusal(db, access);
  if (refusal) throw new ForbiddenError(refusal);
}

/** How an erased customer is named wherever a name would be shown. */
export function erasedCustomerName(customerId: number): string {
  return `Erased customer #${customerId}`;
}
