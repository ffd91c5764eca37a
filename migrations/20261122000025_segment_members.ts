import type { Knex } from 'knex';

// Frozen. A segment's members (its own customers and its groups' members) are kept in one table,
// so the list filters, counts and exports a segment as it does a group: one index. Read from its
// two sources, a segment cost a hash of every member or two probes per customer the list's walk
// reached (a segment of 20,648 at 1M: 12–14 ms for a first page where a group of its size takes
// 3–6 ms).
//
// Statement triggers keep it: an added route adds the pair (segment, customer); a removed route
// removes the pair when no other route is left. Concurrent changes of two routes to the same pair
// are serialised on the pair's row: adding locks it (an upsert), removing locks it first and then
// checks the other routes in a statement of its own, which sees what committed meanwhile.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE segment_members (
      segment_id bigint NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      PRIMARY KEY (segment_id, customer_id)
    );
    CREATE INDEX segment_members_customer_idx ON segment_members (customer_id, segment_id);

    INSERT INTO segment_members (segment_id, customer_id)
    SELECT segment_id, customer_id FROM segment_customers
     UNION
    SELECT sg.segment_id, m.customer_id FROM segment_groups sg JOIN customer_group_members m ON m.group_id = sg.group_id;
    ANALYZE segment_members;

    CREATE FUNCTION segment_members_add(segment_ids bigint[], customer_ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO segment_members (segment_id, customer_id)
      SELECT DISTINCT p.segment_id, p.customer_id FROM unnest(segment_ids, customer_ids) AS p(segment_id, customer_id) ORDER BY 1, 2
      -- An update, not DO NOTHING: it locks the pair, so a concurrent removal of another route waits.
      ON CONFLICT (segment_id, customer_id) DO UPDATE SET segment_id = EXCLUDED.segment_id;
    END $$;

    CREATE FUNCTION segment_members_recheck(segment_ids bigint[], customer_ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM 1 FROM segment_members m JOIN unnest(segment_ids, customer_ids) AS p(segment_id, customer_id)
                  ON m.segment_id = p.segment_id AND m.customer_id = p.customer_id
        ORDER BY m.segment_id, m.customer_id FOR UPDATE OF m;
      DELETE FROM segment_members m USING unnest(segment_ids, customer_ids) AS p(segment_id, customer_id)
       WHERE m.segment_id = p.segment_id AND m.customer_id = p.customer_id
         AND NOT EXISTS (SELECT 1 FROM segment_customers sc WHERE sc.segment_id = m.segment_id AND sc.customer_id = m.customer_id)
         AND NOT EXISTS (SELECT 1 FROM segment_groups sg JOIN customer_group_members cgm ON cgm.group_id = sg.group_id
                          WHERE sg.segment_id = m.segment_id AND cgm.customer_id = m.customer_id);
    END $$;

    -- The changed rows of a source as (segment, customer) pairs, then added or rechecked. (PL/pgSQL
    -- compiles the function once per table it is a trigger of, so each plans its own branch.)
    CREATE FUNCTION segment_members_follow() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
      segment_ids bigint[];
      customer_ids bigint[];
    BEGIN
      IF TG_TABLE_NAME = 'customer_group_members' AND TG_OP = 'INSERT' THEN
        SELECT array_agg(sg.segment_id), array_agg(x.customer_id) INTO segment_ids, customer_ids
          FROM changed x JOIN segment_groups sg ON sg.group_id = x.group_id;
      ELSIF TG_TABLE_NAME = 'customer_group_members' THEN
        -- Every segment the customers are in: when a group is deleted, its rows in segment_groups
        -- may be gone before these (both cascade), and could not say which segments it was in.
        SELECT array_agg(m.segment_id), array_agg(m.customer_id) INTO segment_ids, customer_ids
          FROM segment_members m WHERE m.customer_id IN (SELECT DISTINCT customer_id FROM changed);
      ELSIF TG_TABLE_NAME = 'segment_groups' THEN
        SELECT array_agg(x.segment_id), array_agg(m.customer_id) INTO segment_ids, customer_ids
          FROM changed x JOIN customer_group_members m ON m.group_id = x.group_id;
      ELSE
        SELECT array_agg(x.segment_id), array_agg(x.customer_id) INTO segment_ids, customer_ids FROM changed x;
      END IF;
      IF segment_ids IS NULL THEN RETURN NULL; END IF;
      IF TG_OP = 'INSERT' THEN PERFORM segment_members_add(segment_ids, customer_ids);
      ELSE PERFORM segment_members_recheck(segment_ids, customer_ids); END IF;
      RETURN NULL;
    END $$;

    CREATE TRIGGER segment_members_insert AFTER INSERT ON customer_group_members
      REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segment_members_follow();
    CREATE TRIGGER segment_members_delete AFTER DELETE ON customer_group_members
      REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segment_members_follow();
    CREATE TRIGGER segment_members_insert AFTER INSERT ON segment_groups
      REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segment_members_follow();
    CREATE TRIGGER segment_members_delete AFTER DELETE ON segment_groups
      REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segment_members_follow();
    CREATE TRIGGER segment_members_insert AFTER INSERT ON segment_customers
      REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segment_members_follow();
    CREATE TRIGGER segment_members_delete AFTER DELETE ON segment_customers
      REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION segment_members_follow();

    -- The three sources are only ever inserted into and deleted from; a change of a row's ids would
    -- bypass the triggers above, so it is refused.
    CREATE FUNCTION segment_sources_immutable() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'rows of % are deleted and inserted, not updated in their ids', TG_TABLE_NAME;
    END $$;
    CREATE TRIGGER segment_sources_immutable BEFORE UPDATE OF group_id, customer_id ON customer_group_members
      FOR EACH ROW WHEN (OLD.group_id <> NEW.group_id OR OLD.customer_id <> NEW.customer_id) EXECUTE FUNCTION segment_sources_immutable();
    CREATE TRIGGER segment_sources_immutable BEFORE UPDATE OF segment_id, group_id ON segment_groups
      FOR EACH ROW WHEN (OLD.segment_id <> NEW.segment_id OR OLD.group_id <> NEW.group_id) EXECUTE FUNCTION segment_sources_immutable();
    CREATE TRIGGER segment_sources_immutable BEFORE UPDATE OF segment_id, customer_id ON segment_customers
      FOR EACH ROW WHEN (OLD.segment_id <> NEW.segment_id OR OLD.customer_id <> NEW.customer_id) EXECUTE FUNCTION segment_sources_immutable();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER segment_sources_immutable ON customer_group_members;
    DROP TRIGGER segment_sources_immutable ON segment_groups;
    DROP TRIGGER segment_sources_immutable ON segment_customers;
    DROP FUNCTION segment_sources_immutable();
    DROP TRIGGER segment_members_insert ON customer_group_members;
    DROP TRIGGER segment_members_delete ON customer_group_members;
    DROP TRIGGER segment_members_insert ON segment_groups;
    DROP TRIGGER segment_members_delete ON segment_groups;
    DROP TRIGGER segment_members_insert ON segment_customers;
    DROP TRIGGER segment_members_delete ON segment_customers;
    DROP FUNCTION segment_members_follow();
    DROP FUNCTION segment_members_add(bigint[], bigint[]);
    DROP FUNCTION segment_members_recheck(bigint[], bigint[]);
    DROP TABLE segment_members;
  `);
}
