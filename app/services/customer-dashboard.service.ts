import type { Knex } from 'knex';
import type { CustomerAccess } from './customer-access.service.js';
import { defaultAddresses, type AddressRecord } from './customer-address.service.js';
import { creditBalances, creditHistory, creditRefusal } from './customer-credit.service.js';
import { customerRecord, customerTags, deleteRefusal, mayDeleteCustomers, orderFigures, type CustomerRecord } from './customer-details.service.js';
import { countNotes, listNotes } from './customer-note.service.js';
import { recentOrders } from './customer-order.service.js';
import { timeline } from './customer-timeline.service.js';

// The customer dashboard (F-DASH) is a stack of widgets. Each widget is a partial in
// views/partials/admin/dashboard/ plus a loader here; the page renders them in this order, and
// after a change the server re-renders one widget by name (GET …/widgets/NAME, or as the answer
// to a save). A widget's loader gets the scope-checked access and returns what its partial prints.

export interface CustomerInfo {
  customer: CustomerRecord;
  /** The header name: the default shipping address's first and last name, else the account's. */
  headerName: string;
  businessAccount: { id: number; name: string; taxExempt: boolean } | null;
  /** F-CUST-5: exempt when the customer OR their business account is (availability groups do not exist yet). */
  taxExempt: { exempt: boolean; via: string[] };
  figures: ReturnType<typeof orderFigures>;
  billing: AddressRecord | null;
  shipping: AddressRecord | null;
  addressCount: number;
}

async function loadInfo(knex: Knex, access: CustomerAccess): Promise<CustomerInfo> {
  const customer = await customerRecord(knex, access.customerId);
  const [defaults, businessAccount, addressCount] = await Promise.all([
    defaultAddresses(knex, access),
    customer.businessAccountId ? knex('businessAccounts').where({ id: customer.businessAccountId }).first('id', 'name', 'taxExempt') : null,
    knex('addresses').where({ customerId: access.customerId }).count({ n: '*' }).first(),
  ]);
  const via: string[] = [];
  if (customer.taxExempt) via.push('customer');
  if (businessAccount?.taxExempt) via.push(`business account ${businessAccount.name}`);
  const shippingName = [defaults.shipping?.firstName, defaults.shipping?.lastName].filter(Boolean).join(' ');
  return {
    customer,
    headerName: shippingName || [customer.firstName, customer.lastName].filter(Boolean).join(' ') || customer.email,
    businessAccount: businessAccount ?? null,
    taxExempt: { exempt: via.length > 0, via },
    figures: orderFigures(access),
    billing: defaults.billing,
    shipping: defaults.shipping,
    addressCount: Number((addressCount as { n: string | number }).n),
  };
}

async function loadOrders(knex: Knex, access: CustomerAccess) {
  return { orders: await recentOrders(knex, access, 6), total: access.shops.reduce((sum, s) => sum + Number(s.ordersCount), 0) };
}

async function loadCredit(knex: Knex, access: CustomerAccess) {
  const [balances, recent, customer] = await Promise.all([
    creditBalances(knex, access),
    creditHistory(knex, access, { limit: 3 }),
    knex('customers').where({ id: access.customerId }).first('state'),
  ]);
  return { balances, recent, refusal: creditRefusal((customer as { state: string }).state) };
}

async function loadNotes(knex: Knex, access: CustomerAccess) {
  const [notes, count] = await Promise.all([listNotes(knex, access, { limit: 3 }), countNotes(knex, access)]);
  return { notes, count };
}

async function loadShops(_knex: Knex, access: CustomerAccess) {
  return { shops: access.shops };
}

async function loadTags(knex: Knex, access: CustomerAccess) {
  return { tags: await customerTags(knex, access.customerId) };
}

async function loadTimeline(knex: Knex, access: CustomerAccess) {
  return timeline(knex, access, { limit: 8 });
}

async function loadDanger(knex: Knex, access: CustomerAccess) {
  return { mayDelete: mayDeleteCustomers(access.staff), refusal: mayDeleteCustomers(access.staff) ? await deleteRefusal(knex, access) : null };
}

interface WidgetDefinition {
  template: string;
  /** The column the widget sits in on wide screens. */
  column: 'main' | 'side';
  load(knex: Knex, access: CustomerAccess): Promise<object>;
}

export const WIDGETS = {
  info: { template: 'partials/admin/dashboard/info', column: 'main', load: loadInfo },
  orders: { template: 'partials/admin/dashboard/orders', column: 'main', load: loadOrders },
  timeline: { template: 'partials/admin/dashboard/timeline', column: 'main', load: loadTimeline },
  credit: { template: 'partials/admin/dashboard/credit', column: 'side', load: loadCredit },
  shops: { template: 'partials/admin/dashboard/shops', column: 'side', load: loadShops },
  notes: { template: 'partials/admin/dashboard/notes', column: 'side', load: loadNotes },
  tags: { template: 'partials/admin/dashboard/tags', column: 'side', load: loadTags },
  danger: { template: 'partials/admin/dashboard/danger', column: 'side', load: loadDanger },
} satisfies Record<string, WidgetDefinition>;

export type WidgetName = keyof typeof WIDGETS;

export function isWidgetName(name: string): name is WidgetName {
  return Object.hasOwn(WIDGETS, name);
}

/** The locals one widget's partial gets: its data under `w`, and the customer id for its links. */
export async function loadWidget(knex: Knex, access: CustomerAccess, name: WidgetName) {
  const widget: WidgetDefinition = WIDGETS[name];
  return { template: widget.template, locals: { customerId: access.customerId, w: await widget.load(knex, access) } };
}

/** Every widget of the page, loaded in parallel, in page order per column. */
export async function loadDashboard(knex: Knex, access: CustomerAccess) {
  const names = Object.keys(WIDGETS) as WidgetName[];
  const loaded = await Promise.all(names.map(async (name) => ({ name, column: (WIDGETS[name] as WidgetDefinition).column, ...(await loadWidget(knex, access, name)) })));
  const info = loaded.find((w) => w.name === 'info')!.locals.w as CustomerInfo;
  return { info, main: loaded.filter((w) => w.column === 'main'), side: loaded.filter((w) => w.column === 'side') };
}
