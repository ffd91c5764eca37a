import type { Knex } from 'knex';

// Frozen. customers.billing_city/billing_country (the list's City and Country columns) follow the
// default billing address. The row trigger that kept them ran a query per address written: an
// import of a million rows spent about 39 µs per address there, three times the insert itself.
// Statement triggers with transition tables do the same once per statement, for every customer the
// statement touched. An UPDATE refreshes the customers of the old rows and of the new ones, so an
// address moved to another customer (a merge) updates both.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER addresses_customer_billing ON addresses;
    DROP FUNCTION addresses_maintain_customer_billing();
    CREATE FUNCTION addresses_refresh_customer_billing() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      -- Planned on each run (EXECUTE): a plan kept from the session's first statement, made while the
      -- tables were small, would be used for every batch of a million-row import that follows.
      EXECUTE $q$
        UPDATE customers c SET billing_city = b.city, billing_country = b.country_code
          FROM (SELECT t.customer_id, d.city, d.country_code
                  FROM (SELECT DISTINCT customer_id FROM changed_addresses) t
                  -- At most one: addresses_one_default_billing is unique per customer.
                  LEFT JOIN addresses d ON d.customer_id = t.customer_id AND d.is_default_billing) b
         WHERE c.id = b.customer_id AND (c.billing_city IS DISTINCT FROM b.city OR c.billing_country IS DISTINCT FROM b.country_code)
      $q$;
      RETURN NULL;
    END $$;
    CREATE TRIGGER addresses_billing_insert AFTER INSERT ON addresses
      REFERENCING NEW TABLE AS changed_addresses FOR EACH STATEMENT EXECUTE FUNCTION addresses_refresh_customer_billing();
    CREATE TRIGGER addresses_billing_update_old AFTER UPDATE ON addresses
      REFERENCING OLD TABLE AS changed_addresses FOR EACH STATEMENT EXECUTE FUNCTION addresses_refresh_customer_billing();
    CREATE TRIGGER addresses_billing_update_new AFTER UPDATE ON addresses
      REFERENCING NEW TABLE AS changed_addresses FOR EACH STATEMENT EXECUTE FUNCTION addresses_refresh_customer_billing();
    CREATE TRIGGER addresses_billing_delete AFTER DELETE ON addresses
      REFERENCING OLD TABLE AS changed_addresses FOR EACH STATEMENT EXECUTE FUNCTION addresses_refresh_customer_billing();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER addresses_billing_insert ON addresses;
    DROP TRIGGER addresses_billing_update_old ON addresses;
    DROP TRIGGER addresses_billing_update_new ON addresses;
    DROP TRIGGER addresses_billing_delete ON addresses;
    DROP FUNCTION addresses_refresh_customer_billing();
    CREATE FUNCTION addresses_maintain_customer_billing() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
      target bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.customer_id ELSE NEW.customer_id END;
    BEGIN
      UPDATE customers c SET billing_city = a.city, billing_country = a.country_code
        FROM (SELECT NULL::text AS city, NULL::char(2) AS country_code
              UNION ALL
              SELECT city, country_code FROM addresses WHERE customer_id = target AND is_default_billing
              ORDER BY 1 NULLS LAST LIMIT 1) a
       WHERE c.id = target AND (c.billing_city IS DISTINCT FROM a.city OR c.billing_country IS DISTINCT FROM a.country_code);
      RETURN NULL;
    END $$;
    CREATE TRIGGER addresses_customer_billing AFTER INSERT OR UPDATE OF city, country_code, is_default_billing OR DELETE
      ON addresses FOR EACH ROW EXECUTE FUNCTION addresses_maintain_customer_billing();
  `);
}
