import type { Knex } from 'knex';
import { whereInScope, type CustomerAccess } from './customer-access.service.js';

export interface OrderRow {
  id: number;
  number: string;
  status: string;
  total: number;
  currency: string;
  placedAt: Date;
  shopName: string;
}

export const orderSorts = ['placed', 'total', 'number'] as const;
export type OrderSort = (typeof orderSorts)[number];
// The allow-list: the query string names a sort, never a column.
const SORT_COLUMNS: Record<OrderSort, string> = { placed: 'orders.placedAt', total: 'orders.total', number: 'orders.number' };

export interface OrderPageQuery {
  sort: OrderSort;
  dir: 'asc' | 'desc';
  page: number;
}

export const ORDERS_PAGE_SIZE = 25;
const MAX_PAGE = 10_000;

export function parseOrderPageQuery(query: Record<string, unknown>): OrderPageQuery {
  const sort = orderSorts.includes(query.sort as OrderSort) ? (query.sort as OrderSort) : 'placed';
  const dir = query.dir === 'asc' ? 'asc' : 'desc';
  const page = Number(query.page);
  return { sort, dir, page: Number.isSafeInteger(page) && page >= 1 && page <= MAX_PAGE ? page : 1 };
}

function scopedOrders(db: Knex, access: CustomerAccess) {
  return whereInScope(
    db('orders')
      .join('shops', 'shops.id', 'orders.shopId')
      .where('orders.customerId', access.customerId)
      .select('orders.id', 'orders.number', 'orders.status', 'orders.total', 'orders.currency', 'orders.placedAt', 'shops.name as shopName'),
    'orders.shopId',
    access.staff.scope,
  );
}

/** The most recent orders in the staff member's shops (an index range scan, however many orders there are). */
export async function recentOrders(db: Knex, access: CustomerAccess, limit = 6): Promise<OrderRow[]> {
  return scopedOrders(db, access)
    .orderBy([{ column: 'orders.placedAt', order: 'desc' }, { column: 'orders.id', order: 'desc' }])
    .limit(limit);
}

/** One page of "view all", sorted from the allow-list; `hasNext` comes from reading one row more. */
export async function ordersPage(db: Knex, access: CustomerAccess, query: OrderPageQuery): Promise<{ rows: OrderRow[]; hasNext: boolean }> {
  const rows = (await scopedOrders(db, access)
    .orderBy([{ column: SORT_COLUMNS[query.sort], order: query.dir }, { column: 'orders.id', order: query.dir }])
    .offset((query.page - 1) * ORDERS_PAGE_SIZE)
    .limit(ORDERS_PAGE_SIZE + 1)) as OrderRow[];
  return { rows: rows.slice(0, ORDERS_PAGE_SIZE), hasNext: rows.length > ORDERS_PAGE_SIZE };
}
