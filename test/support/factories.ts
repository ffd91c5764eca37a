import type { Knex } from 'knex';
import { hashPassword } from '../../app/auth/password.js';
import type { StaffRole } from '../../app/models/staff-user.model.js';

export const PASSWORD = 'correct horse battery staple';
let passwordHash: Promise<string> | undefined;
/** Hashing is slow on purpose; factories share one hash of PASSWORD. */
const sharedHash = () => (passwordHash ??= hashPassword(PASSWORD));

let sequence = 0;
const next = () => `${process.pid}${++sequence}`;

export async function makeShop(knex: Knex, overrides: { code?: string; name?: string; hostname?: string; settings?: object; parentId?: number } = {}) {
  const code = overrides.code ?? `shop${next()}`;
  const [shop] = await knex('shops')
    .insert({ code, name: overrides.name ?? `Shop ${code}`, settings: JSON.stringify(overrides.settings ?? {}), parentId: overrides.parentId ?? null })
    .returning('*');
  await knex('shopDomains').insert({ shopId: shop.id, hostname: overrides.hostname ?? `${code}.localhost`, isPrimary: true });
  return shop as { id: number; code: string; name: string };
}

export async function makeStaff(knex: Knex, overrides: { email?: string; role?: StaffRole; shopIds?: number[]; salesTeamId?: number; allShops?: boolean } = {}) {
  const role = overrides.role ?? 'owner';
  const [staff] = await knex('staffUsers')
    .insert({
      email: overrides.email ?? `staff${next()}@example.test`,
      passwordHash: await sharedHash(),
      role,
      allShops: overrides.allShops ?? role === 'owner',
      salesTeamId: overrides.salesTeamId ?? null,
    })
    .returning('*');
  if (overrides.shopIds?.length) await knex('staffShopScopes').insert(overrides.shopIds.map((shopId) => ({ staffUserId: staff.id, shopId })));
  return staff as { id: number; email: string };
}

export interface CustomerOverrides {
  email?: string;
  firstName?: string;
  lastName?: string;
  state?: 'guest' | 'invited' | 'active' | 'disabled';
  companyName1?: string;
  phone?: string;
  createdAt?: Date;
  customerType?: 'B2C' | 'B2B' | 'B2E' | 'GUEST';
  salesTeamId?: number;
  marketingOptIn?: boolean;
  taxExempt?: boolean;
  wholesale?: boolean;
  passwordChangedAt?: Date;
}

export async function makeSalesTeam(knex: Knex, name = `Team ${next()}`) {
  const [team] = await knex('salesTeams').insert({ name }).returning('*');
  return team as { id: number; name: string };
}

export async function makeCustomer(knex: Knex, shopIds: number[], overrides: CustomerOverrides = {}, status: 'active' | 'pending_approval' | 'disabled' = 'active') {
  const n = next();
  const [customer] = await knex('customers')
    .insert({
      email: overrides.email ?? `customer${n}@example.test`,
      passwordHash: overrides.state === 'guest' ? null : await sharedHash(),
      state: overrides.state ?? 'active',
      firstName: overrides.firstName ?? 'Test',
      lastName: overrides.lastName ?? `Customer${n}`,
      companyName1: overrides.companyName1 ?? '',
      phone: overrides.phone ?? '',
      ...(overrides.createdAt ? { createdAt: overrides.createdAt } : {}),
      ...(overrides.customerType ? { customerType: overrides.customerType } : {}),
      ...(overrides.salesTeamId !== undefined ? { salesTeamId: overrides.salesTeamId } : {}),
      ...(overrides.marketingOptIn !== undefined ? { marketingOptIn: overrides.marketingOptIn } : {}),
      ...(overrides.taxExempt !== undefined ? { taxExempt: overrides.taxExempt } : {}),
      ...(overrides.wholesale !== undefined ? { wholesale: overrides.wholesale } : {}),
      ...(overrides.passwordChangedAt ? { passwordChangedAt: overrides.passwordChangedAt } : {}),
    })
    .returning('*');
  if (shopIds.length) await knex('customerShops').insert(shopIds.map((shopId) => ({ customerId: customer.id, shopId, status })));
  return customer as { id: number; email: string; firstName: string; lastName: string };
}

export async function makeOrder(knex: Knex, customerId: number, shopId: number, total: number, placedAt = new Date()) {
  const [order] = await knex('orders')
    .insert({ shopId, customerId, number: `T-${next()}`, currency: 'EUR', subtotal: total, total, placedAt })
    .returning('*');
  return order as { id: number };
}

/**
 * A store-credit grant written straight into the ledger (inserting is what the ledger allows), for
 * data the dashboard's form cannot make: another currency, a grant that has already expired or
 * expires in seconds. `expiresAt` is SQL (e.g. "now() - interval '1 day'").
 */
export async function grantCredit(knex: Knex, grant: { customerId: number; shopId: number; amount: number; currency?: string; expiresAt?: string; reason?: string; staffUserId?: number }) {
  const { customerId, shopId, amount, currency = 'EUR' } = grant;
  const expiresAt = grant.expiresAt ? knex.raw(grant.expiresAt) : null;
  await knex.transaction(async (trx) => {
    await trx('creditAccounts').insert({ customerId, shopId, currency }).onConflict(['customerId', 'shopId']).ignore();
    const [tx] = await trx('creditTransactions')
      .insert({ customerId, shopId, idempotencyKey: `test-credit-${next()}-key`, amount, currency, reason: grant.reason ?? 'Goodwill', expiresAt, staffUserId: grant.staffUserId ?? null })
      .returning('id');
    await trx('creditEntries').insert({ transactionId: tx.id, customerId, shopId, amount, expiresAt });
  });
}

export interface AddressOverrides {
  city?: string;
  countryCode?: string;
  line1?: string;
  postcode?: string;
  isDefaultBilling?: boolean;
  isDefaultShipping?: boolean;
}

export async function makeAddress(knex: Knex, customerId: number, overrides: AddressOverrides = {}) {
  const [address] = await knex('addresses')
    .insert({
      customerId,
      line1: overrides.line1 ?? '1 Test Street',
      city: overrides.city ?? 'Berlin',
      postcode: overrides.postcode ?? '10115',
      countryCode: overrides.countryCode ?? 'DE',
      isDefaultBilling: overrides.isDefaultBilling ?? false,
      isDefaultShipping: overrides.isDefaultShipping ?? false,
    })
    .returning('*');
  return address as { id: number };
}
