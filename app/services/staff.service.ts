import type { Knex } from 'knex';
import { decoyPasswordHash, hashPassword, needsRehash, verifyPassword } from '../auth/password.js';
import type { ShopScope, StaffRole, StaffUser } from '../models/staff-user.model.js';
import type { ShopOption } from './shop.service.js';

export interface StaffPrincipal {
  id: number;
  email: string;
  name: string;
  role: StaffRole;
  scope: ShopScope;
  /** Sales reps in a team see only that team's customers (F-STAFF-1); null means no such limit. */
  salesTeamId: number | null;
  sessionVersion: number;
  /** The customer list's on-demand columns this staff member chose last (as stored; filter before use). */
  listColumns: string[];
  /** The shops in the scope, by name: the shop menus and checks of a request need no query of their own. */
  shops: ShopOption[];
}

export async function authenticateStaff(knex: Knex, email: string, password: string): Promise<StaffUser | null> {
  const staff = (await knex('staffUsers').where('email', email).first()) as StaffUser | undefined;
  if (!staff) {
    await verifyPassword(await decoyPasswordHash(), password);
    return null;
  }
  if (!(await verifyPassword(staff.passwordHash, password)) || staff.disabledAt) return null;
  const updates: Record<string, unknown> = { lastLoginAt: knex.fn.now() };
  if (needsRehash(staff.passwordHash)) updates.passwordHash = await hashPassword(password);
  await knex('staffUsers').where({ id: staff.id }).update(updates);
  return staff;
}

/**
 * Loads what a request needs to know about the signed-in staff member, including their shop scope
 * and those shops, in one query: it runs on every admin request.
 */
export async function loadStaffPrincipal(knex: Knex, staffId: number): Promise<StaffPrincipal | null> {
  return staffPrincipalOf((await staffPrincipalQuery(knex).where({ id: staffId }).first()) as StaffPrincipalRow | undefined);
}

/** The columns a principal is made of, for an active staff member; the caller says which one. */
export function staffPrincipalQuery(knex: Knex): Knex.QueryBuilder {
  return knex('staffUsers')
    .whereNull('disabledAt')
    .select(
      'id', 'email', 'name', 'role', 'allShops', 'salesTeamId', 'sessionVersion', 'listColumns',
      knex.raw('ARRAY(SELECT shop_id FROM staff_shop_scopes WHERE staff_user_id = staff_users.id ORDER BY shop_id) AS shop_ids'),
      knex.raw(`(SELECT coalesce(json_agg(json_build_object('id', s.id, 'code', s.code, 'name', s.name, 'currency', s.currency) ORDER BY s.name, s.id), '[]') FROM shops s) AS shops`),
    );
}

export type StaffPrincipalRow = Pick<StaffUser, 'id' | 'email' | 'name' | 'role' | 'allShops' | 'salesTeamId' | 'sessionVersion'> & { shopIds: number[]; listColumns: string[] | null; shops: ShopOption[] };

/** A row of staffPrincipalQuery as the principal (null: no such active staff member). */
export function staffPrincipalOf(staff: StaffPrincipalRow | null | undefined): StaffPrincipal | null {
  if (!staff) return null;
  const scope: ShopScope = staff.role === 'owner' || staff.allShops ? 'all' : staff.shopIds.map(Number);
  const salesTeamId = staff.role === 'sales_rep' ? staff.salesTeamId : null;
  const shops = scope === 'all' ? staff.shops : staff.shops.filter((shop) => scope.includes(shop.id));
  return { id: staff.id, email: staff.email, name: staff.name, role: staff.role, scope, salesTeamId, sessionVersion: staff.sessionVersion, listColumns: staff.listColumns ?? [], shops };
}

export interface NewStaff {
  email: string;
  password: string;
  name?: string;
  role: StaffRole;
  shopCodes?: string[];
}

export async function createStaff(knex: Knex, input: NewStaff): Promise<number> {
  const passwordHash = await hashPassword(input.password);
  return knex.transaction(async (trx) => {
    const [row] = await trx('staffUsers')
      .insert({ email: input.email, name: input.name ?? '', passwordHash, role: input.role, allShops: input.role === 'owner' })
      .returning('id');
    if (input.shopCodes?.length) {
      const shops = await trx('shops').whereIn('code', input.shopCodes).select('id', 'code');
      const missing = input.shopCodes.filter((code) => !shops.some((shop: { code: string }) => shop.code === code));
      if (missing.length) throw new Error(`Unknown shop code(s): ${missing.join(', ')}`);
      await trx('staffShopScopes').insert(shops.map((shop: { id: number }) => ({ staffUserId: row.id, shopId: shop.id })));
    }
    return row.id as number;
  });
}
