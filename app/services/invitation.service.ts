import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { hashPassword } from '../auth/password.js';
import { ConflictError, ForbiddenError, ValidationError } from '../lib/errors.js';
import { newToken } from '../lib/tokens.js';
import { sameEmail } from '../models/customer.model.js';
import type { ShopScope } from '../models/staff-user.model.js';
import { recordAudit } from './audit.service.js';
import { customerAccess, scopedShop, staffActor, type CustomerAccess } from './customer-access.service.js';
import { shopUrl, type LinkBase } from './customer-account.service.js';
import { queueBulkOperationMail, queueMail } from './outbox.service.js';
import { passwordRuleViolation } from './password-rules.js';
import { primaryHostname, type ShopContext } from './shop.service.js';
import type { StaffPrincipal } from './staff.service.js';

// Invitations (F-LIFE-2). A staff member invites a customer who has no password yet (state guest
// or invited) to one of their shops; the e-mail carries a single-use link valid 24 hours that
// lets the customer choose a password, which activates the account and logs them in.
//
// Token rules (F-SEC): 256 bits from the CSPRNG (newToken); only its SHA-256 is stored; the
// token exists in the e-mail (the outbox row) and nowhere else — never in a log line, a job
// payload or the audit log. Redemption is one conditional UPDATE (status 'open' and not expired),
// so of two concurrent redemptions exactly one wins. A new invitation to the same customer and
// shop supersedes the open one; the expiry job (queue `invitations`) marks the outdated ones.

type Db = Knex | Knex.Transaction;

export const INVITATION_VALID_HOURS = 24;
export const INVITABLE_STATES = ['guest', 'invited'] as const;
export const INVITATION_TEMPLATE = 'invitation';

export type InvitationStatus = 'open' | 'used' | 'superseded' | 'expired';

/** The SHA-256 (hex) under which a token is stored and looked up. */
export function hashInvitationToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** newToken's shape (32 bytes, base64url): anything else cannot be an invitation and is not looked up. */
export function isWellFormedToken(token: unknown): token is string {
  return typeof token === 'string' && /^[A-Za-z0-9_-]{43}$/.test(token);
}

export function invitationPath(token: string): string {
  return `/account/invitation/${token}`;
}

/** Staff who serve customers may invite; support staff read and answer, they do not create accounts. */
export function mayInvite(staff: Pick<StaffPrincipal, 'role'>): boolean {
  return staff.role !== 'support';
}

/** Why a customer cannot be invited to a shop, in words for staff; null when they can. */
export function invitationRefusal(state: string, assignment: string | null, shopName: string): string | null {
  if (state === 'active') return 'This customer already has an active account with a password, so there is nothing to invite them to. They can log in (or reset their password) themselves.';
  if (state === 'disabled') return 'This customer’s account is disabled. Enable the account before sending an invitation.';
  if (!INVITABLE_STATES.includes(state as (typeof INVITABLE_STATES)[number])) return 'This customer cannot be invited.';
  if (assignment === null) return `This customer is not assigned to ${shopName}.`;
  if (assignment === 'disabled') return `This customer is disabled in ${shopName}. Enable them there before sending an invitation.`;
  return null;
}

// ---- the shops widget ------------------------------------------------------------------------------

export interface ShopInvitationState {
  /** Whether the customer (no password yet) may be invited at all. */
  invitable: boolean;
  /** Per shop id: the open invitation's expiry, if one is outstanding. */
  open: Record<number, { createdAt: Date; expiresAt: Date }>;
  /** Per shop id: when the last invitation was accepted. */
  accepted: Record<number, Date>;
}

/** What the shops widget needs to offer "Invite" or "Resend invitation" per shop. */
export async function shopInvitationState(db: Db, access: CustomerAccess): Promise<ShopInvitationState> {
  const [customer, rows] = await Promise.all([
    db('customers').where({ id: access.customerId }).first('state') as Promise<{ state: string } | undefined>,
    db('customerInvitations')
      .where({ customerId: access.customerId })
      .whereIn('shopId', access.shopIds)
      .where((q) => q.where((o) => o.where('status', 'open').andWhere('expiresAt', '>', db.fn.now())).orWhere('status', 'used'))
      .orderBy('createdAt', 'desc')
      .select('shopId', 'status', 'createdAt', 'expiresAt', 'usedAt') as Promise<Array<{ shopId: number; status: InvitationStatus; createdAt: Date; expiresAt: Date; usedAt: Date | null }>>,
  ]);
  const state: ShopInvitationState = { invitable: INVITABLE_STATES.includes(customer?.state as (typeof INVITABLE_STATES)[number]), open: {}, accepted: {} };
  for (const row of rows) {
    const shopId = Number(row.shopId);
    if (row.status === 'open') state.open[shopId] ??= { createdAt: row.createdAt, expiresAt: row.expiresAt };
    else if (row.usedAt) state.accepted[shopId] ??= row.usedAt;
  }
  return state;
}

// ---- sending -------------------------------------------------------------------------------------

interface IssueInput {
  customerId: number;
  shopId: number;
  shopName: string;
  email: string;
  firstName: string;
  createdByStaffId: number | null;
  links: LinkBase;
}

/**
 * Supersedes the open invitation of this customer and shop, mints a token, writes the e-mail to
 * the outbox and stores the token's hash — all in the caller's transaction. The token leaves this
 * function only inside the e-mail.
 */
async function issueInvitation(trx: Knex.Transaction, input: IssueInput): Promise<{ outboxId: number; superseded: number }> {
  const superseded = await trx('customerInvitations')
    .where({ customerId: input.customerId, shopId: input.shopId, status: 'open' })
    .update({ status: 'superseded', closedAt: trx.fn.now() });
  const token = newToken();
  const hostname = await primaryHostname(trx, input.shopId);
  // A link needs the shop's own host name (never the request's): without one there is nothing to send.
  if (!hostname) throw new ConflictError(`${input.shopName} has no host name yet, so an invitation link cannot be built. Add the shop's domain first.`);
  const outboxId = await queueMail(trx, {
    shopId: input.shopId,
    customerId: input.customerId,
    to: input.email,
    template: INVITATION_TEMPLATE,
    data: { firstName: input.firstName || 'there', shopName: input.shopName, link: shopUrl({ hostname }, invitationPath(token), input.links), validHours: INVITATION_VALID_HOURS },
  });
  await trx('customerInvitations').insert({
    customerId: input.customerId,
    shopId: input.shopId,
    tokenHash: hashInvitationToken(token),
    createdByStaffId: input.createdByStaffId,
    outboxId,
    expiresAt: trx.raw(`now() + make_interval(hours => ?)`, [INVITATION_VALID_HOURS]),
  });
  return { outboxId, superseded };
}

export interface InvitationSent {
  shopName: string;
  resent: boolean;
  /** The invitation e-mail, to hand to the mail queue after commit. */
  outboxId: number;
}

/**
 * F-LIFE-2 from the dashboard: invites the customer to one of the staff member's shops (or sends
 * a new link, which makes the older one unusable). Refused for active or disabled accounts and
 * for a shop where the customer is disabled.
 */
export async function inviteCustomer(
  knex: Knex,
  staff: StaffPrincipal,
  customerId: number,
  shopId: number,
  options: { links: LinkBase; requestId?: string },
): Promise<InvitationSent> {
  return knex.transaction(async (trx) => {
    // The customer row stays locked until commit: two invitations at once are sent one after the other.
    const access = await customerAccess(trx, staff, customerId, { lock: true });
    const shop = scopedShop(access, shopId);
    if (!mayInvite(staff)) throw new ForbiddenError('Your role may not send invitations.');
    const customer = (await trx('customers').where({ id: customerId }).first('email', 'firstName', 'lastName', 'state')) as { email: string; firstName: string; lastName: string; state: string };
    const refusal = invitationRefusal(customer.state, shop.status, shop.shopName);
    if (refusal) throw new ConflictError(refusal);

    const issued = await issueInvitation(trx, {
      customerId,
      shopId,
      shopName: shop.shopName,
      email: customer.email,
      firstName: customer.firstName || customer.lastName,
      createdByStaffId: staff.id,
      links: options.links,
    });
    const fields: Record<string, { from: string; to: string }> = {};
    if (customer.state !== 'invited') {
      await trx('customers').where({ id: customerId }).update({ state: 'invited', updatedAt: trx.fn.now() });
      fields.state = { from: customer.state, to: 'invited' };
    }
    await recordAudit(trx, {
      ...staffActor(access, options.requestId),
      shopId,
      action: 'invitation.sent',
      changes: { shop: shop.shopName, resent: issued.superseded > 0, validHours: INVITATION_VALID_HOURS, fields, mailed: { template: INVITATION_TEMPLATE, outboxId: issued.outboxId } },
    });
    return { shopName: shop.shopName, resent: issued.superseded > 0, outboxId: issued.outboxId };
  });
}

/**
 * The "send me a new link" form on the expired page: a new invitation goes out only when the
 * e-mail belongs to an invited customer of THIS shop (not disabled there). The caller answers the
 * same either way, so the form does not reveal whether an e-mail exists.
 */
export async function requestNewInvitation(knex: Knex, shop: ShopContext, email: string, options: { links: LinkBase; requestId?: string }): Promise<number | null> {
  return knex.transaction(async (trx) => {
    const customer = (await trx('customers')
      .join('customerShops', 'customerShops.customerId', 'customers.id')
      .where(sameEmail(trx, email, 'customers.email'))
      .where('customers.state', 'invited')
      .where('customerShops.shopId', shop.id)
      .whereNot('customerShops.status', 'disabled')
      .forUpdate('customers')
      .first('customers.id', 'customers.email', 'customers.firstName', 'customers.lastName')) as { id: number; email: string; firstName: string; lastName: string } | undefined;
    if (!customer) return null;
    const issued = await issueInvitation(trx, {
      customerId: customer.id,
      shopId: shop.id,
      shopName: shop.name,
      email: customer.email,
      firstName: customer.firstName || customer.lastName,
      createdByStaffId: null,
      links: options.links,
    });
    await recordAudit(trx, {
      actorType: 'customer',
      actorId: customer.id,
      customerId: customer.id,
      shopId: shop.id,
      action: 'invitation.requested',
      changes: { shop: shop.name, resent: issued.superseded > 0, validHours: INVITATION_VALID_HOURS, mailed: { template: INVITATION_TEMPLATE, outboxId: issued.outboxId } },
      requestId: options.requestId,
    });
    return issued.outboxId;
  });
}

// ---- redeeming -----------------------------------------------------------------------------------

export interface OpenInvitation {
  id: number;
  customerId: number;
  email: string;
  firstName: string;
  expiresAt: Date;
}

/** The open, unexpired invitation of this shop behind `token`, for a customer who may still accept it; else null. */
export async function findOpenInvitation(db: Db, shop: Pick<ShopContext, 'id'>, token: unknown): Promise<OpenInvitation | null> {
  if (!isWellFormedToken(token)) return null;
  const row = (await db('customerInvitations as i')
    .join('customers as c', 'c.id', 'i.customerId')
    .where({ 'i.tokenHash': hashInvitationToken(token), 'i.shopId': shop.id, 'i.status': 'open' })
    .where('i.expiresAt', '>', db.fn.now())
    .whereIn('c.state', INVITABLE_STATES)
    .first('i.id', 'i.customerId', 'c.email', 'c.firstName', 'i.expiresAt')) as OpenInvitation | undefined;
  return row ?? null;
}

export type Acceptance =
  | { ok: true; customerId: number; sessionVersion: number }
  | { ok: false; reason: 'expired' | 'disabled' };

class Refused extends Error {
  constructor(readonly reason: 'expired' | 'disabled') {
    super(reason);
  }
}

/**
 * Sets the password and activates the account (state active, assignment active, password changed
 * now), marking the invitation used. The invitation is claimed with a conditional UPDATE, so of
 * two concurrent redemptions one wins and the other finds it used ('expired').
 */
export async function acceptInvitation(
  knex: Knex,
  shop: ShopContext,
  token: unknown,
  input: { password: string; confirmPassword: string },
  options: { requestId?: string } = {},
): Promise<Acceptance> {
  if (!(await findOpenInvitation(knex, shop, token))) return { ok: false, reason: 'expired' };
  const problem = passwordRuleViolation(input.password, shop.settings);
  if (problem) throw new ValidationError({ password: problem });
  if (input.password !== input.confirmPassword) throw new ValidationError({ confirmPassword: 'The two passwords do not match.' });
  // Hashing is slow on purpose: done before the transaction, so no lock waits on it.
  const passwordHash = await hashPassword(input.password);

  try {
    return await knex.transaction(async (trx) => {
      const [claimed] = (await trx('customerInvitations')
        .where({ tokenHash: hashInvitationToken(token as string), shopId: shop.id, status: 'open' })
        .where('expiresAt', '>', trx.fn.now())
        .update({ status: 'used', usedAt: trx.fn.now(), closedAt: trx.fn.now() })
        .returning(['id', 'customerId'])) as Array<{ id: number; customerId: number }>;
      if (!claimed) throw new Refused('expired');

      const before = (await trx('customers').where({ id: claimed.customerId }).forUpdate().first('state')) as { state: string };
      const [customer] = (await trx('customers')
        .where({ id: claimed.customerId })
        .whereIn('state', INVITABLE_STATES)
        .update({ passwordHash, state: 'active', passwordChangedAt: trx.fn.now(), updatedAt: trx.fn.now(), sessionVersion: trx.raw('session_version + 1') })
        .returning(['sessionVersion'])) as Array<{ sessionVersion: number }>;
      if (!customer) throw new Refused('expired');

      const assignment = (await trx('customerShops').where({ customerId: claimed.customerId, shopId: shop.id }).forUpdate().first('status')) as { status: string } | undefined;
      if (!assignment || assignment.status === 'disabled') throw new Refused('disabled');
      if (assignment.status !== 'active') await trx('customerShops').where({ customerId: claimed.customerId, shopId: shop.id }).update({ status: 'active', updatedAt: trx.fn.now() });
      // The account has a password now: links to other shops would only set it again.
      await trx('customerInvitations').where({ customerId: claimed.customerId, status: 'open' }).update({ status: 'superseded', closedAt: trx.fn.now() });

      const fields: Record<string, { from: string; to: string }> = { state: { from: before.state, to: 'active' } };
      if (assignment.status !== 'active') fields[`status in ${shop.name}`] = { from: assignment.status, to: 'active' };
      await recordAudit(trx, {
        actorType: 'customer',
        actorId: claimed.customerId,
        customerId: claimed.customerId,
        shopId: shop.id,
        action: 'invitation.accepted',
        changes: { shop: shop.name, fields },
        requestId: options.requestId,
      });
      return { ok: true as const, customerId: claimed.customerId, sessionVersion: customer.sessionVersion };
    });
  } catch (error) {
    if (error instanceof Refused) return { ok: false, reason: error.reason };
    throw error;
  }
}

// ---- expiry (queue `invitations`) ------------------------------------------------------------------

/**
 * Marks open invitations past their expiry as expired, in batches, each with a timeline entry.
 * Redemption checks expires_at itself; this keeps the status (and the dashboard) truthful.
 */
export async function expireInvitations(knex: Knex, batchSize = 1_000): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await knex.raw(
      `WITH due AS (
         SELECT id FROM customer_invitations WHERE status = 'open' AND expires_at <= now() ORDER BY expires_at LIMIT ? FOR UPDATE SKIP LOCKED
       ), expired AS (
         UPDATE customer_invitations i SET status = 'expired', closed_at = now() FROM due WHERE i.id = due.id
         RETURNING i.customer_id, i.shop_id, i.expires_at
       ), logged AS (
         INSERT INTO audit_log (actor_type, actor_id, shop_id, customer_id, action, changes)
         SELECT 'system', NULL, e.shop_id, e.customer_id, 'invitation.expired', jsonb_build_object('shop', s.name, 'expiredAt', e.expires_at)
           FROM expired e JOIN shops s ON s.id = e.shop_id
         RETURNING 1
       )
       SELECT count(*)::int AS n FROM logged`,
      [batchSize],
    );
    const n = Number(result.rows[0]?.n ?? 0);
    total += n;
    if (n < batchSize) return total;
  }
}

// ---- bulk (F-LIST-5, run by the bulk worker) ----------------------------------------------------------

export interface InviteChunkInput {
  /** The chunk's customer ids as SQL (`?` placeholders) with its bindings, ordered by id. */
  sql: string;
  bindings: readonly Knex.RawBinding[];
  operationId: number;
  staffUserId: number;
  shopId: number;
  scope: ShopScope;
  links: LinkBase;
}

export interface InviteChunkResult {
  seen: number;
  changed: number;
  skipped: number;
  skippedExamples: Array<{ id: number; reason: string }>;
  outboxIds: number[];
}

/**
 * One chunk of a bulk invitation, set-based inside the caller's transaction: for every eligible
 * customer (guest or invited, assigned to the shop and not disabled there) a fresh token is minted
 * here, its e-mail rendered, and the outbox rows, invitations and timeline entries are written
 * with one statement each. Customers this operation already invited are left alone (one e-mail
 * per customer and operation); active and disabled ones are skipped and reported.
 */
export async function inviteChunk(trx: Knex.Transaction, input: InviteChunkInput): Promise<InviteChunkResult> {
  const inScope = input.scope === 'all' || input.scope.includes(input.shopId);
  const result = await trx.raw(
    `WITH chunk AS (${input.sql})
     SELECT chunk.id, c.email, c.first_name, c.last_name, c.state, cs.status AS assignment,
            EXISTS (SELECT 1 FROM customer_invitations i WHERE i.bulk_operation_id = ? AND i.customer_id = chunk.id) AS already
       FROM chunk
       JOIN customers c ON c.id = chunk.id
       LEFT JOIN customer_shops cs ON cs.customer_id = chunk.id AND cs.shop_id = ?
      ORDER BY chunk.id
        FOR UPDATE OF c`,
    [...input.bindings, input.operationId, input.shopId],
  );
  const rows = result.rows as Array<{ id: number; email: string; first_name: string; last_name: string; state: string; assignment: string | null; already: boolean }>;
  const shop = (await trx('shops').where({ id: input.shopId }).first('name')) as { name: string };
  const hostname = await primaryHostname(trx, input.shopId);
  // The operation fails with this reason (shown on its progress page) rather than mailing broken links.
  if (!hostname) throw new Error(`${shop.name} has no host name yet, so invitation links cannot be built; add the shop's domain and run the action again`);

  const skippedExamples: Array<{ id: number; reason: string }> = [];
  let skipped = 0;
  const eligible: typeof rows = [];
  for (const row of rows) {
    if (row.already) continue;
    const reason = !inScope ? 'not in a shop you manage' : bulkSkipReason(row.state, row.assignment);
    if (reason) {
      skipped += 1;
      if (skippedExamples.length < 20) skippedExamples.push({ id: Number(row.id), reason });
      continue;
    }
    eligible.push(row);
  }

  const summary = { seen: rows.length, skipped, skippedExamples };
  if (!eligible.length) return { ...summary, changed: 0, outboxIds: [] };

  const ids = eligible.map((row) => Number(row.id));
  const tokens = eligible.map(() => newToken());

  await trx.raw(`UPDATE customer_invitations SET status = 'superseded', closed_at = now() WHERE shop_id = ? AND customer_id = ANY(?::bigint[]) AND status = 'open'`, [input.shopId, ids]);
  const outboxByCustomer = await queueBulkOperationMail(trx, {
    operationId: input.operationId,
    shopId: input.shopId,
    template: INVITATION_TEMPLATE,
    mails: eligible.map((row, i) => ({
      customerId: ids[i]!,
      to: row.email,
      data: { firstName: row.first_name || row.last_name || 'there', shopName: shop.name, link: shopUrl({ hostname }, invitationPath(tokens[i]!), input.links), validHours: INVITATION_VALID_HOURS },
    })),
  });
  const outboxIds = ids.map((id) => outboxByCustomer.get(id)!);

  await trx.raw(
    `INSERT INTO customer_invitations (customer_id, shop_id, token_hash, created_by_staff_id, bulk_operation_id, outbox_id, expires_at)
     SELECT n.customer_id, ?, n.token_hash, ?, ?, n.outbox_id, now() + make_interval(hours => ?)
       FROM unnest(?::bigint[], ?::text[], ?::bigint[]) AS n(customer_id, token_hash, outbox_id)`,
    [input.shopId, input.staffUserId, input.operationId, INVITATION_VALID_HOURS, ids, tokens.map(hashInvitationToken), outboxIds],
  );
  await trx.raw(
    `WITH before AS (SELECT id, state FROM customers WHERE id = ANY(?::bigint[])),
          changed AS (UPDATE customers c SET state = 'invited', updated_at = now() FROM before WHERE c.id = before.id AND before.state = 'guest' RETURNING c.id)
     INSERT INTO audit_log (actor_type, actor_id, shop_id, customer_id, action, changes)
     SELECT 'staff', ?, ?, before.id, 'invitation.sent',
            jsonb_build_object('shop', ?::text, 'resent', false, 'validHours', ?::int, 'bulkOperationId', ?::bigint,
                               'fields', CASE WHEN before.state = 'guest' THEN jsonb_build_object('state', jsonb_build_object('from', 'guest', 'to', 'invited')) ELSE '{}'::jsonb END,
                               'mailed', jsonb_build_object('template', ?::text, 'outboxId', o.outbox_id))
       FROM before JOIN unnest(?::bigint[], ?::bigint[]) AS o(customer_id, outbox_id) ON o.customer_id = before.id`,
    [ids, input.staffUserId, input.shopId, shop.name, INVITATION_VALID_HOURS, input.operationId, INVITATION_TEMPLATE, ids, outboxIds],
  );
  return { ...summary, changed: eligible.length, outboxIds };
}

function bulkSkipReason(state: string, assignment: string | null): string | null {
  if (state === 'active') return 'already active (has a password)';
  if (state === 'disabled') return 'account disabled';
  if (!INVITABLE_STATES.includes(state as (typeof INVITABLE_STATES)[number])) return 'cannot be invited';
  if (assignment === null) return 'not assigned to this shop';
  if (assignment === 'disabled') return 'disabled in this shop';
  return null;
}
