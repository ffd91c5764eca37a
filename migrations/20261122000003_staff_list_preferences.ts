import type { Knex } from 'knex';

// Frozen. What a staff member keeps of the customer list: chosen columns and named views.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE staff_users ADD COLUMN list_columns text[] NOT NULL DEFAULT '{}';

    CREATE TABLE saved_views (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      staff_user_id bigint NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
      query_string text NOT NULL CHECK (length(query_string) <= 2000),
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX saved_views_name_idx ON saved_views (staff_user_id, lower(name));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE saved_views;
    ALTER TABLE staff_users DROP COLUMN list_columns;
  `);
}
