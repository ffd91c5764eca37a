import type { Knex } from 'knex';
import type { AssignmentStatus } from '../models/customer.model.js';
import { recordAudit } from './audit.service.js';
import { customerAccess, scopedShop, staffActor } from './customer-access.service.js';
import { shopUrl, type LinkBase } from './customer-account.service.js';
import { queueBulkOperationMail, queueMail } from './outbox.service.js';
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
      data: assignmentMailData(customer, shop.shopName, from, shopUrl({ hostname }, '/account/login', options.links)),
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

const DISABLED_TEMPLATE = 'assignment-disabled';

function assignmentMailData(customer: { firstName: string; lastName: string }, shopName: string, from: AssignmentStatus, loginUrl: string) {
  return { firstName: customer.firstName || customer.lastName || 'there', shopName, wasPending: from === 'pending_approval', loginUrl };
}

/**
 * One chunk of the bulk action "Disable on this shop" (F-LIST-5): the chunk's customers (`chunkSql`,
 * scope applied) whose assignment to the shop is not disabled yet are disabled, each told by e-mail
 * (F-CUST-2; written to the outbox under the operation, which the worker hands to the mail queue)
 * and with the change on their timeline, as when it is done on the dashboard.
 */
export async function disableAssignmentsChunk(
  trx: Knex.Transaction,
  input: { chunkSql: string; bindings: readonly unknown[]; operationId: number; staffUserId: number; shopId: number; links: LinkBase },
): Promise<{ seen: number; changed: number }> {
  // Locked first, as on the dashboard: the status read is the one changed from, also when another
  // change of the same assignment committed while this waited for it.
  const result = await trx.raw(
    `WITH chunk AS (${input.chunkSql}),
          locked AS (SELECT cs.customer_id, cs.status FROM customer_shops cs JOIN chunk ON chunk.id = cs.customer_id
                      WHERE cs.shop_id = ? AND cs.status <> 'disabled' FOR UPDATE OF cs)
     SELECT (SELECT count(*) FROM chunk)::int AS seen,
            coalesce((SELECT json_agg(json_build_object('id', c.id, 'email', c.email, 'firstName', c.first_name, 'lastName', c.last_name, 'was', locked.status) ORDER BY c.id)
                        FROM locked JOIN customers c ON c.id = locked.customer_id), '[]') AS changed`,
    [...input.bindings, input.shopId] as Knex.RawBinding[],
  );
  const { seen, changed } = result.rows[0] as { seen: number; changed: Array<{ id: number; email: string; firstName: string; lastName: string; was: AssignmentStatus }> };
  if (!changed.length) return { seen, changed: 0 };
  const ids = changed.map((customer) => customer.id);
  await trx.raw(`UPDATE customer_shops SET status = 'disabled', updated_at = now() WHERE shop_id = ? AND customer_id = ANY(?::bigint[])`, [input.shopId, ids]);

  const shop = (await trx('shops').where({ id: input.shopId }).first('name')) as { name: string };
  const loginUrl = shopUrl({ hostname: await primaryHostname(trx, input.shopId) }, '/account/login', input.links);
  const outbox = await queueBulkOperationMail(trx, {
    operationId: input.operationId,
    shopId: input.shopId,
    template: DISABLED_TEMPLATE,
    mails: changed.map((customer) => ({ customerId: customer.id, to: customer.email, data: assignmentMailData(customer, shop.name, customer.was, loginUrl) })),
  });
  await trx.raw(
    `INSERT INTO audit_log (actor_type, actor_id, shop_id, customer_id, action, changes)
     SELECT 'staff', ?, ?, w.customer_id, 'assignment.status_changed',
            jsonb_build_object('shop', ?::text, 'fields', jsonb_build_object(?::text, jsonb_build_object('from', w.was, 'to', 'disabled')),
                               'mailed', jsonb_build_object('template', ?::text, 'outboxId', w.outbox_id), 'bulkOperationId', ?::bigint)
       FROM unnest(?::bigint[], ?::text[], ?::bigint[]) AS w(customer_id, was, outbox_id)`,
    [input.staffUserId, input.shopId, shop.name, `status in ${shop.name}`, DISABLED_TEMPLATE, input.operationId, ids, changed.map((c) => c.was), ids.map((id) => outbox.get(id)!)],
  );
  return { seen, changed: changed.length };
}
