import type { Knex } from 'knex';
import { ForbiddenError, NotFoundError, ValidationError } from '../lib/errors.js';
import type { PriceGroupInput, PriceGroupPriceInput } from '../schemas/price-group.schema.js';
import { recordAudit } from './audit.service.js';
import { customerAccess, staffActor, whereInScope } from './customer-access.service.js';
import type { StaffPrincipal } from './staff.service.js';

// Price groups (F-PRICE-1, F-DASH-6, F-CUST-5). A group is platform-wide: a name, a priority
// (larger first, for display) and prices for products of any shop, each a fixed price or a
// percentage off the list price. Customers get groups directly or through their business account.
// Staff manage groups (owner, manager) on /admin/price-groups and assign them to a customer on the
// dashboard (owner, manager, sales rep). Support reads only. What a customer pays is resolved in
// pricing.service.ts.

type Db = Knex | Knex.Transaction;

export const PRICE_GROUP_NOT_FOUND = 'We could not find that price group.';

export function mayManagePriceGroups(staff: StaffPrincipal): boolean {
  return staff.role === 'owner' || staff.role === 'manager';
}

export function mayAssignPriceGroups(staff: StaffPrincipal): boolean {
  return staff.role === 'owner' || staff.role === 'manager' || staff.role === 'sales_rep';
}

function requireManage(staff: StaffPrincipal): void {
  if (!mayManagePriceGroups(staff)) throw new ForbiddenError('Only owners and managers may change price groups.');
}

export const GROUP_OUTSIDE_SCOPE = 'This price group also sets prices in shops you do not manage, so only someone who manages those shops may change it or hand it out.';

/**
 * Price groups are platform-wide, but what they do is set prices of products, which belong to
 * shops: changing a group, or giving it to a customer or business account, changes prices in every
 * shop it prices. Staff limited to some shops may do that only when the group prices nothing else.
 */
async function requireGroupInScope(db: Db, staff: StaffPrincipal, groupId: number): Promise<void> {
  if (staff.scope === 'all') return;
  const outside = await db('priceGroupPrices as p').join('products as pr', 'pr.id', 'p.productId').where('p.priceGroupId', groupId).whereNotIn('pr.shopId', staff.scope).first('p.id');
  if (outside) throw new ForbiddenError(GROUP_OUTSIDE_SCOPE);
}

export interface PriceGroupRow {
  id: number;
  name: string;
  priority: number;
  description: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface PriceGroupSummary extends PriceGroupRow {
  pricesCount: number;
  customersCount: number;
  businessAccountsCount: number;
}

const GROUP_COLUMNS = ['id', 'name', 'priority', 'description', 'createdAt', 'updatedAt'] as const;

/** Every price group, highest priority first, with how much hangs on it. */
export async function listPriceGroups(db: Db): Promise<PriceGroupSummary[]> {
  const rows = (await db('priceGroups as g')
    .select(
      GROUP_COLUMNS.map((c) => `g.${c}`),
      db.raw('(SELECT count(*) FROM price_group_prices p WHERE p.price_group_id = g.id)::int AS prices_count'),
      db.raw('(SELECT count(*) FROM customer_price_groups c WHERE c.price_group_id = g.id)::int AS customers_count'),
      db.raw('(SELECT count(*) FROM business_account_price_groups b WHERE b.price_group_id = g.id)::int AS business_accounts_count'),
    )
    .orderBy([{ column: 'g.priority', order: 'desc' }, { column: 'g.name' }, { column: 'g.id' }])) as PriceGroupSummary[];
  return rows;
}

export async function findPriceGroup(db: Db, id: number): Promise<PriceGroupRow> {
  const row = (await db('priceGroups').where({ id }).first(GROUP_COLUMNS)) as PriceGroupRow | undefined;
  if (!row) throw new NotFoundError(PRICE_GROUP_NOT_FOUND);
  return row;
}

const nameTaken = (error: unknown) => (error as { code?: string; constraint?: string }).code === '23505' && (error as { constraint?: string }).constraint === 'price_groups_name_key';
const NAME_TAKEN = { name: 'A price group with this name already exists. Choose another name.' };

const adminActor = (staff: StaffPrincipal, requestId?: string) => ({ actorType: 'staff' as const, actorId: staff.id, shopId: null, customerId: null, requestId });

export async function createPriceGroup(knex: Knex, staff: StaffPrincipal, input: PriceGroupInput, requestId?: string): Promise<number> {
  requireManage(staff);
  try {
    return await knex.transaction(async (trx) => {
      const [row] = (await trx('priceGroups').insert(input).returning('id')) as Array<{ id: number }>;
      await recordAudit(trx, { ...adminActor(staff, requestId), action: 'price_group.created', changes: { priceGroupId: row!.id, ...input } });
      return row!.id;
    });
  } catch (error) {
    if (nameTaken(error)) throw new ValidationError(NAME_TAKEN);
    throw error;
  }
}

export async function updatePriceGroup(knex: Knex, staff: StaffPrincipal, id: number, input: PriceGroupInput, requestId?: string): Promise<number> {
  requireManage(staff);
  try {
    return await knex.transaction(async (trx) => {
      const before = (await trx('priceGroups').where({ id }).forUpdate().first(GROUP_COLUMNS)) as PriceGroupRow | undefined;
      if (!before) throw new NotFoundError(PRICE_GROUP_NOT_FOUND);
      await requireGroupInScope(trx, staff, id);
      const fields: Record<string, { from: unknown; to: unknown }> = {};
      for (const key of ['name', 'priority', 'description'] as const) if (before[key] !== input[key]) fields[key] = { from: before[key], to: input[key] };
      if (Object.keys(fields).length === 0) return 0;
      await trx('priceGroups').where({ id }).update({ ...input, updatedAt: trx.fn.now() });
      await recordAudit(trx, { ...adminActor(staff, requestId), action: 'price_group.updated', changes: { priceGroupId: id, fields } });
      return Object.keys(fields).length;
    });
  } catch (error) {
    if (nameTaken(error)) throw new ValidationError(NAME_TAKEN);
    throw error;
  }
}

// ---- product prices of a group ------------------------------------------------------------------

export interface GroupPrice {
  id: number;
  productId: number;
  sku: string;
  productName: string;
  listPrice: number;
  shopName: string;
  currency: string;
  fixedPrice: number | null;
  percentOff: number | null;
}

/** The group's prices for products in the staff member's shops. */
export async function groupPrices(db: Db, staff: StaffPrincipal, groupId: number): Promise<GroupPrice[]> {
  const rows = (await whereInScope(
    db('priceGroupPrices as gp')
      .join('products as p', 'p.id', 'gp.productId')
      .join('shops as s', 's.id', 'p.shopId')
      .where('gp.priceGroupId', groupId)
      .select('gp.id', 'gp.productId', 'p.sku', 'p.name as productName', 'p.price as listPrice', 's.name as shopName', 's.currency', 'gp.fixedPrice', 'gp.percentOff')
      .orderBy([{ column: 's.name' }, { column: 'p.sku' }]),
    'p.shopId',
    staff.scope,
  )) as GroupPrice[];
  return rows.map((r) => ({ ...r, percentOff: r.percentOff === null ? null : Number(r.percentOff) }));
}

export const PRODUCT_OPTIONS_LIMIT = 1000;

/** Products the staff member may price (their shops), for the product select. */
export async function productOptions(db: Db, staff: StaffPrincipal): Promise<Array<{ id: number; sku: string; name: string; price: number; shopName: string; currency: string }>> {
  return whereInScope(
    db('products as p').join('shops as s', 's.id', 'p.shopId').where('p.active', true).select('p.id', 'p.sku', 'p.name', 'p.price', 's.name as shopName', 's.currency'),
    'p.shopId',
    staff.scope,
  )
    .orderBy([{ column: 's.name' }, { column: 'p.sku' }])
    .limit(PRODUCT_OPTIONS_LIMIT);
}

/** Sets (adds or replaces) the group's price for one product of the staff member's shops. */
export async function setGroupPrice(knex: Knex, staff: StaffPrincipal, groupId: number, input: PriceGroupPriceInput, requestId?: string): Promise<void> {
  requireManage(staff);
  await knex.transaction(async (trx) => {
    const group = await findPriceGroup(trx, groupId);
    const product = (await whereInScope(trx('products').where({ id: input.productId }), 'shopId', staff.scope).first('id', 'sku', 'shopId')) as { id: number; sku: string; shopId: number } | undefined;
    if (!product) throw new ValidationError({ productId: 'Choose a product from the list.' });
    const before = (await trx('priceGroupPrices').where({ priceGroupId: groupId, productId: product.id }).first('fixedPrice', 'percentOff')) as { fixedPrice: number | null; percentOff: string | null } | undefined;
    await trx('priceGroupPrices')
      .insert({ priceGroupId: groupId, productId: product.id, fixedPrice: input.fixedPrice, percentOff: input.percentOff })
      .onConflict(['priceGroupId', 'productId'])
      .merge({ fixedPrice: input.fixedPrice, percentOff: input.percentOff, updatedAt: trx.fn.now() });
    await trx('priceGroups').where({ id: groupId }).update({ updatedAt: trx.fn.now() });
    await recordAudit(trx, {
      ...adminActor(staff, requestId),
      shopId: product.shopId,
      action: 'price_group.price_set',
      changes: {
        priceGroupId: groupId,
        priceGroup: group.name,
        sku: product.sku,
        from: before ? { fixedPrice: before.fixedPrice, percentOff: before.percentOff === null ? null : Number(before.percentOff) } : null,
        to: { fixedPrice: input.fixedPrice, percentOff: input.percentOff },
      },
    });
  });
}

export async function removeGroupPrice(knex: Knex, staff: StaffPrincipal, groupId: number, priceId: number, requestId?: string): Promise<void> {
  requireManage(staff);
  await knex.transaction(async (trx) => {
    const row = (await whereInScope(
      trx('priceGroupPrices as gp').join('products as p', 'p.id', 'gp.productId').where({ 'gp.id': priceId, 'gp.priceGroupId': groupId }),
      'p.shopId',
      staff.scope,
    ).first('gp.id', 'p.sku', 'p.shopId')) as { id: number; sku: string; shopId: number } | undefined;
    if (!row) throw new NotFoundError('We could not find that price.');
    await trx('priceGroupPrices').where({ id: row.id }).delete();
    await recordAudit(trx, { ...adminActor(staff, requestId), shopId: row.shopId, action: 'price_group.price_removed', changes: { priceGroupId: groupId, sku: row.sku } });
  });
}

// ---- business accounts (F-CUST-5) ----------------------------------------------------------------

export async function groupBusinessAccounts(db: Db, groupId: number): Promise<Array<{ id: number; name: string; assignedAt: Date }>> {
  return db('businessAccountPriceGroups as b')
    .join('businessAccounts as a', 'a.id', 'b.businessAccountId')
    .where('b.priceGroupId', groupId)
    .select('a.id', 'a.name', 'b.assignedAt')
    .orderBy([{ column: 'a.name' }, { column: 'a.id' }]);
}

/** Business accounts that do not have the group yet, for the select. */
export async function businessAccountOptions(db: Db, groupId: number): Promise<Array<{ id: number; name: string }>> {
  return db('businessAccounts as a')
    .whereNotExists((q) => q.select(db.raw('1')).from('businessAccountPriceGroups as b').whereRaw('b.business_account_id = a.id').where('b.priceGroupId', groupId))
    .select('a.id', 'a.name')
    .orderBy([{ column: 'a.name' }, { column: 'a.id' }])
    .limit(500);
}

export async function assignBusinessAccount(knex: Knex, staff: StaffPrincipal, groupId: number, businessAccountId: number, requestId?: string): Promise<boolean> {
  requireManage(staff);
  return knex.transaction(async (trx) => {
    const group = await findPriceGroup(trx, groupId);
    await requireGroupInScope(trx, staff, groupId);
    const account = (await trx('businessAccounts').where({ id: businessAccountId }).first('id', 'name')) as { id: number; name: string } | undefined;
    if (!account) throw new ValidationError({ businessAccountId: 'Choose a business account from the list.' });
    const inserted = await trx('businessAccountPriceGroups').insert({ businessAccountId, priceGroupId: groupId, assignedBy: staff.id }).onConflict(['businessAccountId', 'priceGroupId']).ignore().returning('priceGroupId');
    if (inserted.length) await recordAudit(trx, { ...adminActor(staff, requestId), action: 'business_account.price_group_assigned', changes: { businessAccountId, businessAccount: account.name, priceGroupId: groupId, priceGroup: group.name } });
    return inserted.length > 0;
  });
}

export async function unassignBusinessAccount(knex: Knex, staff: StaffPrincipal, groupId: number, businessAccountId: number, requestId?: string): Promise<void> {
  requireManage(staff);
  await knex.transaction(async (trx) => {
    const group = await findPriceGroup(trx, groupId);
    await requireGroupInScope(trx, staff, groupId);
    const removed = await trx('businessAccountPriceGroups').where({ businessAccountId, priceGroupId: groupId }).delete();
    if (!removed) throw new NotFoundError('That business account does not have this price group.');
    await recordAudit(trx, { ...adminActor(staff, requestId), action: 'business_account.price_group_unassigned', changes: { businessAccountId, priceGroupId: groupId, priceGroup: group.name } });
  });
}

// ---- a customer's price groups (F-DASH-6) ----------------------------------------------------------

export interface CustomerPriceGroup {
  id: number;
  name: string;
  priority: number;
  description: string;
  /** Assigned to the customer directly (can be unassigned on the dashboard). */
  own: boolean;
  /** The business account it comes through, when inherited (also set when it is both). */
  via: string | null;
  assignedAt: Date | null;
  assignedByName: string | null;
}

/**
 * The customer's own price groups and those of their business account, each group once (an own
 * assignment wins; `via` still names the account), highest priority first.
 */
export async function customerPriceGroups(db: Db, customerId: number): Promise<CustomerPriceGroup[]> {
  const rows = (
    await db.raw(
      `SELECT g.id, g.name::text AS name, g.priority, g.description,
              own.price_group_id IS NOT NULL AS own,
              ba.name AS via,
              own.assigned_at,
              coalesce(nullif(s.name, ''), s.email::text) AS assigned_by_name
         FROM price_groups g
         JOIN customers c ON c.id = ?
         LEFT JOIN customer_price_groups own ON own.customer_id = c.id AND own.price_group_id = g.id
         LEFT JOIN business_account_price_groups bpg ON bpg.business_account_id = c.business_account_id AND bpg.price_group_id = g.id
         LEFT JOIN business_accounts ba ON ba.id = bpg.business_account_id
         LEFT JOIN staff_users s ON s.id = own.assigned_by
        WHERE own.price_group_id IS NOT NULL OR bpg.price_group_id IS NOT NULL
        ORDER BY g.priority DESC, g.name, g.id`,
      [customerId],
    )
  ).rows as Array<{ id: number; name: string; priority: number; description: string; own: boolean; via: string | null; assigned_at: Date | null; assigned_by_name: string | null }>;
  return rows.map((r) => ({ id: r.id, name: r.name, priority: r.priority, description: r.description, own: r.own, via: r.via, assignedAt: r.assigned_at, assignedByName: r.assigned_by_name }));
}

/** Groups not yet assigned to the customer directly, for the assign select. */
export async function assignablePriceGroups(db: Db, customerId: number): Promise<Array<{ id: number; name: string; priority: number }>> {
  return db('priceGroups as g')
    .whereNotExists((q) => q.select(db.raw('1')).from('customerPriceGroups as c').whereRaw('c.price_group_id = g.id').where('c.customerId', customerId))
    .select('g.id', 'g.name', 'g.priority')
    .orderBy([{ column: 'g.priority', order: 'desc' }, { column: 'g.name' }]);
}

function requireAssign(staff: StaffPrincipal): void {
  if (!mayAssignPriceGroups(staff)) throw new ForbiddenError('Your role may not change a customer’s price groups.');
}

/** Assigns a group to the customer; false when it already was (nothing changes). */
export async function assignPriceGroup(knex: Knex, staff: StaffPrincipal, customerId: number, priceGroupId: number, requestId?: string): Promise<{ changed: boolean; name: string }> {
  requireAssign(staff);
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId);
    const group = (await trx('priceGroups').where({ id: priceGroupId }).first('id', 'name', 'priority')) as { id: number; name: string; priority: number } | undefined;
    if (!group) throw new ValidationError({ priceGroupId: 'Choose a price group from the list.' });
    await requireGroupInScope(trx, staff, priceGroupId);
    const inserted = await trx('customerPriceGroups').insert({ customerId, priceGroupId, assignedBy: staff.id }).onConflict(['customerId', 'priceGroupId']).ignore().returning('priceGroupId');
    if (inserted.length) await recordAudit(trx, { ...staffActor(access, requestId), shopId: null, action: 'price_group.assigned', changes: { priceGroupId, priceGroup: group.name, priority: group.priority } });
    return { changed: inserted.length > 0, name: group.name };
  });
}

export async function unassignPriceGroup(knex: Knex, staff: StaffPrincipal, customerId: number, priceGroupId: number, requestId?: string): Promise<{ name: string }> {
  requireAssign(staff);
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId);
    const group = (await trx('priceGroups').where({ id: priceGroupId }).first('id', 'name')) as { id: number; name: string } | undefined;
    if (group) await requireGroupInScope(trx, staff, priceGroupId);
    const removed = group ? await trx('customerPriceGroups').where({ customerId, priceGroupId }).delete() : 0;
    if (!group || !removed) throw new NotFoundError('This customer does not have that price group (a group that comes through the business account is changed on the price group’s page).');
    await recordAudit(trx, { ...staffActor(access, requestId), shopId: null, action: 'price_group.unassigned', changes: { priceGroupId, priceGroup: group.name } });
    return { name: group.name };
  });
}
