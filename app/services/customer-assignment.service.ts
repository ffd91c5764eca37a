import type { Knex } from 'knex';
import type { AssignmentStatus } from '../models/customer.model.js';
import { recordAudit } from './audit.service.js';
import { customerAccess, scopedShop, staffActor } from './customer-access.service.js';
import { shopUrl, type LinkBase } from './customer-account.service.js';
import { queueMail } from './outbox.service.js';
import { primaryHostname } from './shop.service.js';
import type { StaffPrincipal } from './staff.service.js';

export interface AssignmentChange {
  shopName: string;
  from: AssignmentStatus;
  to: AssignmentStatus;
  changed: boolean;
  /** The e-mail telling the customer, to hand to the mail queue after commit. */
  outboxId: number | null;
}

/**
 * F-CUST-2/F-DASH-9: enables (or approves) or disables the customer on one of the staff member's
 * shops. The customer is told by e-mail, written to the outbox in the same transaction; a
 * disabled customer's session on that shop ends on its next request (the login check reads the
 * assignment). Setting the status it already has changes nothing and sends nothing.
 */
export async function setAssignmentStatus(
  knex: Knex,
  staff: StaffPrincipal,
  customerId: number,
  shopId: number,
  to: 'active' | 'disabled',
  options: { links: LinkBase; requestId?: string },
): Promise<AssignmentChange> {
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId);
    const shop = scopedShop(access, shopId);
    const row = (await trx('customerShops').where({ customerId, shopId }).forUpdate().first('status')) as { status: AssignmentStatus };
    const from = row.status;
    if (from === to) return { shopName: shop.shopName, from, to, changed: false, outboxId: null };

    await trx('customerShops').where({ customerId, shopId }).update({ status: to, updatedAt: trx.fn.now() });
    const customer = (await trx('customers').where({ id: customerId }).first('email', 'firstName', 'lastName')) as { email: string; firstName: string; lastName: string };
    const hostname = await primaryHostname(trx, shopId);
    const template = to === 'disabled' ? 'assignment-disabled' : 'assignment-activated';
    const outboxId = await queueMail(trx, {
      shopId,
      customerId,
      to: customer.email,
      template,
      data: { firstName: customer.firstName || customer.lastName || 'there', shopName: shop.shopName, wasPending: from === 'pending_approval', loginUrl: shopUrl({ hostname }, '/account/login', options.links) },
    });
    await recordAudit(trx, {
      ...staffActor(access, options.requestId),
      shopId,
      action: 'assignment.status_changed',
      changes: { shop: shop.shopName, fields: { [`status in ${shop.shopName}`]: { from, to } }, mailed: { template, outboxId } },
    });
    return { shopName: shop.shopName, from, to, changed: true, outboxId };
  });
}
