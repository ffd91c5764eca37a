import type { Knex } from 'knex';
import { NotFoundError } from '../lib/errors.js';
import type { CustomerAccess } from './customer-access.service.js';
import { defaultAddresses, type AddressRecord } from './customer-address.service.js';
import { creditBalances, creditHistory, creditRefusal } from './customer-credit.service.js';
import { customerRecord, customerTags, deleteRefusal, mayDeleteCustomers, orderFigures, type CustomerRecord } from './customer-details.service.js';
import { countNotes, listNotes } from './customer-note.service.js';
import { mayInvite, shopInvitationState } from './invitation.service.js';
import { recentOrders } from './customer-order.service.js';
import { timeline } from './customer-timeline.service.js';
import { dashboardWidget, dashboardWidgets, registerWidget, type DashboardWidget } from './dashboard-widgets.js';
import { loadSubscriptionsWidget } from './customer-subscription.service.js';
import { loadGroupsWidget } from './customer-membership.service.js';
import { loadPrivacy } from './gdpr/privacy-widget.js';
import { loadCardsWidget } from './payment-cards.widget.js';
import { loadPriceGroupsWidget } from './price-groups.widget.js';
import { loadPurchaseLimitWidget } from './purchase-limit.widget.js';
import { erasedCustomerName } from './gdpr/gdpr-access.js';
import { taxExemptGroupNames } from './customer-group.service.js';

// The customer dashboard (F-DASH) is a stack of widgets (see dashboard-widgets.ts). The core ones
// are a partial in views/partials/admin/dashboard/ plus a loader here; after a change the server
// re-renders one widget by name (GET …/widgets/NAME, or as the answer to a save).

export interface CustomerInfo {
  customer: CustomerRecord;
  /** The header name: the default shipping address's first and last name, else the account's. */
  headerName: string;
  businessAccount: { id: number; name: string; taxExempt: boolean } | null;
  /** F-CUST-5: exempt when the customer OR their business account OR one of their tax-exempt (availability) groups is. */
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
  for (const group of await taxExemptGroupNames(knex, access.customerId)) via.push(`group ${group}`);
  const shippingName = [defaults.shipping?.firstName, defaults.shipping?.lastName].filter(Boolean).join(' ');
  return {
    customer,
    headerName: customer.erasedAt ? erasedCustomerName(customer.id) : shippingName || [customer.firstName, customer.lastName].filter(Boolean).join(' ') || customer.email,
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

async function loadShops(knex: Knex, access: CustomerAccess) {
  // F-LIFE-2: per shop, whether to offer "Invite" or "Resend invitation".
  return { shops: access.shops, invitations: await shopInvitationState(knex, access), mayInvite: mayInvite(access.staff) };
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

// Every core widget, in page order per column; the partial is partials/admin/dashboard/<template>.
// Documents register from their router (the upload form needs the configured size limit) and
// modules through installModules (app/modules/).
const CORE_WIDGETS: Array<Omit<DashboardWidget, 'template'> & { template?: string }> = [
  { name: 'info', column: 'main', order: 10, load: loadInfo },
  { name: 'orders', column: 'main', order: 20, load: loadOrders },
  { name: 'subscriptions', column: 'main', order: 40, load: loadSubscriptionsWidget },
  { name: 'timeline', column: 'main', order: 90, load: loadTimeline },
  { name: 'credit', column: 'side', order: 10, load: loadCredit },
  { name: 'shops', column: 'side', order: 20, load: loadShops },
  { name: 'notes', column: 'side', order: 30, load: loadNotes },
  { name: 'tags', column: 'side', order: 40, load: loadTags },
  { name: 'groups', column: 'side', order: 45, load: loadGroupsWidget },
  { name: 'priceGroups', template: 'price-groups', column: 'side', order: 60, load: loadPriceGroupsWidget },
  { name: 'cards', column: 'side', order: 70, load: loadCardsWidget },
  { name: 'purchaseLimit', template: 'purchase-limit', column: 'side', order: 80, load: loadPurchaseLimitWidget },
  { name: 'privacy', column: 'side', order: 98, load: loadPrivacy },
  { name: 'danger', column: 'side', order: 99, load: loadDanger },
];
for (const widget of CORE_WIDGETS) registerWidget({ ...widget, template: `partials/admin/dashboard/${widget.template ?? widget.name}` });

/** The locals one widget's partial gets: its data under `w`, and the customer id for its links. */
export async function loadWidget(knex: Knex, access: CustomerAccess, name: string) {
  const widget = dashboardWidget(name);
  if (!widget) throw new NotFoundError('There is no such widget.');
  return { template: widget.template, locals: { customerId: access.customerId, w: await widget.load(knex, access) } };
}

/** Every widget of the page, loaded in parallel, in page order per column. */
export async function loadDashboard(knex: Knex, access: CustomerAccess) {
  const loaded = await Promise.all(dashboardWidgets().map(async (widget) => ({ name: widget.name, column: widget.column, ...(await loadWidget(knex, access, widget.name)) })));
  const info = loaded.find((w) => w.name === 'info')!.locals.w as CustomerInfo;
  return { info, main: loaded.filter((w) => w.column === 'main'), side: loaded.filter((w) => w.column === 'side') };
}
