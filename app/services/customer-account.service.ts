import type { Knex } from 'knex';
import { decoyPasswordHash, hashPassword, needsRehash, verifyPassword } from '../auth/password.js';
import { ValidationError } from '../lib/errors.js';
import { EMAIL_CONFLICT_TARGET, sameEmail, type Customer } from '../models/customer.model.js';
import type { RegistrationInput } from '../schemas/auth.schema.js';
import { recordAudit } from './audit.service.js';
import { queueMail } from './outbox.service.js';
import { passwordRuleViolation } from './password-rules.js';
import type { ShopContext } from './shop.service.js';

export interface RegistrationResult {
  customerId: number;
  sessionVersion: number;
  status: 'active' | 'pending_approval';
  /** The welcome or awaiting-approval e-mail, to hand to the queue after commit. */
  outboxId: number;
}

/**
 * F-LIFE-1: creates the account, its assignment to this shop and the welcome (or "awaiting
 * approval") e-mail in one transaction.
 */
export async function registerCustomer(
  knex: Knex,
  shop: ShopContext,
  input: RegistrationInput,
  options: { links: LinkBase; requestId?: string },
): Promise<RegistrationResult> {
  const errors: Record<string, string> = {};
  const passwordProblem = passwordRuleViolation(input.password, shop.settings);
  if (passwordProblem) errors.password = passwordProblem;
  else if (input.password !== input.confirmPassword) errors.confirmPassword = 'The two passwords do not match.';
  if (!shop.settings.registrationTypes.includes(input.customertype)) errors.customertype = 'This customer type cannot register in this shop.';
  if (shop.settings.emailRegex && !new RegExp(shop.settings.emailRegex, 'u').test(input.email)) errors.email = 'This shop does not accept this e-mail address.';
  if (Object.keys(errors).length) throw new ValidationError(errors);

  const status = shop.settings.approvalRequiredFor.includes(input.customertype) ? 'pending_approval' : 'active';
  const passwordHash = await hashPassword(input.password);

  return knex.transaction(async (trx) => {
    const inserted = (await trx('customers')
      .insert({
        email: input.email,
        passwordHash,
        state: 'active',
        firstName: input.firstname,
        lastName: input.lastname,
        customerType: input.customertype,
        companyName1: input.companyname1 ?? '',
        phone: input.phone ?? '',
        passwordChangedAt: trx.fn.now(),
      })
      .onConflict(trx.raw(EMAIL_CONFLICT_TARGET))
      .ignore()
      .returning(['id', 'sessionVersion'])) as Array<{ id: number; sessionVersion: number }>;
    const customerId = inserted[0]?.id;
    if (!customerId) throw new ValidationError({ email: 'An account with this e-mail address already exists. Log in or reset your password.' });

    await trx('customerShops').insert({ customerId, shopId: shop.id, status });
    const outboxId = await queueMail(trx, {
      shopId: shop.id,
      customerId,
      to: input.email,
      template: status === 'active' ? 'welcome' : 'registration-pending',
      data: { firstName: input.firstname, shopName: shop.name, loginUrl: shopUrl(shop, '/account/login', options.links) },
    });
    await recordAudit(trx, { actorType: 'customer', actorId: customerId, shopId: shop.id, customerId, action: 'customer.registered', changes: { status }, requestId: options.requestId });
    return { customerId, sessionVersion: inserted[0]!.sessionVersion, status, outboxId };
  });
}

export type LoginResult =
  | { ok: true; customer: Customer }
  | { ok: false; reason: 'invalid' | 'pending_approval' | 'disabled' };

/** Logs in only where the customer's assignment to this shop is active (F-CUST-2). */
export async function authenticateCustomer(knex: Knex, shop: ShopContext, email: string, password: string): Promise<LoginResult> {
  const customer = (await knex('customers').where(sameEmail(knex, email)).first()) as Customer | undefined;
  if (!customer?.passwordHash) {
    await verifyPassword(await decoyPasswordHash(), password);
    return { ok: false, reason: 'invalid' };
  }
  if (!(await verifyPassword(customer.passwordHash, password))) return { ok: false, reason: 'invalid' };

  const assignment = await knex('customerShops').where({ customerId: customer.id, shopId: shop.id }).first('status');
  // A customer of another shop gets the same answer as a wrong password.
  if (!assignment) return { ok: false, reason: 'invalid' };
  if (customer.state === 'disabled') return { ok: false, reason: 'disabled' };
  if (assignment.status !== 'active') return { ok: false, reason: assignment.status };

  const updates: Record<string, unknown> = { lastLoginAt: knex.fn.now() };
  if (needsRehash(customer.passwordHash)) updates.passwordHash = await hashPassword(password);
  await knex('customers').where({ id: customer.id }).update(updates);
  return { ok: true, customer };
}

export interface LinkBase {
  scheme: string;
  port: string;
}

export function shopUrl(shop: Pick<ShopContext, 'hostname'>, pathname: string, base: LinkBase): string {
  const port = base.port && !['80', '443'].includes(base.port) ? `:${base.port}` : '';
  return `${base.scheme}://${shop.hostname}${port}${pathname}`;
}
