import type { Knex } from 'knex';
import { hashPassword } from '../auth/password.js';
import { ForbiddenError, ValidationError } from '../lib/errors.js';
import { sameEmail, type CustomerState } from '../models/customer.model.js';
import type { CustomerDetailsInput } from '../schemas/customer-dashboard.schema.js';
import { readShopSettings } from '../schemas/shop-settings.schema.js';
import { recordAudit } from './audit.service.js';
import { customerAccess, staffActor, type CustomerAccess } from './customer-access.service.js';
import { creditBalances } from './customer-credit.service.js';
import { passwordRuleViolation } from './password-rules.js';
import type { StaffPrincipal } from './staff.service.js';

/** The customer row as the dashboard reads it. */
export interface CustomerRecord {
  id: number;
  email: string;
  state: CustomerState;
  salutation: string;
  firstName: string;
  middleName: string;
  lastName: string;
  phone: string;
  customerType: string;
  pricingPolicy: string;
  companyName1: string;
  companyName2: string;
  department: string;
  marketingOptIn: boolean;
  taxExempt: boolean;
  wholesale: boolean;
  businessAccountId: number | null;
  salesTeamId: number | null;
  b2bReference: string;
  b2bEmployeeId: string;
  b2bChargeId: string;
  requireApproval: boolean;
  requireApprovalOver: number | null;
  blockCheckout: boolean;
  blockCheckoutOver: number | null;
  createdAt: Date;
  updatedAt: Date;
  lastLoginAt: Date | null;
  passwordChangedAt: Date | null;
  /** F-CUST-9: when the personal data was erased. */
  erasedAt: Date | null;
}

const RECORD_COLUMNS = [
  'id', 'email', 'state', 'salutation', 'firstName', 'middleName', 'lastName', 'phone', 'customerType', 'pricingPolicy', 'companyName1', 'companyName2',
  'department', 'marketingOptIn', 'taxExempt', 'wholesale', 'businessAccountId', 'salesTeamId', 'b2bReference', 'b2bEmployeeId', 'b2bChargeId',
  'requireApproval', 'requireApprovalOver', 'blockCheckout', 'blockCheckoutOver', 'createdAt', 'updatedAt', 'lastLoginAt', 'passwordChangedAt',
  'erasedAt',
] as const;

export async function customerRecord(db: Knex | Knex.Transaction, customerId: number): Promise<CustomerRecord> {
  return (await db('customers').where({ id: customerId }).first(RECORD_COLUMNS)) as CustomerRecord;
}

/** Choices for the edit form's selects. */
export async function customerFormOptions(knex: Knex) {
  const [businessAccounts, salesTeams] = await Promise.all([
    knex('businessAccounts').select('id', 'name', 'taxExempt').orderBy('name').limit(500),
    knex('salesTeams').select('id', 'name').orderBy('name'),
  ]);
  return { businessAccounts: businessAccounts as Array<{ id: number; name: string; taxExempt: boolean }>, salesTeams: salesTeams as Array<{ id: number; name: string }> };
}

export const DUPLICATE_EMAIL = 'Another customer account already uses this e-mail address.';

/** A before/after pair per changed field, as the timeline shows it (F-CUST-7). */
export type FieldChanges = Record<string, { from: unknown; to: unknown }>;

/**
 * F-CUST-1/F-CUST-4: saves the edit form. The e-mail stays unique across the platform (compared
 * case-insensitively); wholesale needs an Active or Invited account (F-CUST-3); a sales rep cannot
 * move a customer to another team. Records the changed fields with their old and new values.
 */
export async function updateCustomerDetails(knex: Knex, staff: StaffPrincipal, customerId: number, input: CustomerDetailsInput, requestId?: string): Promise<FieldChanges> {
  try {
    return await knex.transaction(async (trx) => {
      const access = await customerAccess(trx, staff, customerId, { lock: true });
      const before = await customerRecord(trx, customerId);
      const errors: Record<string, string> = {};

      const taken = await trx('customers').where(sameEmail(trx, input.email)).whereNot('id', customerId).first('id');
      if (taken) errors.email = DUPLICATE_EMAIL;
      if (input.wholesale && !before.wholesale && !['active', 'invited'].includes(before.state)) {
        errors.wholesale = `Wholesale pricing needs an Active or Invited account; this account is ${before.state === 'guest' ? 'a guest account' : 'disabled'}.`;
      }
      const businessAccount = input.businessAccountId === null ? null : await trx('businessAccounts').where({ id: input.businessAccountId }).first('id', 'name');
      if (input.businessAccountId !== null && !businessAccount) errors.businessAccountId = 'Choose a business account from the list.';
      // A sales rep's own scope is their team: they may not hand a customer to another team.
      const salesTeamId = staff.role === 'sales_rep' ? before.salesTeamId : input.salesTeamId;
      const salesTeam = salesTeamId === null ? null : await trx('salesTeams').where({ id: salesTeamId }).first('id', 'name');
      if (salesTeamId !== null && !salesTeam) errors.salesTeamId = 'Choose a sales team from the list.';
      if (Object.keys(errors).length) throw new ValidationError(errors);

      const after = { ...input, salesTeamId };
      const changes: FieldChanges = {};
      for (const [field, value] of Object.entries(after) as Array<[keyof typeof after, unknown]>) {
        const old = before[field as keyof CustomerRecord];
        if (old !== value) changes[field] = { from: old, to: value };
      }
      if (Object.keys(changes).length === 0) return changes;
      // The timeline shows names, not ids.
      if (changes.businessAccountId) changes.businessAccountId = { from: await nameOf(trx, 'businessAccounts', before.businessAccountId), to: businessAccount?.name ?? null };
      if (changes.salesTeamId) changes.salesTeamId = { from: await nameOf(trx, 'salesTeams', before.salesTeamId), to: salesTeam?.name ?? null };

      await trx('customers').where({ id: customerId }).update({ ...after, updatedAt: trx.fn.now() });
      await recordAudit(trx, { ...staffActor(access, requestId), shopId: null, action: 'customer.updated', changes: { fields: changes } });
      return changes;
    });
  } catch (error) {
    // Two saves racing for the same address: the unique index decides, with the same message.
    if ((error as { code?: string; constraint?: string }).code === '23505' && (error as { constraint?: string }).constraint === 'customers_email_key') {
      throw new ValidationError({ email: DUPLICATE_EMAIL });
    }
    throw error;
  }
}

async function nameOf(trx: Knex.Transaction, table: 'businessAccounts' | 'salesTeams', id: number | null): Promise<string | null> {
  if (id === null) return null;
  return ((await trx(table).where({ id }).first('name')) as { name: string } | undefined)?.name ?? `#${id}`;
}

/**
 * Sets a new password chosen by staff: argon2id, the rule of every shop the customer belongs to,
 * password-changed-at recorded (F-CUST-8), and the session version moved on, so every session the
 * customer has open ends on its next request (F-SEC).
 */
export async function changeCustomerPassword(knex: Knex, staff: StaffPrincipal, customerId: number, input: { password: string; confirmPassword: string }, requestId?: string): Promise<void> {
  const access = await customerAccess(knex, staff, customerId);
  const shops = (await knex('customerShops').join('shops', 'shops.id', 'customerShops.shopId').where('customerShops.customerId', customerId).select('shops.settings')) as Array<{ settings: unknown }>;
  for (const shop of shops) {
    const problem = passwordRuleViolation(input.password, readShopSettings(shop.settings));
    if (problem) throw new ValidationError({ password: problem });
  }
  if (input.password !== input.confirmPassword) throw new ValidationError({ confirmPassword: 'The two passwords do not match.' });
  const passwordHash = await hashPassword(input.password);
  await knex.transaction(async (trx) => {
    await customerAccess(trx, staff, customerId, { lock: true });
    await trx('customers')
      .where({ id: customerId })
      .update({ passwordHash, passwordChangedAt: trx.fn.now(), sessionVersion: trx.raw('session_version + 1'), updatedAt: trx.fn.now() });
    await recordAudit(trx, { ...staffActor(access, requestId), shopId: null, action: 'customer.password_changed', changes: { sessionsEnded: true } });
  });
}

export async function customerTags(db: Knex | Knex.Transaction, customerId: number): Promise<string[]> {
  return db('customerTags').where({ customerId }).orderBy('tag').pluck('tag');
}

/** Replaces the customer's tags with `tags`; records what was added and removed. */
export async function replaceCustomerTags(knex: Knex, staff: StaffPrincipal, customerId: number, tags: string[], requestId?: string): Promise<{ added: string[]; removed: string[] }> {
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId, { lock: true });
    const before = await customerTags(trx, customerId);
    const lower = new Set(before.map((t) => t.toLowerCase()));
    const wanted = new Set(tags.map((t) => t.toLowerCase()));
    const added = tags.filter((t) => !lower.has(t.toLowerCase()));
    const removed = before.filter((t) => !wanted.has(t.toLowerCase()));
    if (removed.length) await trx('customerTags').where({ customerId }).whereIn('tag', removed).delete();
    if (added.length) await trx('customerTags').insert(added.map((tag) => ({ customerId, tag }))).onConflict(['customerId', 'tag']).ignore();
    if (added.length || removed.length) {
      await recordAudit(trx, { ...staffActor(access, requestId), shopId: null, action: 'customer.tags_changed', changes: { fields: { tags: { from: before, to: [...tags] } }, added, removed } });
    }
    return { added, removed };
  });
}

export type DeleteRefusal =
  | { reason: 'orders' }
  | { reason: 'other_shops' }
  | { reason: 'credit'; balances: Array<{ shopName: string; currency: string; balance: number }> };

/** Who may delete customers: the same roles that may bulk-delete (F-LIST-5). */
export function mayDeleteCustomers(staff: StaffPrincipal): boolean {
  return staff.role === 'owner' || staff.role === 'manager';
}

/** Why this customer cannot be deleted by this staff member, or null when they can. */
export async function deleteRefusal(db: Knex | Knex.Transaction, access: CustomerAccess): Promise<DeleteRefusal | null> {
  // Any order, in any shop, cancelled or not: orders stay with their customer (EXISTS reads one index entry).
  if (await db('orders').where({ customerId: access.customerId }).first('id')) return { reason: 'orders' };
  const outside = await db('customerShops').where({ customerId: access.customerId }).whereNotIn('shopId', access.shopIds).first('shopId');
  if (outside) return { reason: 'other_shops' };
  const balances = (await creditBalances(db, access)).filter((b) => b.balance > 0);
  if (balances.length) return { reason: 'credit', balances };
  return null;
}

/**
 * F-CUST-4: deletes a customer without orders (and without credit still owed, and only when every
 * shop they are in is one of the staff member's). Notes, addresses, tags, assignments and the
 * credit ledger go with the account; the deletion itself stays on the audit log.
 */
export async function deleteCustomer(knex: Knex, staff: StaffPrincipal, customerId: number, requestId?: string): Promise<DeleteRefusal | null> {
  if (!mayDeleteCustomers(staff)) throw new ForbiddenError('Only owners and managers may delete customers.');
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId, { lock: true });
    const refusal = await deleteRefusal(trx, access);
    if (refusal) return refusal;
    const record = await customerRecord(trx, customerId);
    // Not linked to the customer row: the audit rows of a customer are deleted with it.
    await recordAudit(trx, {
      actorType: 'staff',
      actorId: staff.id,
      shopId: null,
      customerId: null,
      action: 'customer.deleted',
      changes: { customerId, email: record.email, name: [record.firstName, record.lastName].filter(Boolean).join(' '), shops: access.shops.map((s) => s.shopCode) },
      requestId,
    });
    await trx('customers').where({ id: customerId }).delete();
    return null;
  });
}

/** Order figures per currency over the staff member's shops, from the maintained aggregates (never a scan of orders). */
export function orderFigures(access: CustomerAccess): Array<{ currency: string; ordersCount: number; totalSpent: number; averageOrder: number }> {
  const byCurrency = new Map<string, { ordersCount: number; totalSpent: number }>();
  for (const shop of access.shops) {
    const figures = byCurrency.get(shop.currency) ?? { ordersCount: 0, totalSpent: 0 };
    figures.ordersCount += Number(shop.ordersCount);
    figures.totalSpent += Number(shop.totalSpent);
    byCurrency.set(shop.currency, figures);
  }
  return [...byCurrency].map(([currency, f]) => ({ currency, ...f, averageOrder: f.ordersCount ? Math.round(f.totalSpent / f.ordersCount) : 0 }));
}
