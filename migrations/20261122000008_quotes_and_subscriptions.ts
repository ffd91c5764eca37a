import type { Knex } from 'knex';

// Frozen. Quotes (the Quotes module, F-DASH-10) and product subscriptions (F-DASH-4).
//
// - quote_counters: the last quote number handed out per shop. Numbering takes the shop's row with
//   INSERT … ON CONFLICT DO UPDATE … RETURNING, so two quotes created at once never share a number.
// - quotes: one offer to a customer in one shop's currency. Amounts are minor units computed by the
//   server from the products' prices. valid_until is a calendar day (the quote holds through it);
//   "expired" is also what a draft or sent quote past that day is shown as.
// - quote_lines: what was offered, with the product's sku, name and price copied at the time, so a
//   quote keeps its content when the product changes or goes away.
// - product_subscriptions: a repeat delivery of one product of the shop. next_delivery is the day
//   of the next delivery. A product with subscriptions cannot be deleted (deactivate it instead);
//   deleting the shop or the customer removes them.
// created_by_staff_id has no foreign key: the record keeps who made it after the account is gone.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE quote_counters (
      shop_id bigint PRIMARY KEY REFERENCES shops(id) ON DELETE CASCADE,
      last_number integer NOT NULL CHECK (last_number > 0)
    );

    CREATE TABLE quotes (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      shop_id bigint NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      number text NOT NULL CHECK (length(number) BETWEEN 1 AND 40),
      status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'sent', 'accepted', 'declined', 'expired')),
      valid_until date NOT NULL,
      currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
      subtotal bigint NOT NULL CHECK (subtotal >= 0),
      total bigint NOT NULL CHECK (total >= 0),
      note text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
      created_by_staff_id bigint,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (shop_id, number)
    );
    CREATE INDEX quotes_customer_idx ON quotes (customer_id, created_at DESC, id DESC);

    CREATE TABLE quote_lines (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      quote_id bigint NOT NULL REFERENCES quotes(id) ON DELETE CASCADE,
      position smallint NOT NULL CHECK (position BETWEEN 1 AND 100),
      product_id bigint REFERENCES products(id) ON DELETE SET NULL,
      sku text NOT NULL,
      name text NOT NULL,
      quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 999999),
      unit_price bigint NOT NULL CHECK (unit_price >= 0),
      line_total bigint NOT NULL CHECK (line_total = quantity * unit_price),
      UNIQUE (quote_id, position)
    );
    CREATE INDEX quote_lines_product_idx ON quote_lines (product_id) WHERE product_id IS NOT NULL;

    CREATE TABLE product_subscriptions (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      shop_id bigint NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
      product_id bigint NOT NULL REFERENCES products(id),
      quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 999),
      interval text NOT NULL CHECK (interval IN ('weekly', 'monthly', 'quarterly', 'yearly')),
      next_delivery date NOT NULL,
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'cancelled')),
      created_by_staff_id bigint,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX product_subscriptions_customer_idx ON product_subscriptions (customer_id, created_at DESC, id DESC);
    CREATE INDEX product_subscriptions_product_idx ON product_subscriptions (product_id);
    CREATE INDEX product_subscriptions_shop_due_idx ON product_subscriptions (shop_id, next_delivery) WHERE status = 'active';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE product_subscriptions, quote_lines, quotes, quote_counters');
}
