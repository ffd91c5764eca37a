import type { Knex } from 'knex';

// Frozen. The e-mails a bulk operation writes to the outbox (invitations, and since this migration
// the notices of assignments it disables) name it, so that the worker hands exactly those to the
// mail queue when the operation ends, also after a restart in the middle of it.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE mail_outbox ADD COLUMN bulk_operation_id bigint REFERENCES bulk_operations(id) ON DELETE SET NULL;
    CREATE INDEX mail_outbox_bulk_operation_idx ON mail_outbox (bulk_operation_id) WHERE bulk_operation_id IS NOT NULL;
    UPDATE mail_outbox m SET bulk_operation_id = i.bulk_operation_id
      FROM customer_invitations i WHERE i.outbox_id = m.id AND i.bulk_operation_id IS NOT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE mail_outbox DROP COLUMN bulk_operation_id');
}
