import type { Knex } from 'knex';

// Frozen: this file describes the schema as it was when written. Later changes get new files.

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE EXTENSION IF NOT EXISTS citext');
  await knex.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm');

  await knex.raw(`
    CREATE TABLE shops (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      code citext NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
      currency char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
      locale text NOT NULL DEFAULT 'en-GB',
      time_zone text NOT NULL DEFAULT 'Europe/Berlin',
      parent_id bigint REFERENCES shops(id) ON DELETE RESTRICT,
      settings jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK (parent_id IS NULL OR parent_id <> id)
    );

    CREATE TABLE shop_domains (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      shop_id bigint NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
      hostname text NOT NULL UNIQUE CHECK (hostname = lower(hostname) AND hostname ~ '^[a-z0-9.-]{1,253}$'),
      is_primary boolean NOT NULL DEFAULT false
    );
    CREATE INDEX shop_domains_shop_idx ON shop_domains (shop_id);
    CREATE UNIQUE INDEX shop_domains_one_primary ON shop_domains (shop_id) WHERE is_primary;

    CREATE TABLE sales_teams (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name text NOT NULL UNIQUE
    );

    CREATE TABLE staff_users (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      email citext NOT NULL UNIQUE CHECK (length(email) <= 254),
      name text NOT NULL DEFAULT '',
      password_hash text NOT NULL,
      role text NOT NULL CHECK (role IN ('owner', 'manager', 'sales_rep', 'support')),
      all_shops boolean NOT NULL DEFAULT false,
      sales_team_id bigint REFERENCES sales_teams(id) ON DELETE SET NULL,
      session_version integer NOT NULL DEFAULT 1,
      disabled_at timestamptz,
      last_login_at timestamptz,
      password_changed_at timestamptz NOT NULL DEFAULT now(),
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE staff_shop_scopes (
      staff_user_id bigint NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
      shop_id bigint NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
      PRIMARY KEY (staff_user_id, shop_id)
    );

    CREATE TABLE business_accounts (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      tax_exempt boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE customers (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      email citext NOT NULL UNIQUE CHECK (length(email) <= 254),
      password_hash text,
      state text NOT NULL DEFAULT 'active' CHECK (state IN ('guest', 'invited', 'active', 'disabled')),
      salutation text NOT NULL DEFAULT '',
      first_name text NOT NULL DEFAULT '' CHECK (length(first_name) <= 100),
      middle_name text NOT NULL DEFAULT '' CHECK (length(middle_name) <= 100),
      last_name text NOT NULL DEFAULT '' CHECK (length(last_name) <= 100),
      phone text NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
      customer_type text NOT NULL DEFAULT 'B2C' CHECK (customer_type IN ('B2C', 'B2B', 'B2E', 'GUEST')),
      pricing_policy text NOT NULL DEFAULT '',
      company_name1 text NOT NULL DEFAULT '' CHECK (length(company_name1) <= 200),
      company_name2 text NOT NULL DEFAULT '' CHECK (length(company_name2) <= 200),
      department text NOT NULL DEFAULT '',
      marketing_opt_in boolean NOT NULL DEFAULT false,
      tax_exempt boolean NOT NULL DEFAULT false,
      wholesale boolean NOT NULL DEFAULT false,
      business_account_id bigint REFERENCES business_accounts(id) ON DELETE SET NULL,
      sales_team_id bigint REFERENCES sales_teams(id) ON DELETE SET NULL,
      b2b_reference text NOT NULL DEFAULT '',
      b2b_employee_id text NOT NULL DEFAULT '',
      b2b_charge_id text NOT NULL DEFAULT '',
      require_approval boolean NOT NULL DEFAULT false,
      require_approval_over bigint CHECK (require_approval_over >= 0),
      block_checkout boolean NOT NULL DEFAULT false,
      block_checkout_over bigint CHECK (block_checkout_over >= 0),
      attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
      session_version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      last_login_at timestamptz,
      password_changed_at timestamptz
    );
    CREATE INDEX customers_business_account_idx ON customers (business_account_id);
    CREATE INDEX customers_sales_team_idx ON customers (sales_team_id);

    CREATE TABLE customer_tags (
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      tag citext NOT NULL CHECK (length(tag) BETWEEN 1 AND 64),
      PRIMARY KEY (customer_id, tag)
    );
    CREATE INDEX customer_tags_tag_idx ON customer_tags (tag);

    -- One row per customer and shop: the assignment and the order aggregates that
    -- the list and dashboard read, kept current by the orders trigger below.
    CREATE TABLE customer_shops (
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      shop_id bigint NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
      status text NOT NULL CHECK (status IN ('pending_approval', 'active', 'disabled')),
      orders_count integer NOT NULL DEFAULT 0,
      total_spent bigint NOT NULL DEFAULT 0,
      last_order_id bigint,
      last_order_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (customer_id, shop_id)
    );
    CREATE INDEX customer_shops_shop_idx ON customer_shops (shop_id, status);

    CREATE TABLE addresses (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      owner_shop_id bigint REFERENCES shops(id) ON DELETE CASCADE,
      first_name text NOT NULL DEFAULT '',
      last_name text NOT NULL DEFAULT '',
      company text NOT NULL DEFAULT '',
      line1 text NOT NULL,
      line2 text NOT NULL DEFAULT '',
      city text NOT NULL,
      region text NOT NULL DEFAULT '',
      postcode text NOT NULL DEFAULT '',
      country_code char(2) NOT NULL CHECK (country_code ~ '^[A-Z]{2}$'),
      phone text NOT NULL DEFAULT '',
      is_default_billing boolean NOT NULL DEFAULT false,
      is_default_shipping boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX addresses_customer_idx ON addresses (customer_id);
    CREATE UNIQUE INDEX addresses_one_default_billing ON addresses (customer_id) WHERE is_default_billing;
    CREATE UNIQUE INDEX addresses_one_default_shipping ON addresses (customer_id) WHERE is_default_shipping;

    CREATE TABLE products (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      shop_id bigint NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
      sku text NOT NULL,
      name text NOT NULL,
      price bigint NOT NULL CHECK (price >= 0),
      wholesale_price bigint CHECK (wholesale_price >= 0),
      active boolean NOT NULL DEFAULT true,
      UNIQUE (shop_id, sku)
    );

    CREATE TABLE orders (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      shop_id bigint NOT NULL REFERENCES shops(id) ON DELETE RESTRICT,
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE RESTRICT,
      number text NOT NULL,
      status text NOT NULL DEFAULT 'placed' CHECK (status IN ('placed', 'on_hold', 'processing', 'shipped', 'completed', 'cancelled')),
      currency char(3) NOT NULL,
      subtotal bigint NOT NULL CHECK (subtotal >= 0),
      tax bigint NOT NULL DEFAULT 0 CHECK (tax >= 0),
      credit_applied bigint NOT NULL DEFAULT 0 CHECK (credit_applied >= 0),
      total bigint NOT NULL CHECK (total >= 0),
      placed_at timestamptz NOT NULL DEFAULT now(),
      placed_by_staff_id bigint REFERENCES staff_users(id) ON DELETE SET NULL,
      UNIQUE (shop_id, number)
    );
    CREATE INDEX orders_customer_idx ON orders (customer_id, shop_id, placed_at DESC, id DESC);

    CREATE TABLE order_lines (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      order_id bigint NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
      product_id bigint REFERENCES products(id) ON DELETE SET NULL,
      sku text NOT NULL,
      name text NOT NULL,
      quantity integer NOT NULL CHECK (quantity > 0),
      unit_price bigint NOT NULL CHECK (unit_price >= 0)
    );
    CREATE INDEX order_lines_order_idx ON order_lines (order_id);

    -- Cancelled orders do not count towards what a customer spent.
    CREATE FUNCTION refresh_customer_shop_order_stats(p_customer bigint, p_shop bigint) RETURNS void
    LANGUAGE sql AS $$
      UPDATE customer_shops cs SET
        orders_count = s.orders_count,
        total_spent = s.total_spent,
        last_order_id = s.last_order_id,
        last_order_at = s.last_order_at,
        updated_at = now()
      FROM (
        SELECT count(*)::int AS orders_count,
               coalesce(sum(o.total), 0)::bigint AS total_spent,
               (array_agg(o.id ORDER BY o.placed_at DESC, o.id DESC))[1] AS last_order_id,
               max(o.placed_at) AS last_order_at
        FROM orders o
        WHERE o.customer_id = p_customer AND o.shop_id = p_shop AND o.status <> 'cancelled'
      ) s
      WHERE cs.customer_id = p_customer AND cs.shop_id = p_shop;
    $$;

    CREATE FUNCTION orders_maintain_customer_stats() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      -- Inserts are the common path: add to the totals instead of re-reading every order.
      IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'cancelled' THEN
          UPDATE customer_shops SET
            orders_count = orders_count + 1,
            total_spent = total_spent + NEW.total,
            last_order_id = CASE WHEN last_order_at IS NULL OR NEW.placed_at >= last_order_at THEN NEW.id ELSE last_order_id END,
            last_order_at = greatest(last_order_at, NEW.placed_at),
            updated_at = now()
          WHERE customer_id = NEW.customer_id AND shop_id = NEW.shop_id;
        END IF;
        RETURN NULL;
      END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM refresh_customer_shop_order_stats(OLD.customer_id, OLD.shop_id);
      END IF;
      IF TG_OP = 'UPDATE' AND (NEW.customer_id <> OLD.customer_id OR NEW.shop_id <> OLD.shop_id) THEN
        PERFORM refresh_customer_shop_order_stats(NEW.customer_id, NEW.shop_id);
      END IF;
      RETURN NULL;
    END $$;

    CREATE TRIGGER orders_customer_stats AFTER INSERT OR UPDATE OF customer_id, shop_id, status, total, placed_at OR DELETE
      ON orders FOR EACH ROW EXECUTE FUNCTION orders_maintain_customer_stats();

    CREATE TABLE mail_outbox (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      shop_id bigint REFERENCES shops(id) ON DELETE SET NULL,
      customer_id bigint REFERENCES customers(id) ON DELETE SET NULL,
      template text NOT NULL,
      to_address text NOT NULL,
      subject text NOT NULL,
      text_body text NOT NULL,
      html_body text NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
      attempts integer NOT NULL DEFAULT 0,
      last_error text,
      claimed_until timestamptz,
      message_id text,
      created_at timestamptz NOT NULL DEFAULT now(),
      sent_at timestamptz
    );
    CREATE INDEX mail_outbox_unsent_idx ON mail_outbox (created_at) WHERE status IN ('pending', 'sending');
    CREATE INDEX mail_outbox_recent_idx ON mail_outbox (created_at DESC, id DESC);

    CREATE TABLE audit_log (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      occurred_at timestamptz NOT NULL DEFAULT now(),
      actor_type text NOT NULL CHECK (actor_type IN ('staff', 'customer', 'system')),
      actor_id bigint,
      shop_id bigint REFERENCES shops(id) ON DELETE SET NULL,
      customer_id bigint REFERENCES customers(id) ON DELETE CASCADE,
      action text NOT NULL,
      changes jsonb NOT NULL DEFAULT '{}'::jsonb,
      request_id text
    );
    CREATE INDEX audit_log_customer_idx ON audit_log (customer_id, occurred_at DESC);

    -- Session store used when no Redis is configured (connect-pg-simple's layout).
    CREATE TABLE http_sessions (
      sid varchar NOT NULL PRIMARY KEY,
      sess json NOT NULL,
      expire timestamp(6) NOT NULL
    );
    CREATE INDEX http_sessions_expire_idx ON http_sessions (expire);

    -- Rate-limit counters used when no Redis is configured (rate-limiter-flexible's layout).
    CREATE TABLE rate_limits (
      key varchar(255) PRIMARY KEY,
      points integer NOT NULL DEFAULT 0,
      expire bigint
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS rate_limits, http_sessions, audit_log, mail_outbox, order_lines CASCADE;
    DROP TRIGGER IF EXISTS orders_customer_stats ON orders;
    DROP TABLE IF EXISTS orders, products, addresses, customer_shops, customer_tags, customers,
      business_accounts, staff_shop_scopes, staff_users, sales_teams, shop_domains, shops CASCADE;
    DROP FUNCTION IF EXISTS orders_maintain_customer_stats();
    DROP FUNCTION IF EXISTS refresh_customer_shop_order_stats(bigint, bigint);
  `);
}
