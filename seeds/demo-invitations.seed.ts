import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * Demo invitations (F-LIFE-2): two open invitations and one that expired, for invited customers
 * of the north shop. Tokens are random and thrown away (only their hash is stored, as in the app):
 * a demo link cannot be printed usefully; use "Resend invitation" on the dashboard and read the
 * link in the Outbox instead.
 */
export async function seedDemoInvitations(trx: Knex.Transaction): Promise<void> {
  const north = (await trx('shops').where({ code: 'north' }).first('id', 'name')) as { id: number; name: string } | undefined;
  const owner = (await trx('staffUsers').where({ role: 'owner' }).orderBy('id').first('id')) as { id: number } | undefined;
  if (!north) return;
  const invited = (await trx('customers')
    .join('customerShops', 'customerShops.customerId', 'customers.id')
    .where({ 'customers.state': 'invited', 'customerShops.shopId': north.id })
    .whereNot('customerShops.status', 'disabled')
    .orderBy('customers.id')
    .limit(3)
    .select('customers.id')) as Array<{ id: number }>;

  const hash = () => createHash('sha256').update(randomBytes(32).toString('base64url')).digest('hex');
  for (const [i, customer] of invited.entries()) {
    const expired = i === 2;
    await trx('customerInvitations').insert({
      customerId: customer.id,
      shopId: north.id,
      tokenHash: hash(),
      createdByStaffId: owner?.id ?? null,
      status: expired ? 'expired' : 'open',
      createdAt: trx.raw(expired ? "now() - interval '3 days'" : "now() - interval '2 hours'"),
      expiresAt: trx.raw(expired ? "now() - interval '2 days'" : "now() + interval '22 hours'"),
      closedAt: expired ? trx.raw("now() - interval '2 days'") : null,
    });
    await trx('auditLog').insert({
      actorType: owner ? 'staff' : 'system',
      actorId: owner?.id ?? null,
      shopId: north.id,
      customerId: customer.id,
      action: 'invitation.sent',
      changes: JSON.stringify({ shop: north.name, resent: false, validHours: 24, fields: {} }),
      occurredAt: trx.raw(expired ? "now() - interval '3 days'" : "now() - interval '2 hours'"),
    });
    if (expired) {
      await trx('auditLog').insert({ actorType: 'system', shopId: north.id, customerId: customer.id, action: 'invitation.expired', changes: JSON.stringify({ shop: north.name }), occurredAt: trx.raw("now() - interval '2 days'") });
    }
  }
}
