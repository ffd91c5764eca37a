import { z } from 'zod';
import { calendarDate } from './calendar-date.js';
import { customerTypes } from './shop-settings.schema.js';

export const customerSortColumns = ['name', 'email', 'city', 'country', 'orders', 'last_order', 'total_spent', 'state', 'created'] as const;
export type CustomerSort = (typeof customerSortColumns)[number];

export const optionalColumns = ['password_changed', 'created', 'type', 'tags', 'business_account', 'credit', 'aov'] as const;
export type OptionalColumn = (typeof optionalColumns)[number];

export const customerStates = ['guest', 'invited', 'active', 'disabled'] as const;
export const assignmentStatuses = ['pending_approval', 'active', 'disabled'] as const;
export const pageSizes = [25, 50, 100] as const;

/** What the list shows when its query string leaves a key out (so links and the address bar may). */
export const LIST_DEFAULTS = { sort: 'created', dir: 'desc', size: 25, tagmode: 'any' } as const;

export interface CustomerFilters {
  state: Array<(typeof customerStates)[number]>;
  type: Array<(typeof customerTypes)[number]>;
  status: Array<(typeof assignmentStatuses)[number]>;
  tag: string[];
  tagMode: 'all' | 'any';
  country: string[];
  createdFrom?: string;
  createdTo?: string;
  ordersMin?: number;
  ordersMax?: number;
  /** Money filters in minor units (the form takes major units). */
  spentMin?: number;
  spentMax?: number;
  /**
   * Over all shops of a merchant who sells in several currencies: the currency the money filters
   * are in, compared with what a customer spent in the shops of that currency.
   */
  spentCurrency?: string;
  lastOrderFrom?: string;
  lastOrderTo?: string;
  passwordChangedBefore?: string;
  taxExempt?: boolean;
  wholesale?: boolean;
  marketing?: boolean;
  /** F-GRP-2/3, F-CUST-5: members of a customer group, of a segment (directly or through its groups), of a business account. */
  group?: number;
  segment?: number;
  business?: number;
}

export interface CustomerListQuery {
  q: string;
  sort: CustomerSort;
  dir: 'asc' | 'desc';
  /** A shop id, or 'all' (staff who see every shop only). Resolved against the staff scope later. */
  shop?: number | 'all';
  size: (typeof pageSizes)[number];
  after?: string;
  before?: string;
  filters: CustomerFilters;
  columns: OptionalColumn[];
  /** Values that were given but could not be used, with the reason, to show the staff member. */
  ignored: string[];
}

type Raw = Record<string, unknown>;

const strings = (value: unknown): string[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter((v): v is string => typeof v === 'string');
/** Multi-valued filters accept repeated keys and comma-separated values alike. */
const list = (value: unknown): string[] => strings(value).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
/** Single values: the first one given (an empty field, as a form may send before it, gives none). */
const first = (value: unknown): string | undefined => strings(value).map((v) => v.trim()).find(Boolean);

const date = calendarDate;
const wholeNumber = z.coerce.number().int().min(0).max(1_000_000_000);
const amount = z.coerce.number().min(0).max(10_000_000_000);
const recordId = z.string().regex(/^\d{1,15}$/).transform(Number).pipe(z.number().int().positive());
// Built once: the list parses a query on every request, and building zod schemas is not free.
const yesOrNo = z.enum(['yes', 'no']);
const shopId = z.coerce.number().int().positive();
const sortColumn = z.enum(customerSortColumns);
const direction = z.enum(['asc', 'desc']);
const pageSize = z.coerce.number().pipe(z.union(pageSizes.map((n) => z.literal(n))));
const cursor = z.string().max(300);
const tagMode = z.enum(['all', 'any']);
const currencyCode = z.string().regex(/^[A-Za-z]{3}$/).transform((code) => code.toUpperCase());

/**
 * Reads /admin/customers' query string. Nothing here throws: a value that cannot be used is left
 * out and named in `ignored`, so a shared or bookmarked link always opens.
 */
export function parseCustomerListQuery(raw: Raw): CustomerListQuery {
  const ignored: string[] = [];
  const pick = <T>(key: string, label: string, schema: z.ZodType<T>): T | undefined => {
    const value = first(raw[key]);
    if (value === undefined || value === '') return undefined;
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    ignored.push(`${label} “${value.slice(0, 40)}”`);
    return undefined;
  };
  const pickMany = <T extends string>(key: string, label: string, allowed: readonly T[], normalise = (v: string) => v): T[] => {
    const values = list(raw[key]).map(normalise);
    for (const value of values) if (!allowed.includes(value as T)) ignored.push(`${label} “${value.slice(0, 40)}”`);
    return [...new Set(values.filter((v): v is T => allowed.includes(v as T)))];
  };
  const yesNo = (key: string, label: string) => {
    const value = pick(key, label, yesOrNo);
    return value === undefined ? undefined : value === 'yes';
  };

  // NUL cannot occur in PostgreSQL text (and would fail the query): drop it.
  const q = (first(raw.q) ?? '').replaceAll('\u0000', '').slice(0, 200);
  const shopValue = first(raw.shop);
  const shop = shopValue === undefined || shopValue === '' ? undefined : shopValue === 'all' ? 'all' : pick('shop', 'shop', shopId);
  const countries = list(raw.country).map((c) => c.toUpperCase());
  for (const c of countries) if (!/^[A-Z]{2}$/.test(c)) ignored.push(`country “${c.slice(0, 40)}”`);
  const tags = [...new Set(list(raw.tag).map((t) => t.toLowerCase()))];
  for (const t of tags) if (t.length > 64) ignored.push(`tag “${t.slice(0, 40)}…”`);
  const spentMin = pick('spent_min', 'minimum spent', amount);
  const spentMax = pick('spent_max', 'maximum spent', amount);

  return {
    q,
    sort: pick('sort', 'sort', sortColumn) ?? LIST_DEFAULTS.sort,
    dir: pick('dir', 'direction', direction) ?? LIST_DEFAULTS.dir,
    shop,
    size: (pick('size', 'page size', pageSize) ?? LIST_DEFAULTS.size) as CustomerListQuery['size'],
    after: pick('after', 'page', cursor),
    before: pick('before', 'page', cursor),
    filters: {
      state: pickMany('state', 'state', customerStates),
      type: pickMany('type', 'customer type', customerTypes, (v) => v.toUpperCase()),
      status: pickMany('status', 'shop status', assignmentStatuses),
      tag: tags.filter((t) => t.length <= 64),
      tagMode: pick('tagmode', 'tag match', tagMode) ?? LIST_DEFAULTS.tagmode,
      country: [...new Set(countries.filter((c) => /^[A-Z]{2}$/.test(c)))],
      createdFrom: pick('created_from', 'created from', date),
      createdTo: pick('created_to', 'created to', date),
      ordersMin: pick('orders_min', 'minimum orders', wholeNumber),
      ordersMax: pick('orders_max', 'maximum orders', wholeNumber),
      spentMin: spentMin === undefined ? undefined : Math.round(spentMin * 100),
      spentMax: spentMax === undefined ? undefined : Math.round(spentMax * 100),
      spentCurrency: pick('spent_currency', 'currency', currencyCode),
      lastOrderFrom: pick('last_from', 'last order from', date),
      lastOrderTo: pick('last_to', 'last order to', date),
      passwordChangedBefore: pick('pwd_before', 'password changed before', date),
      taxExempt: yesNo('tax_exempt', 'tax exempt'),
      wholesale: yesNo('wholesale', 'wholesale'),
      marketing: yesNo('marketing', 'marketing opt-in'),
      group: pick('group', 'group', recordId),
      segment: pick('segment', 'segment', recordId),
      business: pick('business', 'business account', recordId),
    },
    columns: pickMany('cols', 'column', optionalColumns),
    ignored,
  };
}
