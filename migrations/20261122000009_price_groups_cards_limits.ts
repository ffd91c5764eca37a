import type { Knex } from 'knex';

// Frozen. Price groups (F-PRICE-1, F-DASH-6, F-CUST-5), payment cards (F-DASH-7) and purchase
// limits (F-LIMIT-1).
//
// - price_groups: a named set of product prices; when several apply to a customer the best price
//   wins (F-PRICE-1), `priority` orders them on the dashboard (larger first).
// - price_group_prices: per group and product either a fixed price (minor units) or a percentage
//   off the list price, never both. products.wholesale_price (foundation) is the wholesale price.
// - customer_price_groups / business_account_price_groups: who gets a group, and who assigned it.
// - payment_cards: what stands for a card. The card number is validated and discarded by the app;
//   only the payment vault's opaque reference (token), brand, last 4 digits, expiry and holder
//   name are kept. There is deliberately no column that could hold a number.
// - purchase_limits: per customer and shop, an amount over a window that is either fixed
//   (start_date … end_date) or recurring from start_date (monthly, quarterly, yearly). The amount
//   spent is read from orders through orders_customer_idx (customer_id, shop_id, placed_at).

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE price_groups (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name citext NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
      priority integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN -100000 AND 100000),
      description text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX price_groups_priority_idx ON price_groups (priority DESC, name);

    CREATE TABLE price_group_prices (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      price_group_id bigint NOT NULL REFERENCES price_groups(id) ON DELETE CASCADE,
      product_id bigint NOT NULL REFERENCES products(id) ON DELETE CASCADE,
      fixed_price bigint CHECK (fixed_price >= 0),
      percent_off numeric(5, 2) CHECK (percent_off > 0 AND percent_off <= 100),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK (num_nonnulls(fixed_price, percent_off) = 1),
      UNIQUE (price_group_id, product_id)
    );
    CREATE INDEX price_group_prices_product_idx ON price_group_prices (product_id, price_group_id);

    CREATE TABLE customer_price_groups (
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      price_group_id bigint NOT NULL REFERENCES price_groups(id) ON DELETE CASCADE,
      -- No foreign key: the assignment keeps who made it after the staff account is gone.
      assigned_by bigint,
      assigned_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (customer_id, price_group_id)
    );
    CREATE INDEX customer_price_groups_group_idx ON customer_price_groups (price_group_id);

    CREATE TABLE business_account_price_groups (
      business_account_id bigint NOT NULL REFERENCES business_accounts(id) ON DELETE CASCADE,
      price_group_id bigint NOT NULL REFERENCES price_groups(id) ON DELETE CASCADE,
      assigned_by bigint,
      assigned_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (business_account_id, price_group_id)
    );
    CREATE INDEX business_account_price_groups_group_idx ON business_account_price_groups (price_group_id);

    CREATE TABLE payment_cards (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      -- The payment vault's reference for the card (opaque, random until a gateway is wired).
      token text NOT NULL UNIQUE CHECK (token ~ '^card_[A-Za-z0-9_-]{16,100}$'),
      brand text NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover', 'maestro', 'diners', 'jcb', 'unionpay', 'other')),
      last4 char(4) NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
      exp_month smallint NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
      exp_year smallint NOT NULL CHECK (exp_year BETWEEN 2000 AND 2100),
      holder_name text NOT NULL CHECK (length(holder_name) BETWEEN 1 AND 100),
      created_by bigint,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX payment_cards_customer_idx ON payment_cards (customer_id, created_at DESC, id DESC);

    CREATE TABLE purchase_limits (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      shop_id bigint NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
      amount bigint NOT NULL CHECK (amount > 0),
      start_date date NOT NULL,
      end_date date,
      period text CHECK (period IN ('monthly', 'quarterly', 'yearly')),
      created_by bigint,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      -- Either a fixed window or a recurring one, never both, never neither.
      CHECK ((end_date IS NULL) <> (period IS NULL)),
      CHECK (end_date IS NULL OR end_date >= start_date),
      UNIQUE (customer_id, shop_id)
    );
    CREATE INDEX purchase_limits_shop_idx ON purchase_limits (shop_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS purchase_limits, payment_cards, business_account_price_groups,
      customer_price_groups, price_group_prices, price_groups;
  `);
}
