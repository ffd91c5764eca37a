import type { CustomerListQuery } from '../../schemas/customer-list.schema.js';
import { viewHelpers } from '../views.js';
import type { ListUrl } from './list-url.js';

export interface FilterChip {
  label: string;
  removeUrl: string;
}

const TYPE_LABELS: Record<string, string> = { B2C: 'Private', B2B: 'Business', B2E: 'Employee', GUEST: 'Guest' };

/**
 * The active filters as removable chips, each linking to the list without it. `currency` is the
 * listed shops' one; null where they sell in several, whose amounts are in the one chosen with them.
 */
export function filterChips(query: CustomerListQuery, url: ListUrl, currency: string | null, names: { group?: string; segment?: string; business?: string } = {}): FilterChip[] {
  const f = query.filters;
  const chips: FilterChip[] = [];
  const yesNo = (value: boolean | undefined, key: string, yes: string, no: string) => {
    if (value !== undefined) chips.push({ label: value ? yes : no, removeUrl: url.without(key) });
  };
  const range = (from: string | undefined, to: string | undefined, fromKey: string, toKey: string, label: string) => {
    if (from) chips.push({ label: `${label} from ${from}`, removeUrl: url.without(fromKey) });
    if (to) chips.push({ label: `${label} until ${to}`, removeUrl: url.without(toKey) });
  };

  if (query.q) chips.push({ label: `Search: ${query.q}`, removeUrl: url.without('q') });
  for (const s of f.state) chips.push({ label: `State: ${viewHelpers.stateLabel(s)}`, removeUrl: url.without('state', s) });
  for (const s of f.status) chips.push({ label: `In shop: ${viewHelpers.stateLabel(s)}`, removeUrl: url.without('status', s) });
  for (const t of f.type) chips.push({ label: `Type: ${TYPE_LABELS[t] ?? t}`, removeUrl: url.without('type', t) });
  for (const t of f.tag) chips.push({ label: `Tag${f.tag.length > 1 ? (f.tagMode === 'all' ? ' (all)' : ' (any)') : ''}: ${t}`, removeUrl: url.without('tag', t) });
  for (const c of f.country) chips.push({ label: `Country: ${c}`, removeUrl: url.without('country', c) });
  range(f.createdFrom, f.createdTo, 'created_from', 'created_to', 'Created');
  range(f.lastOrderFrom, f.lastOrderTo, 'last_from', 'last_to', 'Last order');
  if (f.ordersMin !== undefined) chips.push({ label: `Orders ≥ ${f.ordersMin}`, removeUrl: url.without('orders_min') });
  if (f.ordersMax !== undefined) chips.push({ label: `Orders ≤ ${f.ordersMax}`, removeUrl: url.without('orders_max') });
  const spentIn = currency ?? f.spentCurrency;
  if (spentIn !== undefined) {
    if (f.spentMin !== undefined) chips.push({ label: `Spent ≥ ${viewHelpers.money(f.spentMin, spentIn)}`, removeUrl: url.without('spent_min') });
    if (f.spentMax !== undefined) chips.push({ label: `Spent ≤ ${viewHelpers.money(f.spentMax, spentIn)}`, removeUrl: url.without('spent_max') });
  }
  if (f.passwordChangedBefore) chips.push({ label: `Password changed before ${f.passwordChangedBefore}`, removeUrl: url.without('pwd_before') });
  yesNo(f.taxExempt, 'tax_exempt', 'Tax exempt', 'Not tax exempt');
  yesNo(f.wholesale, 'wholesale', 'Wholesale', 'Not wholesale');
  yesNo(f.marketing, 'marketing', 'Accepts marketing', 'No marketing');
  if (f.group !== undefined) chips.push({ label: `Group: ${names.group ?? `#${f.group}`}`, removeUrl: url.without('group') });
  if (f.segment !== undefined) chips.push({ label: `Segment: ${names.segment ?? `#${f.segment}`}`, removeUrl: url.without('segment') });
  if (f.business !== undefined) chips.push({ label: `Business account: ${names.business ?? `#${f.business}`}`, removeUrl: url.without('business') });
  return chips;
}
