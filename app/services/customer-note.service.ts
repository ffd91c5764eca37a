import type { Knex } from 'knex';
import { recordAudit } from './audit.service.js';
import { customerAccess, staffActor, type CustomerAccess } from './customer-access.service.js';
import type { StaffPrincipal } from './staff.service.js';

export interface CustomerNote {
  id: number;
  authorName: string;
  body: string;
  createdAt: Date;
}

/** Notes are about the customer (not one shop): every staff member who may see the customer sees them (F-CUST-6). */
export async function listNotes(db: Knex | Knex.Transaction, access: CustomerAccess, options: { limit: number; beforeId?: number }): Promise<CustomerNote[]> {
  const query = db('customerNotes')
    .where({ customerId: access.customerId })
    .select('id', 'authorName', 'body', 'createdAt')
    .orderBy([{ column: 'createdAt', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(options.limit);
  if (options.beforeId) query.where('id', '<', options.beforeId);
  return query;
}

export async function countNotes(db: Knex | Knex.Transaction, access: CustomerAccess): Promise<number> {
  const row = (await db('customerNotes').where({ customerId: access.customerId }).count({ n: '*' }).first()) as { n: string | number };
  return Number(row.n);
}

/** Adds a note stamped with its author and time; the author's name is kept with the note. */
export async function addNote(knex: Knex, staff: StaffPrincipal, customerId: number, body: string, requestId?: string): Promise<number> {
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId);
    const [row] = (await trx('customerNotes')
      .insert({ customerId, authorStaffId: staff.id, authorName: staff.name || staff.email, body })
      .returning('id')) as Array<{ id: number }>;
    await recordAudit(trx, { ...staffActor(access, requestId), shopId: null, action: 'note.added', changes: { noteId: row!.id, excerpt: body.length > 120 ? `${body.slice(0, 119)}…` : body } });
    return row!.id;
  });
}
