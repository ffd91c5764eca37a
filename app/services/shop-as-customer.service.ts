import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { ForbiddenError, NotFoundError, ValidationError } from '../lib/errors.js';
import { newToken } from '../lib/tokens.js';
import type { StaffRole } from '../models/staff-user.model.js';
import { readShopSettings } from '../schemas/shop-settings.schema.js';
import { recordAudit } from './audit.service.js';
import { customerAccess, scopedShop, type CustomerAccess, type ScopedShop } from './customer-access.service.js';
import { primaryHostname } from './shop.service.js';
import { loadStaffPrincipal, type StaffPrincipal } from './staff.service.js';

// F-SAC-1/2/4 Shop As Customer. A staff member with the permission starts a session on one of the
// customer's shops from the dashboard: the POST mints a single-use token (256 bits from the
// CSPRNG, only its SHA-256 is stored) bound to staff member + customer + shop and valid 60 seconds.
// The shop host redeems it with a conditional UPDATE (of two concurrent redemptions exactly one
// wins) and logs the browser in as the customer on a fresh session. Every storefront request of
// that session checks the row again (open, inside its time box, the staff member still exists and
// may still act on this customer in this shop); when not, the session ends, recorded once.
// Only a "new session" exists: sharing the customer's live session is not built.

type Db = Knex | Knex.Transaction;

export const SAC_TOKEN_TTL_SECONDS = 60;
export const SAC_TIME_BOX_MINUTES = 30;
export const SAC_ROLES: readonly StaffRole[] = ['owner', 'manager', 'sales_rep'];
export type SacEndReason = 'requested' | 'timed_out' | 'staff_logout' | 'permission_revoked' | 'replaced';

export const SAC_END_LABELS: Record<SacEndReason, string> = {
  requested: 'ended by the staff member',
  timed_out: 'time box passed',
  staff_logout: 'the staff member logged out',
  permission_revoked: 'the staff member may no longer act for this customer',
  replaced: 'replaced by a newer session',
};

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function mayShopAsCustomer(staff: Pick<StaffPrincipal, 'role'>): boolean {
  return SAC_ROLES.includes(staff.role);
}

export function hashSacToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The shops a session may be started in: the customer's active assignments in the staff member's scope. */
export function sacShopChoices(access: CustomerAccess): ScopedShop[] {
  return access.shops.filter((shop) => shop.status === 'active');
}

export interface SacStart {
  sessionId: number;
  /** The hand-over token: only in the redirect URL, never stored or logged. */
  token: string;
  hostname: string;
  shopId: number;
  shopName: string;
}

/**
 * Starts Shop As Customer (F-SAC-1): role and scope checks, an active assignment in that shop, the
 * customer's consent where the shop demands it; ends the staff member's earlier open sessions
 * (one customer at a time) and mints the token. Audited as `sac.started`.
 */
export async function startShopAsCustomer(knex: Knex, staff: StaffPrincipal, customerId: number, shopId: number, reason: string, options: { requestId?: string } = {}): Promise<SacStart> {
  if (!mayShopAsCustomer(staff)) throw new ForbiddenError('Your role may not shop as a customer.');
  const text = reason.trim();
  if (!text) throw new ValidationError({ reason: 'Give a reason: it is shown on the customer’s timeline.' });
  if (text.length > 500) throw new ValidationError({ reason: 'The reason must be at most 500 characters.' });

  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId, { lock: true });
    const shop = scopedShop(access, shopId);
    if (shop.status !== 'active') throw new ValidationError({ shopId: `The customer is not active in ${shop.shopName}; enable the assignment first.` }, 'Shop As Customer needs an active assignment in that shop.');
    const customer = (await trx('customers').where({ id: customerId }).first('state', 'allowRemoteAssistance')) as { state: string; allowRemoteAssistance: boolean };
    if (customer.state === 'disabled') throw new ValidationError({ shopId: 'This customer account is disabled.' }, 'A disabled account cannot be served.');
    const settings = readShopSettings(((await trx('shops').where({ id: shopId }).first('settings')) as { settings: unknown }).settings);
    if (settings.requireAssistanceConsent && !customer.allowRemoteAssistance) {
      throw new ValidationError({ shopId: `${shop.shopName} requires the customer’s consent: the customer has not allowed remote shopping assistance in My Account.` }, 'The customer has not given consent.');
    }
    const hostname = await primaryHostname(trx, shopId);
    if (!hostname) throw new ValidationError({ shopId: `${shop.shopName} has no host name configured.` });

    await endOpenSessionsOfStaff(trx, staff.id, 'replaced', options);
    const token = newToken();
    const [row] = (await trx('sacSessions')
      .insert({ staffUserId: staff.id, customerId, shopId, reason: text, tokenHash: hashSacToken(token), tokenExpiresAt: trx.raw(`now() + interval '${SAC_TOKEN_TTL_SECONDS} seconds'`) })
      .returning('id')) as Array<{ id: number }>;
    await recordAudit(trx, {
      actorType: 'staff',
      actorId: staff.id,
      shopId,
      customerId,
      action: 'sac.started',
      changes: { sacSessionId: Number(row!.id), staff: staff.name || staff.email, shop: shop.shopName, reason: text },
      requestId: options.requestId,
    });
    return { sessionId: Number(row!.id), token, hostname, shopId, shopName: shop.shopName };
  });
}

interface SacRow {
  id: number;
  staffUserId: number;
  customerId: number;
  shopId: number;
  redeemedAt: Date | null;
  endsAt: Date | null;
  endedAt: Date | null;
}

/** Why the staff member may no longer serve this customer in this shop, or null when they still may. */
async function revokedBecause(db: Db, row: Pick<SacRow, 'staffUserId' | 'customerId' | 'shopId'>): Promise<string | null> {
  const staff = await loadStaffPrincipal(db as Knex, Number(row.staffUserId));
  if (!staff) return 'staff account gone or disabled';
  if (!mayShopAsCustomer(staff)) return `role ${staff.role}`;
  let access: CustomerAccess;
  try {
    access = await customerAccess(db, staff, Number(row.customerId));
  } catch (error) {
    if (error instanceof NotFoundError) return 'customer out of scope';
    throw error;
  }
  const shop = access.shops.find((s) => s.shopId === Number(row.shopId));
  if (!shop || shop.status !== 'active') return 'assignment not active';
  const customer = (await db('customers').where({ id: row.customerId }).first('state', 'allowRemoteAssistance')) as { state: string; allowRemoteAssistance: boolean };
  if (customer.state === 'disabled') return 'customer disabled';
  const settings = readShopSettings(((await db('shops').where({ id: row.shopId }).first('settings')) as { settings: unknown }).settings);
  if (settings.requireAssistanceConsent && !customer.allowRemoteAssistance) return 'consent withdrawn';
  return null;
}

export type SacRedemption =
  | { ok: true; sessionId: number; staffId: number; customerId: number; customerVersion: number }
  | { ok: false };

/**
 * Redeems a token on the shop `shopId` (F-SAC-1): single use, at most 60 seconds old, only on the
 * shop it was minted for. The conditional UPDATE makes concurrent redemptions safe: the second one
 * finds redeemed_at set and changes nothing.
 */
export async function redeemShopAsCustomer(knex: Knex, shopId: number, token: string, options: { requestId?: string } = {}): Promise<SacRedemption> {
  if (!TOKEN_SHAPE.test(token)) return { ok: false };
  return knex.transaction(async (trx) => {
    const [row] = (await trx('sacSessions')
      .where({ tokenHash: hashSacToken(token), shopId })
      .whereNull('redeemedAt')
      .whereNull('endedAt')
      .where('tokenExpiresAt', '>', trx.fn.now())
      .update({ redeemedAt: trx.fn.now(), endsAt: trx.raw(`now() + interval '${SAC_TIME_BOX_MINUTES} minutes'`) })
      .returning(['id', 'staffUserId', 'customerId', 'shopId'])) as SacRow[];
    if (!row) return { ok: false };
    if (await revokedBecause(trx, row)) {
      await endSession(trx, Number(row.id), 'permission_revoked', options);
      return { ok: false };
    }
    const customer = (await trx('customers').where({ id: row.customerId }).first('sessionVersion')) as { sessionVersion: number };
    return { ok: true, sessionId: Number(row.id), staffId: Number(row.staffUserId), customerId: Number(row.customerId), customerVersion: customer.sessionVersion };
  });
}

/** What the overlay shows (F-SAC-2). */
export interface SacView {
  sessionId: number;
  customerId: number;
  customerName: string;
  shopName: string;
  staffName: string;
  endsAt: Date;
}

/** The impersonation a storefront session carries (kept in the server-side session). */
export interface SacSessionRef {
  id: number;
  staffId: number;
  customerId: number;
}

export type SacCheck = { ok: true; view: SacView } | { ok: false; reason: SacEndReason | null };

/**
 * The check on every storefront request of an impersonated session: the row is open, on this
 * shop, inside its time box, and the staff member may still act. Anything else ends the session
 * (recorded once: the end is a conditional UPDATE) and answers why.
 */
export async function checkShopAsCustomer(knex: Knex, ref: SacSessionRef, shopId: number, options: { requestId?: string } = {}): Promise<SacCheck> {
  const row = (await knex('sacSessions as s')
    .join('customers as c', 'c.id', 's.customerId')
    .join('shops as sh', 'sh.id', 's.shopId')
    .leftJoin('staffUsers as u', 'u.id', 's.staffUserId')
    .where('s.id', ref.id)
    .first(
      's.id',
      's.staffUserId',
      's.customerId',
      's.shopId',
      's.redeemedAt',
      's.endsAt',
      's.endedAt',
      's.endReason',
      'c.firstName',
      'c.lastName',
      'c.email',
      'sh.name as shopName',
      'u.name as staffName',
      'u.email as staffEmail',
      knex.raw('(s.ends_at <= now()) AS past_time_box'),
    )) as (SacRow & { endReason: SacEndReason | null; firstName: string; lastName: string; email: string; shopName: string; staffName: string | null; staffEmail: string | null; pastTimeBox: boolean }) | undefined;
  if (!row || row.endedAt || !row.redeemedAt) return { ok: false, reason: row?.endReason ?? null };
  if (Number(row.staffUserId) !== ref.staffId || Number(row.customerId) !== ref.customerId || Number(row.shopId) !== shopId) {
    await endSession(knex, Number(row.id), 'permission_revoked', options);
    return { ok: false, reason: 'permission_revoked' };
  }
  if (row.pastTimeBox) {
    await endSession(knex, Number(row.id), 'timed_out', options);
    return { ok: false, reason: 'timed_out' };
  }
  if (await revokedBecause(knex, row)) {
    await endSession(knex, Number(row.id), 'permission_revoked', options);
    return { ok: false, reason: 'permission_revoked' };
  }
  const customerName = [row.firstName, row.lastName].filter(Boolean).join(' ') || row.email;
  return {
    ok: true,
    view: { sessionId: Number(row.id), customerId: Number(row.customerId), customerName, shopName: row.shopName, staffName: row.staffName || row.staffEmail || '', endsAt: row.endsAt! },
  };
}

/** Ends one session on request (F-SAC-1); false when it had already ended. Audited as `sac.ended`. */
export async function endShopAsCustomer(knex: Knex, sessionId: number, reason: SacEndReason, options: { requestId?: string } = {}): Promise<boolean> {
  return knex.transaction((trx) => endSession(trx, sessionId, reason, options));
}

/** Ends every open session of a staff member (at logout); returns how many ended. */
export async function endShopAsCustomerOfStaff(knex: Knex, staffId: number, reason: SacEndReason, options: { requestId?: string } = {}): Promise<number> {
  return knex.transaction((trx) => endOpenSessionsOfStaff(trx, staffId, reason, options));
}

async function endOpenSessionsOfStaff(db: Db, staffId: number, reason: SacEndReason, options: { requestId?: string }): Promise<number> {
  const open = (await db('sacSessions').where({ staffUserId: staffId }).whereNull('endedAt').select('id')) as Array<{ id: number }>;
  let ended = 0;
  for (const { id } of open) if (await endSession(db, Number(id), reason, options)) ended += 1;
  return ended;
}

/** The one place a session ends: a conditional UPDATE, so the end is recorded exactly once. */
async function endSession(db: Db, sessionId: number, reason: SacEndReason, options: { requestId?: string }): Promise<boolean> {
  const [row] = (await db('sacSessions')
    .where({ id: sessionId })
    .whereNull('endedAt')
    .update({ endedAt: db.fn.now(), endReason: reason })
    .returning(['id', 'staffUserId', 'customerId', 'shopId', 'redeemedAt'])) as SacRow[];
  if (!row) return false;
  const shop = (await db('shops').where({ id: row.shopId }).first('name')) as { name: string } | undefined;
  const staff = (await db('staffUsers').where({ id: row.staffUserId }).first('name', 'email')) as { name: string; email: string } | undefined;
  const byStaff = reason === 'requested' || reason === 'staff_logout' || reason === 'replaced';
  await recordAudit(db, {
    actorType: byStaff && staff ? 'staff' : 'system',
    actorId: byStaff && staff ? Number(row.staffUserId) : null,
    shopId: Number(row.shopId),
    customerId: Number(row.customerId),
    action: 'sac.ended',
    changes: { sacSessionId: Number(row.id), staff: staff ? staff.name || staff.email : null, shop: shop?.name ?? null, reason, redeemed: row.redeemedAt !== null },
    requestId: options.requestId,
  });
  return true;
}

/** A link to the admin host from the configured host name, scheme and port (never the request's Host). */
export function adminUrl(adminHost: string, pathname: string, base: { scheme: string; port: string }): string {
  const port = base.port && !['80', '443'].includes(base.port) ? `:${base.port}` : '';
  return `${base.scheme}://${adminHost}${port}${pathname}`;
}

/** Where the staff member goes back to after the session: the customer's dashboard on the admin host */
export function adminDashboardUrl(adminHost: string, customerId: number, base: { scheme: string; port: string }): string {
  return adminUrl(adminHost, `/admin/customers/${customerId}`, base);
}

/**
 * The customer's consent ("allow remote shopping assistance", F-SAC-1), set by the customer in My
 * Account, never by staff. Withdrawing it ends open sessions on shops that require it (on their
 * next request). Audited with the customer as the actor.
 */
export async function setRemoteAssistanceConsent(knex: Knex, shopId: number, customerId: number, allow: boolean, options: { requestId?: string } = {}): Promise<boolean> {
  return knex.transaction(async (trx) => {
    const row = (await trx('customers').where({ id: customerId }).forUpdate().first('allowRemoteAssistance')) as { allowRemoteAssistance: boolean } | undefined;
    if (!row) throw new NotFoundError();
    if (row.allowRemoteAssistance === allow) return false;
    await trx('customers').where({ id: customerId }).update({ allowRemoteAssistance: allow, updatedAt: trx.fn.now() });
    await recordAudit(trx, {
      actorType: 'customer',
      actorId: customerId,
      shopId,
      customerId,
      action: 'customer.remote_assistance_changed',
      changes: { fields: { allowRemoteAssistance: { from: row.allowRemoteAssistance, to: allow } } },
      requestId: options.requestId,
    });
    return true;
  });
}
