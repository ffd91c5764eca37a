import type { Knex } from 'knex';
import type { ShopScope } from '../models/staff-user.model.js';
import type { CustomerListQuery, CustomerSort } from '../schemas/customer-list.schema.js';

export const PAGE_SIZE = 25;

export interface CustomerListRow {
  id: number;
  email: string;
  firstName: string;
  lastName: string;
  state: string;
  city: string | null;
  countryCode: string | null;
  ordersCount: number;
  totalSpent: number;
  lastOrderAt: Date | null;
  lastOrderId: number | null;
}

export interface CustomerListPage {
  rows: CustomerListRow[];
  hasNext: boolean;
  hasPrevious: boolean;
}

// The allow-list of sort expressions: the query string names a key, never SQL.
const SORT_SQL: Record<CustomerSort, string> = {
  name: 'lower(c.last_name || \' \' || c.first_name)',
  email: 'c.email',
  city: 'lower(a.city)',
  country: 'a.country_code',
  orders: 'agg.orders_count',
  last_order: 'agg.last_order_at',
  total_spent: 'agg.total_spent',
  state: 'c.state',
  created: 'c.created_at',
};

/**
 * One page of the admin customer list: customers assigned to the shops the staff member may see
 * (optionally one of them), with their order figures summed over those shops.
 */
export async function listCustomers(knex: Knex, scope: ShopScope, query: CustomerListQuery): Promise<CustomerListPage> {
  const shopIds = await visibleShopIds(knex, scope, query.shop);
  if (shopIds.length === 0) return { rows: [], hasNext: false, hasPrevious: false };

  const direction = query.dir === 'asc' ? 'ASC' : 'DESC';
  const nulls = direction === 'ASC' ? 'NULLS FIRST' : 'NULLS LAST';
  const bindings: Array<string | number> = [...shopIds];
  let where = '';
  if (query.q) {
    const pattern = `%${query.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
    where = `WHERE c.email ILIKE ? OR c.first_name ILIKE ? OR c.last_name ILIKE ? OR (c.first_name || ' ' || c.last_name) ILIKE ? OR c.company_name1 ILIKE ? OR c.phone ILIKE ?`;
    bindings.push(pattern, pattern, pattern, pattern, pattern, pattern);
  }
  bindings.push(PAGE_SIZE + 1, (query.page - 1) * PAGE_SIZE);

  const result = await knex.raw(
    // knex.raw rows skip the snake_case → camelCase mapping: alias every column to its CustomerListRow name.
    `SELECT c.id, c.email, c.first_name AS "firstName", c.last_name AS "lastName", c.state, a.city, a.country_code AS "countryCode",
            agg.orders_count AS "ordersCount", agg.total_spent AS "totalSpent", agg.last_order_at AS "lastOrderAt", agg.last_order_id AS "lastOrderId"
       FROM customers c
       JOIN (SELECT customer_id,
                    sum(orders_count)::int AS orders_count,
                    sum(total_spent)::bigint AS total_spent,
                    max(last_order_at) AS last_order_at,
                    (array_agg(last_order_id ORDER BY last_order_at DESC NULLS LAST))[1] AS last_order_id
               FROM customer_shops WHERE shop_id IN (${shopIds.map(() => '?').join(', ')}) GROUP BY customer_id) agg ON agg.customer_id = c.id
       LEFT JOIN addresses a ON a.customer_id = c.id AND a.is_default_billing
       ${where}
      ORDER BY ${SORT_SQL[query.sort]} ${direction} ${nulls}, c.id ${direction}
      LIMIT ? OFFSET ?`,
    bindings,
  );
  const rows = result.rows as CustomerListRow[];
  return { rows: rows.slice(0, PAGE_SIZE), hasNext: rows.length > PAGE_SIZE, hasPrevious: query.page > 1 };
}

async function visibleShopIds(knex: Knex, scope: ShopScope, requested?: number): Promise<number[]> {
  if (requested !== undefined) return scope === 'all' || scope.includes(requested) ? [requested] : [];
  if (scope !== 'all') return scope;
  const rows = await knex('shops').select('id');
  return rows.map((row: { id: number }) => row.id);
}
