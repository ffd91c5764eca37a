import type { Knex } from 'knex';
import type { CustomerListQuery } from '../schemas/customer-list.schema.js';
import { customerListFilter, type ListSource } from './customer-list.service.js';

const BATCH = 2_000;

export const EXPORT_COLUMNS = [
  'id', 'email', 'first_name', 'last_name', 'state', 'customer_type', 'company', 'phone', 'city', 'country',
  'orders_count', 'total_spent', 'last_order_at', 'created_at', 'password_changed_at', 'marketing_opt_in', 'tax_exempt', 'tags',
] as const;

/**
 * A spreadsheet program runs a cell that starts with one of these as a formula (CSV injection);
 * a leading apostrophe makes it text.
 */
export function neutraliseFormula(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/**
 * The customers of a list query, in id order, read in keyset batches so memory stays flat however
 * many there are. Order figures are those of the listed shop (or of all shops).
 */
export async function* exportCustomerRows(knex: Knex, source: ListSource, query: Pick<CustomerListQuery, 'q' | 'filters'>, salesTeamId: number | null): AsyncGenerator<string[]> {
  const figures = source.kind === 'shop' ? 'cs' : 'c';
  let afterId = 0;
  for (;;) {
    const rows = await customerListFilter(knex, source, query, salesTeamId)
      .where('c.id', '>', afterId)
      .orderBy('c.id')
      .limit(BATCH)
      .select(
        'c.id', 'c.email', 'c.first_name', 'c.last_name', 'c.state', 'c.customer_type', 'c.company_name1', 'c.phone', 'c.billing_city', 'c.billing_country',
        `${figures}.orders_count`, `${figures}.total_spent`, `${figures}.last_order_at`, 'c.created_at', 'c.password_changed_at', 'c.marketing_opt_in', 'c.tax_exempt',
        knex.raw("(SELECT string_agg(t.tag::text, ', ' ORDER BY t.tag) FROM customer_tags t WHERE t.customer_id = c.id) AS tags"),
      );
    for (const row of rows) {
      yield [
        String(row.id), row.email, row.firstName, row.lastName, row.state, row.customerType, row.companyName1, row.phone, row.billingCity ?? '', row.billingCountry ?? '',
        String(row.ordersCount), (Number(row.totalSpent) / 100).toFixed(2), iso(row.lastOrderAt), iso(row.createdAt), iso(row.passwordChangedAt),
        row.marketingOptIn ? 'yes' : 'no', row.taxExempt ? 'yes' : 'no', row.tags ?? '',
      ].map(neutraliseFormula);
    }
    if (rows.length < BATCH) return;
    afterId = rows[rows.length - 1].id;
  }
}

function iso(value: Date | null): string {
  return value ? value.toISOString() : '';
}
