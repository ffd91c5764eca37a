import type { Knex } from 'knex';

export interface AuditEntry {
  actorType: 'staff' | 'customer' | 'system';
  actorId: number | null;
  shopId: number | null;
  customerId: number | null;
  action: string;
  changes?: Record<string, unknown>;
  requestId?: string;
}

export async function recordAudit(db: Knex | Knex.Transaction, entry: AuditEntry): Promise<void> {
  await db('auditLog').insert({ ...entry, changes: JSON.stringify(entry.changes ?? {}) });
}
