import type { Knex } from 'knex';
import { NotFoundError } from '../lib/errors.js';
import type { Customer } from '../models/customer.model.js';
import type { ShopScope } from '../models/staff-user.model.js';

export interface CustomerSummary {
  customer: Customer;
  assignments: Array<{ shopId: number; shopName: string; status: string; ordersCount: number; totalSpent: number; currency: string; lastOrderAt: Date | null }>;
  addresses: Array<Record<string, unknown>>;
  recentOrders: Array<{ id: number; number: string; status: string; total: number; currency: string; placedAt: Date; shopName: string }>;
  tags: string[];
}

/**
 * The customer as the staff member may see them: only their assignments, orders and figures in the
 * staff member's shops. A customer with no assignment in scope does not exist for them (404).
 */
export async function getCustomerSummary(knex: Knex, scope: ShopScope, customerId: number, salesTeamId: number | null = null): Promise<CustomerSummary> {
  const inScope = <T extends Knex.QueryBuilder>(query: T, column: string): T => (scope === 'all' ? query : (query.whereIn(column, scope) as T));

  const assignments = await inScope(
    knex('customerShops')
      .join('shops', 'shops.id', 'customerShops.shopId')
      .where('customerShops.customerId', customerId)
      .select('customerShops.shopId', 'shops.name as shopName', 'shops.currency', 'customerShops.status', 'customerShops.ordersCount', 'customerShops.totalSpent', 'customerShops.lastOrderAt')
      .orderBy('shops.name'),
    'customerShops.shopId',
  );
  const outsideTeam = salesTeamId !== null && !(await knex('customers').where({ id: customerId, salesTeamId }).first('id'));
  if (assignments.length === 0 || outsideTeam) throw new NotFoundError('We could not find that customer.');

  const [customer, addresses, recentOrders, tags] = await Promise.all([
    knex('customers').where({ id: customerId }).first(),
    knex('addresses').where({ customerId }).orderBy([{ column: 'isDefaultBilling', order: 'desc' }, { column: 'isDefaultShipping', order: 'desc' }, { column: 'id' }]),
    inScope(
      knex('orders')
        .join('shops', 'shops.id', 'orders.shopId')
        .where('orders.customerId', customerId)
        .select('orders.id', 'orders.number', 'orders.status', 'orders.total', 'orders.currency', 'orders.placedAt', 'shops.name as shopName')
        .orderBy([{ column: 'orders.placedAt', order: 'desc' }, { column: 'orders.id', order: 'desc' }])
        .limit(6),
      'orders.shopId',
    ),
    knex('customerTags').where({ customerId }).orderBy('tag').pluck('tag'),
  ]);
  return { customer, assignments, addresses, recentOrders, tags };
}
