import type { Knex } from 'knex';
import { formatAmountInput, formatMoney } from '../lib/money.js';
import { CARD_BRAND_LABELS } from '../lib/payment-card.js';
import type { LimitPeriod } from '../schemas/purchase-limit.schema.js';
import type { CustomerAccess } from './customer-access.service.js';
import { describeLimit } from './purchase-limit.service.js';

// F-CUST-7: the timeline is the customer's audit_log, newest first. Each entry is turned into a
// title and before/after lines here, so templates only print text.

export interface TimelineLine {
  label: string;
  from?: string;
  to?: string;
  text?: string;
}

export interface TimelineEntry {
  id: number;
  at: Date;
  actor: string;
  title: string;
  shopName: string | null;
  lines: TimelineLine[];
}

interface AuditRow {
  id: number;
  occurredAt: Date;
  actorType: 'staff' | 'customer' | 'system';
  actorName: string | null;
  shopName: string | null;
  action: string;
  changes: Record<string, unknown>;
}

const FIELD_LABELS: Record<string, string> = {
  email: 'E-mail',
  salutation: 'Salutation',
  firstName: 'First name',
  middleName: 'Middle name',
  lastName: 'Last name',
  phone: 'Phone',
  customerType: 'Customer type',
  pricingPolicy: 'Pricing policy',
  companyName1: 'Company',
  companyName2: 'Company (line 2)',
  department: 'Department',
  businessAccountId: 'Business account',
  salesTeamId: 'Sales team',
  marketingOptIn: 'Marketing opt-in',
  taxExempt: 'Tax exempt',
  wholesale: 'Wholesale',
  b2bReference: 'B2B reference',
  b2bEmployeeId: 'Employee id',
  b2bChargeId: 'Charge id',
  requireApproval: 'Orders need approval',
  requireApprovalOver: 'Approval needed over',
  blockCheckout: 'Checkout blocked',
  blockCheckoutOver: 'Checkout blocked over',
  tags: 'Tags',
  company: 'Company',
  line1: 'Street',
  line2: 'Address line 2',
  postcode: 'Postcode',
  city: 'City',
  region: 'Region',
  countryCode: 'Country',
};
const AMOUNT_FIELDS = new Set(['requireApprovalOver', 'blockCheckoutOver']);

function show(field: string, value: unknown): string {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (Array.isArray(value)) return value.length ? value.join(', ') : '—';
  if (AMOUNT_FIELDS.has(field) && typeof value === 'number') return formatAmountInput(value);
  return String(value);
}

const SAC_END_TEXT: Record<string, string> = {
  requested: 'ended by the staff member',
  timed_out: 'time box passed',
  staff_logout: 'the staff member logged out',
  permission_revoked: 'the staff member may no longer act for this customer',
  replaced: 'replaced by a newer session',
};

const STATUS_LABEL: Record<string, string> = { active: 'active', disabled: 'disabled', pending_approval: 'awaiting approval' };

function describe(row: AuditRow): Pick<TimelineEntry, 'title' | 'lines'> {
  const c = row.changes ?? {};
  const lines: TimelineLine[] = [];
  const fields = (c.fields ?? {}) as Record<string, { from: unknown; to: unknown }>;
  for (const [field, change] of Object.entries(fields)) {
    const label = FIELD_LABELS[field] ?? field.charAt(0).toUpperCase() + field.slice(1);
    if (field.startsWith('status in ')) lines.push({ label: 'Status', from: STATUS_LABEL[String(change.from)] ?? show(field, change.from), to: STATUS_LABEL[String(change.to)] ?? show(field, change.to) });
    else lines.push({ label, from: show(field, change.from), to: show(field, change.to) });
  }
  const mailed = c.mailed ? [{ label: 'E-mail', text: 'sent to the customer (outbox)' }] : [];
  const bulkAction = c.bulkOperationId ? [{ label: 'Bulk action', text: `#${show('', c.bulkOperationId)}` }] : [];
  switch (row.action) {
    case 'customer.registered':
      return { title: 'Registered', lines: [{ label: 'Status', text: STATUS_LABEL[String(c.status)] ?? show('status', c.status) }] };
    case 'customer.updated':
      return { title: 'Customer details changed', lines };
    // F-LIST-6: a customer created or changed by a customer import (its line in the file).
    case 'customer.imported':
      return { title: 'Created by a customer import', lines: [{ label: 'File line', text: show('', c.line) }] };
    case 'customer.import_updated':
      return { title: 'Details changed by a customer import', lines: [{ label: 'File line', text: show('', c.line) }] };
    case 'customer.password_changed':
      return { title: 'Password changed by staff', lines: [{ label: 'Sessions', text: 'all of the customer’s sessions were ended' }] };
    case 'customer.tags_changed':
      return { title: 'Tags changed', lines };
    case 'address.created':
      return { title: 'Address added', lines: [{ label: 'Address', text: show('', c.address) }, ...defaultsLine(c.defaults)] };
    case 'address.updated':
      return { title: 'Address changed', lines: [{ label: 'Address', text: show('', c.address) }, ...lines, ...defaultsLine(c.defaults)] };
    case 'address.deleted':
      return { title: 'Address deleted', lines: [{ label: 'Address', text: show('', c.address) }, ...(c.defaultsMovedTo ? [{ label: `Default ${(c.defaults as string[]).join(' and ')} now`, text: show('', c.defaultsMovedTo) }] : [])] };
    case 'address.default_changed':
      return { title: `Default ${c.kind === 'shipping' ? 'shipping' : 'billing'} address changed`, lines: lines.map((l) => ({ ...l, label: 'Address' })) };
    case 'note.added':
      return { title: 'Note added', lines: [{ label: 'Note', text: show('', c.excerpt) }] };
    case 'credit.adjusted': {
      const amount = Number(c.amount);
      const money = formatMoney(Math.abs(amount), String(c.currency));
      return {
        title: amount > 0 ? `Store credit added: ${money}` : `Store credit deducted: ${money}`,
        lines: [
          { label: 'Reason', text: show('', c.reason) },
          ...(c.reference ? [{ label: 'Reference', text: show('', c.reference) }] : []),
          ...(c.expiresOn ? [{ label: 'Usable until', text: show('', c.expiresOn) }] : []),
          ...lines.map((l) => ({ ...l, label: 'Balance' })),
          ...mailed,
        ],
      };
    }
    case 'assignment.status_changed': {
      const to = Object.values(fields)[0]?.to;
      return { title: `${to === 'disabled' ? 'Disabled' : 'Enabled'} in ${show('', c.shop)}`, lines: [...lines, ...bulkAction, ...mailed] };
    }
    // F-LIFE-2 invitations
    case 'invitation.sent':
    case 'invitation.requested':
      return {
        title: `${c.resent ? 'Invitation sent again' : 'Invitation sent'} for ${show('', c.shop)}${row.action === 'invitation.requested' ? ' (asked for by the customer)' : ''}`,
        lines: [...lines, { label: 'Link', text: `valid ${show('', c.validHours)} hours${c.resent ? '; the earlier link no longer works' : ''}` }, ...bulkAction, ...mailed],
      };
    case 'invitation.accepted':
      return { title: `Invitation accepted in ${show('', c.shop)}: password set, account active`, lines };
    case 'invitation.expired':
      return { title: `Invitation for ${show('', c.shop)} expired unused`, lines: [] };
    // F-CUST-9 GDPR
    case 'customer.data_exported':
      return { title: 'Personal data exported (GDPR)', lines: [{ label: 'Download', text: 'zip of customer.json and one CSV per section' }] };
    case 'customer.erased': {
      const kept = Array.isArray(c.creditKept) ? (c.creditKept as Array<{ shop: string; currency: string; balance: number }>) : [];
      return {
        title: 'Personal data erased (GDPR)',
        lines: [
          { label: 'Kept', text: 'orders with their totals, store-credit amounts' },
          ...kept.map((k) => ({ label: `Credit kept in ${k.shop}`, text: formatMoney(Number(k.balance), String(k.currency)) })),
        ],
      };
    }
    // F-DASH-10 Quotes module, F-DASH-4 product subscriptions
    case 'quote.created':
      return {
        title: `Quote ${show('', c.number)} created: ${formatMoney(Number(c.total), String(c.currency))}`,
        lines: [
          { label: 'Lines', text: show('', c.lines) },
          { label: 'Valid until', text: show('', c.validUntil) },
          ...(c.note ? [{ label: 'Note', text: show('', c.note) }] : []),
        ],
      };
    case 'quote.status_changed':
      return { title: `Quote ${show('', c.number)} ${show('', fields.status?.to)}`, lines };
    case 'subscription.created':
      return {
        title: `Subscription added: ${show('', c.quantity)} × ${show('', c.product)}`,
        lines: [
          { label: 'Interval', text: show('', c.interval) },
          { label: 'First delivery', text: show('', c.nextDelivery) },
        ],
      };
    case 'subscription.status_changed': {
      const to = fields.status?.to;
      const verb = to === 'paused' ? 'paused' : to === 'cancelled' ? 'cancelled' : 'resumed';
      return { title: `Subscription ${verb}: ${show('', c.product)}`, lines: lines.map((l) => (l.label === 'NextDelivery' ? { ...l, label: 'Next delivery' } : l)) };
    }
    case 'document.uploaded':
      return { title: `Document uploaded: ${show('', c.name)}`, lines: [{ label: 'Visible to customer', text: show('', c.visibleToCustomer === true) }] };
    case 'document.ready':
      return { title: `Document checked and ready: ${show('', c.name)}`, lines: [] };
    case 'document.rejected':
      return { title: `Document rejected: ${show('', c.name)}`, lines: [{ label: 'Reason', text: show('', c.reason) }] };
    case 'document.visibility_changed':
      return { title: `Document ${Object.values(fields)[0]?.to === true ? 'shown to' : 'hidden from'} the customer: ${show('', c.name)}`, lines };
    case 'document.deleted':
      return { title: `Document deleted: ${show('', c.name)}`, lines: [] };
    // F-DASH-6, F-DASH-7, F-LIMIT-1 (price groups, payment cards, purchase limits)
    case 'price_group.assigned':
      return { title: `Price group assigned: ${show('', c.priceGroup)}`, lines };
    case 'price_group.unassigned':
      return { title: `Price group unassigned: ${show('', c.priceGroup)}`, lines };
    case 'card.added':
      return { title: `Payment card added: ${cardLabel(c)}`, lines: [{ label: 'Expiry', text: show('', c.expiry) }] };
    case 'card.updated':
      return { title: `Payment card changed: ${cardLabel(c)}`, lines };
    case 'card.removed':
      return { title: `Payment card removed: ${cardLabel(c)}`, lines };
    case 'purchase_limit.set':
      return { title: 'Purchase limit set', lines: [{ label: 'Limit', text: show('', c.limit) }] };
    case 'purchase_limit.changed':
      return { title: 'Purchase limit changed', lines };
    case 'purchase_limit.imported': {
      const limit = { amount: Number(c.amount), startDate: String(c.startDate), endDate: c.endDate ? String(c.endDate) : null, period: (c.period ?? null) as LimitPeriod | null };
      return { title: 'Purchase limit set by an import', lines: [{ label: 'Limit', text: describeLimit(limit, String(c.currency)) }] };
    }
    case 'purchase_limit.removed':
      return { title: 'Purchase limit removed', lines: [{ label: 'Was', text: show('', c.limit) }] };
    case 'group.member_added':
    case 'group.member_removed':
    case 'segment.member_added':
    case 'segment.member_removed': {
      // F-GRP-2/3: membership changes from the dashboard, a group page, batch connect or a bulk action.
      const [kind, change] = row.action.split('.') as ['group' | 'segment', string];
      const name = show('', kind === 'group' ? c.group : c.segment);
      return { title: `${change === 'member_added' ? 'Added to' : 'Removed from'} ${kind} ${name}`, lines: c.via ? [{ label: 'Via', text: show('', c.via) }] : [] };
    }
    // F-SAC-4 Shop As Customer
    case 'sac.started':
      return { title: `Shop As Customer started by ${show('', c.staff)} in ${show('', c.shop)}: ${show('', c.reason)}`, lines: [] };
    case 'customer.remote_assistance_changed':
      return { title: fields.allowRemoteAssistance?.to === true ? 'Remote shopping assistance allowed by the customer' : 'Remote shopping assistance withdrawn by the customer', lines: [] };
    case 'sac.ended':
      return { title: `Shop As Customer ended in ${show('', c.shop)} (${SAC_END_TEXT[String(c.reason)] ?? show('', c.reason)})`, lines: c.redeemed === false ? [{ label: 'Link', text: 'never used' }] : [] };
    default:
      return { title: row.action, lines };
  }
}

/** "Visa •••• 4242": a card on the timeline is its brand and last 4 digits, nothing more. */
function cardLabel(c: Record<string, unknown>): string {
  return `${(CARD_BRAND_LABELS as Record<string, string>)[String(c.brand)] ?? 'Card'} •••• ${show('', c.last4)}`;
}

function defaultsLine(defaults: unknown): TimelineLine[] {
  return Array.isArray(defaults) && defaults.length ? [{ label: 'Default for', text: defaults.join(' and ') }] : [];
}

/**
 * The customer's timeline as the staff member may see it: customer-wide entries and those of
 * their shops. `before` (an entry id) continues after that entry.
 */
export async function timeline(knex: Knex, access: CustomerAccess, options: { limit: number; before?: number }): Promise<{ entries: TimelineEntry[]; hasMore: boolean }> {
  const query = knex('auditLog as a')
    .leftJoin('staffUsers as s', (j) => j.on('s.id', 'a.actorId').andOnVal('a.actorType', 'staff'))
    .leftJoin('shops', 'shops.id', 'a.shopId')
    .where('a.customerId', access.customerId)
    .select('a.id', 'a.occurredAt', 'a.actorType', 'a.action', 'a.changes', 'shops.name as shopName', knex.raw("coalesce(nullif(s.name, ''), s.email::text) AS actor_name"))
    .orderBy([{ column: 'a.occurredAt', order: 'desc' }, { column: 'a.id', order: 'desc' }])
    .limit(options.limit + 1);
  const scope = access.staff.scope;
  if (scope !== 'all') query.andWhere((q) => q.whereNull('a.shopId').orWhereIn('a.shopId', scope));
  if (options.before) {
    query.whereRaw('(a.occurred_at, a.id) < (SELECT occurred_at, id FROM audit_log WHERE id = ?)', [options.before]);
  }
  const rows = (await query) as AuditRow[];
  const entries = rows.slice(0, options.limit).map((row) => ({
    id: row.id,
    at: row.occurredAt,
    actor: row.actorType === 'staff' ? (row.actorName ?? 'A former staff member') : row.actorType === 'customer' ? 'The customer' : 'The system',
    shopName: row.shopName,
    ...describe(row),
  }));
  return { entries, hasMore: rows.length > options.limit };
}
