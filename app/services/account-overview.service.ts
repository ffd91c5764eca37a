import type { Knex } from 'knex';
import type { ShopContext } from './shop.service.js';

/** F-ACC-1 with what exists so far: who the customer is and their recent orders in this shop. */
export async function getAccountOverview(knex: Knex, shop: ShopContext, customerId: number) {
  const [customer, stats, recentOrders] = await Promise.all([
    knex('customers').where({ id: customerId }).first('firstName', 'lastName', 'email', 'customerType', 'taxExempt', 'businessAccountId', 'createdAt'),
    knex('customerShops').where({ customerId, shopId: shop.id }).first('ordersCount', 'totalSpent'),
    knex('orders')
      .where({ customerId, shopId: shop.id })
      .orderBy([{ column: 'placedAt', order: 'desc' }, { column: 'id', order: 'desc' }])
      .limit(5)
      .select('id', 'number', 'status', 'total', 'currency', 'placedAt'),
  ]);
  const businessTaxExempt = customer.businessAccountId
    ? Boolean((await knex('businessAccounts').where({ id: customer.businessAccountId }).first('taxExempt'))?.taxExempt)
    : false;
  return { profile: customer, taxExempt: customer.taxExempt || businessTaxExempt, stats, recentOrders };
}
