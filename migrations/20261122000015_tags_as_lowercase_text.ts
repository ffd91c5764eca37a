import type { Knex } from 'knex';

// Frozen. Tags were citext, whose every comparison lowercases both sides: index scans over a tag
// with ~100,000 customers (the list's tag filters, bulk tagging) spent most of their time there.
// Tags are now plain text kept in lower case by a trigger, so every writer stays case-insensitive
// and the indexes compare bytes.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE customer_tags DROP CONSTRAINT customer_tags_tag_check;
    ALTER TABLE customer_tags ALTER COLUMN tag TYPE text COLLATE "C" USING lower(tag::text);
    ALTER TABLE customer_tags ADD CONSTRAINT customer_tags_tag_check CHECK (length(tag) BETWEEN 1 AND 64);

    CREATE FUNCTION customer_tags_lowercase() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.tag := lower(NEW.tag);
      RETURN NEW;
    END $$;
    CREATE TRIGGER customer_tags_lowercase BEFORE INSERT OR UPDATE OF tag ON customer_tags
      FOR EACH ROW EXECUTE FUNCTION customer_tags_lowercase();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER customer_tags_lowercase ON customer_tags;
    DROP FUNCTION customer_tags_lowercase();
    ALTER TABLE customer_tags DROP CONSTRAINT customer_tags_tag_check;
    ALTER TABLE customer_tags ALTER COLUMN tag TYPE citext USING tag::citext;
    ALTER TABLE customer_tags ADD CONSTRAINT customer_tags_tag_check CHECK (length(tag::text) BETWEEN 1 AND 64);
  `);
}
