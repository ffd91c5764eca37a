import type { Knex } from 'knex';

// Frozen. Customer imports from CSV/XLSX (F-LIST-6): one row per uploaded file with its state,
// mapping and result; the rejected rows of its last run; and an UNLOGGED staging table that a
// run streams the file into before validating and merging it set-based.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE customer_imports (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      staff_user_id bigint NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
      shop_id bigint NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
      status text NOT NULL DEFAULT 'uploaded'
        CHECK (status IN ('uploaded', 'analysing', 'ready', 'dry_run', 'importing', 'done', 'failed')),
      -- Shown to the staff member only; the file is stored under storage_key, a random key.
      original_name text NOT NULL DEFAULT '' CHECK (length(original_name) <= 255),
      storage_key text NOT NULL UNIQUE,
      byte_size bigint NOT NULL DEFAULT 0,
      format text CHECK (format IN ('csv', 'xlsx')),
      csv_delimiter text CHECK (csv_delimiter IN (',', ';', E'\\t', '|')),
      header jsonb NOT NULL DEFAULT '[]'::jsonb,
      sample_rows jsonb NOT NULL DEFAULT '[]'::jsonb,
      row_count integer,
      -- One entry per column of the file: the customer field it fills, or null (not imported).
      mapping jsonb NOT NULL DEFAULT '[]'::jsonb,
      -- { "tag": "…" }: added to every imported customer.
      options jsonb NOT NULL DEFAULT '{}'::jsonb,
      run_count integer NOT NULL DEFAULT 0,
      -- What the counts below describe: the last dry run, or the import itself.
      result_of text CHECK (result_of IN ('dry_run', 'import')),
      processed_rows integer NOT NULL DEFAULT 0,
      created_count integer NOT NULL DEFAULT 0,
      updated_count integer NOT NULL DEFAULT 0,
      rejected_count integer NOT NULL DEFAULT 0,
      errors_sample jsonb NOT NULL DEFAULT '[]'::jsonb,
      -- A retried import continues after the last merged batch while its staged rows are still there.
      staged_rows integer,
      merged_through_line integer NOT NULL DEFAULT 0,
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    );
    CREATE INDEX customer_imports_staff_idx ON customer_imports (staff_user_id, created_at DESC);

    CREATE TABLE customer_import_rejections (
      import_id bigint NOT NULL REFERENCES customer_imports(id) ON DELETE CASCADE,
      line integer NOT NULL,
      email text NOT NULL DEFAULT '',
      reason text NOT NULL,
      PRIMARY KEY (import_id, line)
    );

    -- Scratch space: rows of a run between reading the file and merging them. UNLOGGED because
    -- it is rebuilt from the file whenever it is lost.
    CREATE UNLOGGED TABLE customer_import_rows (
      import_id bigint NOT NULL REFERENCES customer_imports(id) ON DELETE CASCADE,
      line integer NOT NULL,
      email text,
      salutation text,
      first_name text,
      middle_name text,
      last_name text,
      phone text,
      company text,
      company2 text,
      department text,
      customer_type text,
      marketing_opt_in text,
      tax_exempt text,
      tags text,
      address_first_name text,
      address_last_name text,
      address_company text,
      address_line1 text,
      address_line2 text,
      address_city text,
      address_region text,
      address_postcode text,
      address_country text,
      address_phone text,
      reason text,
      customer_id bigint,
      outcome text CHECK (outcome IN ('created', 'updated')),
      PRIMARY KEY (import_id, line)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE customer_import_rows, customer_import_rejections, customer_imports');
}
