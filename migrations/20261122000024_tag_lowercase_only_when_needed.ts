import type { Knex } from 'knex';

// Frozen. The tag-lowercasing trigger runs only for a tag that is not lower case already (every
// writer of the app lowercases first, so it almost never runs: a bulk tag or an import saves
// about 1 µs per tag row). It lowercases with the database's collation, as the app's writers do
// (the column's "C" collation lowercases only A–Z: "Ä" stayed "Ä").

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION customer_tags_lowercase() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.tag := lower(NEW.tag COLLATE "default");
      RETURN NEW;
    END $$;
    DROP TRIGGER customer_tags_lowercase ON customer_tags;
    CREATE TRIGGER customer_tags_lowercase BEFORE INSERT OR UPDATE OF tag ON customer_tags
      FOR EACH ROW WHEN (NEW.tag <> lower(NEW.tag COLLATE "default")) EXECUTE FUNCTION customer_tags_lowercase();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION customer_tags_lowercase() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.tag := lower(NEW.tag);
      RETURN NEW;
    END $$;
    DROP TRIGGER customer_tags_lowercase ON customer_tags;
    CREATE TRIGGER customer_tags_lowercase BEFORE INSERT OR UPDATE OF tag ON customer_tags
      FOR EACH ROW EXECUTE FUNCTION customer_tags_lowercase();
  `);
}
