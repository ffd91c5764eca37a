import type { Knex } from 'knex';

// Frozen. Staged import rows no longer check their import with a foreign key: that was a lookup
// per line of the file inside the COPY (a million-line file staged in 12.7 s instead of 16.1 s
// without it). Only the imports worker writes these rows, for an import it has just read, and it
// checks after staging that the import still exists. What the foreign key's cascade did, a
// statement trigger does: deleting imports (with their shop or staff member) deletes their rows.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE customer_import_rows DROP CONSTRAINT customer_import_rows_import_id_fkey;
    CREATE FUNCTION customer_import_rows_follow_imports() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM customer_import_rows WHERE import_id IN (SELECT id FROM deleted_imports);
      RETURN NULL;
    END $$;
    CREATE TRIGGER customer_import_rows_follow_imports AFTER DELETE ON customer_imports
      REFERENCING OLD TABLE AS deleted_imports FOR EACH STATEMENT EXECUTE FUNCTION customer_import_rows_follow_imports();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER customer_import_rows_follow_imports ON customer_imports;
    DROP FUNCTION customer_import_rows_follow_imports();
    DELETE FROM customer_import_rows s WHERE NOT EXISTS (SELECT 1 FROM customer_imports i WHERE i.id = s.import_id);
    ALTER TABLE customer_import_rows ADD CONSTRAINT customer_import_rows_import_id_fkey
      FOREIGN KEY (import_id) REFERENCES customer_imports(id) ON DELETE CASCADE;
  `);
}
