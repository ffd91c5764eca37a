import type { Knex } from 'knex';

// Frozen. Customer groups and segments (F-GRP-2, F-GRP-3, F-GRP-6, F-CUST-5).
//
// - customer_groups: platform-wide. Static groups get members by hand or in bulk; dynamic groups
//   carry a rule (jsonb) and their members are recomputed by the `groups` queue. A tax-exempt
//   group is an "availability group" that makes its members tax exempt (F-CUST-5).
// - customer_group_members: (group, customer) with where the membership came from: 'manual'
//   (static groups) or 'rule' (dynamic groups). The primary key serves "members of a group" (the
//   list filter, the group page's keyset paging); (customer_id, group_id) serves "groups of a
//   customer" (dashboard, tax exemption).
// - segments connect customers and whole groups: a segment's members are its own customers plus
//   the members of its groups.
// - bulk_operations.action gains add_to_group and remove_from_group. The allowed list is read from
//   the current constraint, so other migrations that extend it keep their values.

const OUR_ACTIONS = ['add_to_group', 'remove_from_group'];

async function bulkActionConstraint(knex: Knex): Promise<{ name: string; values: string[] } | null> {
  const result = await knex.raw(
    `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE conrelid = 'bulk_operations'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%action%'`,
  );
  const row = result.rows[0] as { name: string; def: string } | undefined;
  if (!row) return null;
  return { name: row.name, values: [...row.def.matchAll(/'([a-z0-9_]+)'/g)].map((m) => m[1]!) };
}

async function setBulkActions(knex: Knex, values: string[]): Promise<void> {
  const current = await bulkActionConstraint(knex);
  if (current) await knex.raw(`ALTER TABLE bulk_operations DROP CONSTRAINT ??`, [current.name]);
  const list = [...new Set(values)].map((v) => `'${v.replace(/[^a-z0-9_]/g, '')}'`).join(', ');
  await knex.raw(`ALTER TABLE bulk_operations ADD CONSTRAINT bulk_operations_action_check CHECK (action IN (${list}))`);
}

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE customer_groups (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name citext NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 120),
      description text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
      kind text NOT NULL CHECK (kind IN ('static', 'dynamic')),
      rule jsonb,
      tax_exempt boolean NOT NULL DEFAULT false,
      discount_percent numeric(5, 2) NOT NULL DEFAULT 0 CHECK (discount_percent BETWEEN 0 AND 100),
      recomputed_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK ((kind = 'dynamic') = (rule IS NOT NULL))
    );
    CREATE INDEX customer_groups_dynamic_idx ON customer_groups (id) WHERE kind = 'dynamic';

    CREATE TABLE customer_group_members (
      group_id bigint NOT NULL REFERENCES customer_groups(id) ON DELETE CASCADE,
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      source text NOT NULL CHECK (source IN ('manual', 'rule')),
      -- No foreign key: a membership keeps who added it after the staff account is gone.
      added_by bigint,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (group_id, customer_id)
    );
    CREATE INDEX customer_group_members_customer_idx ON customer_group_members (customer_id, group_id);

    CREATE TABLE segments (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name citext NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 120),
      description text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE segment_customers (
      segment_id bigint NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      added_by bigint,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (segment_id, customer_id)
    );
    CREATE INDEX segment_customers_customer_idx ON segment_customers (customer_id, segment_id);

    CREATE TABLE segment_groups (
      segment_id bigint NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
      group_id bigint NOT NULL REFERENCES customer_groups(id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (segment_id, group_id)
    );
    CREATE INDEX segment_groups_group_idx ON segment_groups (group_id, segment_id);
  `);
  const current = await bulkActionConstraint(knex);
  await setBulkActions(knex, [...(current?.values ?? ['add_tag', 'remove_tag', 'disable_on_shop', 'delete']), ...OUR_ACTIONS]);
}

export async function down(knex: Knex): Promise<void> {
  await knex('bulk_operations').whereIn('action', OUR_ACTIONS).delete();
  const current = await bulkActionConstraint(knex);
  if (current) await setBulkActions(knex, current.values.filter((v) => !OUR_ACTIONS.includes(v)));
  await knex.raw('DROP TABLE segment_groups, segment_customers, segments, customer_group_members, customer_groups');
}
