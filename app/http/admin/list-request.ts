import { andList } from '../../lib/and-list.js';
import { parseCustomerListQuery, type CustomerListQuery } from '../../schemas/customer-list.schema.js';
import { resolveListSource, spentFilterApplies, type ListSource } from '../../services/customer-list-filter.js';
import type { ShopOption } from '../../services/shop.service.js';
import type { StaffPrincipal } from '../../services/staff.service.js';

/** What a request of the customer list selects for one staff member. */
export interface ListRequest {
  query: CustomerListQuery;
  source: ListSource | null;
  /** The listed shop; none over all shops. */
  shop?: ShopOption;
  /**
   * The currencies of the listed shops, sorted: one, or several over all shops of a merchant who
   * sells in several; none for a staff member without shops.
   */
  currencies: string[];
  /**
   * The parameters of the request that were set aside because they cannot apply here: links and the
   * address bar leave them out, so that paging and sharing do not bring them back.
   */
  setAside: string[];
}

/**
 * The list's query as this staff member may apply it, for every request that acts on a list: its
 * page, its count, its export and its bulk actions. What cannot apply is set aside the same way for
 * each and said on the page (query.ignored), so an export or a bulk action reaches exactly the
 * customers the page listed.
 */
export function resolveListRequest(staff: StaffPrincipal, rawQuery: Record<string, unknown>): ListRequest {
  const query = parseCustomerListQuery(rawQuery);
  const shops = staff.shops;
  const source = resolveListSource(staff.scope, shops, query.shop);
  if (typeof query.shop === 'number' && !shops.some((s) => s.id === query.shop)) query.ignored.push(`shop “${query.shop}” (not one of your shops)`);
  if (query.shop === 'all' && source?.kind !== 'all') query.ignored.push('shop “all” (you see only some shops)');
  // The status of an assignment exists in one shop only: over all shops it cannot filter, so say so
  // instead of showing a chip for a filter that is not applied.
  const setAside: string[] = [];
  if (source?.kind !== 'shop' && query.filters.status.length) {
    query.ignored.push(...query.filters.status.map((s) => `shop status “${s}” (choose a shop)`));
    query.filters.status = [];
    setAside.push('status');
  }
  const shop = source?.kind === 'shop' ? shops.find((s) => s.id === source.shopId) : undefined;
  const currencies = [...new Set((shop ? [shop] : shops).map((s) => s.currency))].sort();
  setAside.push(...resolveMoney(query, currencies, shop !== undefined));
  return { query, source, shop, currencies, setAside };
}

/**
 * The money filters' currency. In a shop, or over shops that sell in one, it is theirs: a total spent
 * asked for in another is set aside. Over shops that sell in several, a customer's total spent adds
 * amounts of different currencies, a sum that is no amount at all: the list does not sort by it (the
 * page shows one total per currency), and filters by what was spent in the shops of the currency
 * chosen with the amounts (spent_currency).
 */
function resolveMoney(query: CustomerListQuery, currencies: string[], inShop: boolean): string[] {
  const f = query.filters;
  const setAside: string[] = [];
  const sold = andList(currencies);
  if ((f.spentMin !== undefined || f.spentMax !== undefined) && currencies.length > 0 && !spentFilterApplies(f.spentCurrency, currencies)) {
    const why = f.spentCurrency === undefined ? `(your shops sell in ${sold}: choose a currency)` : `in ${f.spentCurrency} (${inShop ? 'this shop sells' : 'your shops sell'} in ${sold})`;
    query.ignored.push(`total spent ${why}`);
    f.spentMin = undefined;
    f.spentMax = undefined;
    setAside.push('spent_min', 'spent_max');
  }
  if (currencies.length > 1 && query.sort === 'total_spent') {
    query.ignored.push(`sort by total spent (your shops sell in ${sold}: choose a shop)`);
    // Newest first, from the first page: a cursor of the set-aside order means nothing in this one.
    query.sort = 'created';
    query.dir = 'desc';
    query.after = undefined;
    query.before = undefined;
    setAside.push('sort', 'dir', 'after', 'before');
  }
  // The currency says something only with an amount over shops of several currencies.
  if (currencies.length <= 1 || (f.spentMin === undefined && f.spentMax === undefined)) {
    f.spentCurrency = undefined;
    setAside.push('spent_currency');
  }
  return setAside;
}
