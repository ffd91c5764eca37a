import type { Knex } from 'knex';

// Frozen. Customer documents (F-DASH-8, F-FILE, F-ACC-4).
//
// A document belongs to a customer in one shop (like store credit): staff scoped to that shop
// see it, and the customer sees it on that shop's host once it is ready and marked visible.
// The upload lands in quarantine (`storage_key` = quarantine/…) with status `pending`; the
// `uploads` job sniffs the content and either moves it to documents/… (`ready`, with the
// sniffed type and, for images, a thumbnail) or deletes it (`rejected`, with the reason shown).
// Keys are random and never derived from the file name; `original_name` is for display only.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE customer_documents (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      customer_id bigint NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      shop_id bigint NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
      original_name text NOT NULL CHECK (length(original_name) BETWEEN 1 AND 255),
      -- NULL once a rejected file is gone.
      storage_key text CHECK (storage_key ~ '^(quarantine|documents)/[a-f0-9]{32}$'),
      thumbnail_key text CHECK (thumbnail_key ~ '^documents/[a-f0-9]{32}$'),
      byte_size bigint NOT NULL CHECK (byte_size >= 0),
      -- Sniffed from the content by the job; NULL while pending.
      content_type text CHECK (length(content_type) <= 200),
      extension text CHECK (extension ~ '^[a-z0-9]{1,10}$'),
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready', 'rejected')),
      reason text CHECK (length(reason) <= 500),
      visible_to_customer boolean NOT NULL DEFAULT false,
      -- No foreign key: the document keeps who uploaded it after the staff account is gone.
      uploaded_by_staff_id bigint,
      uploaded_by_name text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      processed_at timestamptz,
      CHECK (status <> 'rejected' OR reason IS NOT NULL),
      CHECK (status <> 'ready' OR (storage_key IS NOT NULL AND content_type IS NOT NULL))
    );
    -- The widget: one customer's documents in the staff member's shops, newest first.
    CREATE INDEX customer_documents_customer_idx ON customer_documents (customer_id, shop_id, created_at DESC, id DESC);
    -- The storefront: a customer's ready, visible documents in one shop.
    CREATE INDEX customer_documents_visible_idx ON customer_documents (shop_id, customer_id, created_at DESC) WHERE status = 'ready' AND visible_to_customer;
    -- The sweep: pending documents whose job was lost.
    CREATE INDEX customer_documents_pending_idx ON customer_documents (created_at) WHERE status = 'pending';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE customer_documents');
}
