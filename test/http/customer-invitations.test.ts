import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashInvitationToken } from '../../app/services/invitation.service.js';
import { agentFor, csrfFrom, loginStaff, type Agent } from '../support/agents.js';
import { auditOf, postForm, sectionText, triggers } from '../support/dashboard.js';
import { makeCustomer, makeSalesTeam, makeShop, makeStaff, PASSWORD } from '../support/factories.js';
import { fieldError, textOf } from '../support/html.js';
import { appLoggingTo, createTestApp, type TestApp } from '../support/test-app.js';

/**
 * F-LIFE-2 invitations, individually from the dashboard: the e-mail (outbox) carries a link on the
 * shop's configured host; following it sets the password, activates the account and logs in, once.
 * Expired, used, superseded or unknown links show "Password token expired" with a re-request form.
 */

const LINK = /(https?:\/\/[^\s"<]+)\/account\/invitation\/([A-Za-z0-9_-]{43})/;
const NEW_PASSWORD = 'a long enough passphrase 42';

describe('invitations (F-LIFE-2)', () => {
  let t: TestApp;
  let shop: { id: number; name: string }, other: { id: number; name: string };
  let owner: Agent;
  let ownerId: number;
  let ipSeq = 0;
  /** A client IP of its own per test (TRUST_PROXY=1), so the per-IP limits of one test do not touch another. */
  const nextIp = () => `203.0.113.${++ipSeq}`;

  const invite = (agent: Agent, customerId: number, shopId: number, options: { htmx?: boolean } = {}) => postForm(agent, `/admin/customers/${customerId}/invitations/${shopId}`, {}, options);

  async function lastInvitationMail(customerId: number) {
    const row = await t.ctx.knex('mailOutbox').where({ customerId, template: 'invitation' }).orderBy('id', 'desc').first();
    expect(row, 'an invitation e-mail in the outbox').toBeDefined();
    const match = LINK.exec(row.textBody as string);
    expect(match, 'a link in the e-mail').not.toBeNull();
    return { row, base: match![1]!, token: match![2]!, path: `/account/invitation/${match![2]!}` };
  }

  async function invitedGuest(overrides: { email?: string; shopIds?: number[]; salesTeamId?: number } = {}) {
    const c = await makeCustomer(t.ctx.knex, overrides.shopIds ?? [shop.id], { state: 'guest', email: overrides.email, salesTeamId: overrides.salesTeamId });
    return c;
  }

  /** Opens the link in a fresh browser (GET for the page and its CSRF token) and submits the password form. */
  async function accept(path: string, fields: { password?: string; confirmPassword?: string } = {}, ip = nextIp(), app: Express = t.app) {
    const agent = agentFor(app, 'inv.localhost').set('X-Forwarded-For', ip);
    const page = await agent.get(path);
    const token = /<meta name="csrf-token" content="([^"]+)"/.exec(page.text)?.[1] ?? '';
    const response = await agent
      .post(path)
      .type('form')
      .send({ password: fields.password ?? NEW_PASSWORD, confirmPassword: fields.confirmPassword ?? fields.password ?? NEW_PASSWORD, _csrf: token });
    return { agent, page, response };
  }

  beforeAll(async () => {
    t = await createTestApp({ env: { TRUST_PROXY: '1', PUBLIC_PORT: '' } });
    const knex = t.ctx.knex;
    shop = await makeShop(knex, { code: 'inv', name: 'Invite Shop', hostname: 'inv.localhost', settings: { passwordMinLength: 12, passwordRegex: '[0-9]', passwordRegexMessage: 'Password must contain at least one digit.' } });
    // A second host name of the same shop: links must still use the primary one.
    await knex('shopDomains').insert({ shopId: shop.id, hostname: 'www.inv.localhost', isPrimary: false });
    other = await makeShop(knex, { code: 'invother', name: 'Other Invite Shop', hostname: 'invother.localhost' });
    const staff = await makeStaff(knex, { role: 'owner' });
    ownerId = staff.id;
    owner = await loginStaff(t.app, staff.email);
  });
  afterAll(() => t?.close());

  it('invites from the dashboard: outbox e-mail with a link on the configured host (not the forged one), state invited, timeline entry', async () => {
    const knex = t.ctx.knex;
    const c = await invitedGuest({ email: 'gina.guest@example.test' });
    const dashboard = await owner.get(`/admin/customers/${c.id}`);
    expect(sectionText(dashboard.text, 'w-shops')).toContain('Invite');

    const csrf = csrfFrom(dashboard.text);
    const response = await owner
      .post(`/admin/customers/${c.id}/invitations/${shop.id}`)
      .set({ Host: 'admin.localhost:4444', 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https', 'HX-Request': 'true', 'HX-Request-Type': 'partial', 'X-CSRF-Token': csrf })
      .type('form')
      .send({});
    expect(response.status).toBe(200);
    expect(response.headers['hx-retarget']).toBe('#w-shops');
    expect(triggers(response)).toMatchObject({ closeModal: { target: 'body' }, timelineChanged: { target: 'body' }, infoChanged: { target: 'body' } });
    expect(textOf(response.text)).toContain('The invitation to Invite Shop is on its way.');
    expect(textOf(response.text)).toContain('Resend invitation');

    const mail = await lastInvitationMail(c.id);
    expect(mail.base).toBe('http://inv.localhost');
    expect(mail.row).toMatchObject({ toAddress: 'gina.guest@example.test', shopId: shop.id, status: 'pending', subject: 'You are invited to your account at Invite Shop' });
    expect(mail.row.htmlBody).toContain(`href="http://inv.localhost/account/invitation/${mail.token}"`);
    expect(mail.row.textBody).not.toContain('evil.example');
    expect(mail.row.textBody).not.toContain('4444');

    const stored = await knex('customerInvitations').where({ customerId: c.id }).first();
    expect(stored).toMatchObject({ shopId: shop.id, status: 'open', createdByStaffId: ownerId, outboxId: mail.row.id, tokenHash: hashInvitationToken(mail.token) });
    // Only the hash is stored; it is valid for 24 hours.
    expect(JSON.stringify(stored)).not.toContain(mail.token);
    const hours = (new Date(stored.expiresAt).getTime() - new Date(stored.createdAt).getTime()) / 3_600_000;
    expect(hours).toBeCloseTo(24, 5);
    expect((await knex('customers').where({ id: c.id }).first('state')).state).toBe('invited');

    const [entry] = await auditOf(knex, c.id);
    expect(entry).toMatchObject({ action: 'invitation.sent', shopId: shop.id, actorId: ownerId, changes: { shop: 'Invite Shop', resent: false, fields: { state: { from: 'guest', to: 'invited' } }, mailed: { template: 'invitation', outboxId: mail.row.id } } });
    expect(JSON.stringify(entry)).not.toContain(mail.token);
    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(sectionText(page.text, 'w-timeline')).toContain('Invitation sent for Invite Shop');
  });

  it('never shows the link of an invitation on the outbox page, and keeps the outbox to owners and managers', async () => {
    const knex = t.ctx.knex;
    const c = await invitedGuest({ email: 'outbox.secret@example.test' });
    await invite(owner, c.id, shop.id);
    const mail = await lastInvitationMail(c.id);
    const page = await owner.get(`/admin/outbox/${mail.row.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('You are invited to your account at Invite Shop');
    expect(page.text).toContain('it is not shown here');
    expect(page.text).not.toContain(mail.token);
    expect(page.text).not.toContain('/account/invitation/');

    const support = await loginStaff(t.app, (await makeStaff(knex, { role: 'support', shopIds: [shop.id] })).email);
    expect((await support.get('/admin/outbox')).status).toBe(403);
    expect((await support.get(`/admin/outbox/${mail.row.id}`)).status).toBe(403);
    expect((await support.get('/admin/customers')).text).not.toContain('href="/admin/outbox"');
  });

  it('refuses to invite to a shop without a host name instead of mailing a broken link', async () => {
    const knex = t.ctx.knex;
    const hostless = await makeShop(knex, { code: 'inv-nohost', name: 'Hostless Shop', hostname: 'inv-nohost.localhost' });
    await knex('shopDomains').where({ shopId: hostless.id }).delete();
    const c = await invitedGuest({ email: 'hostless@example.test', shopIds: [hostless.id] });
    const response = await invite(owner, c.id, hostless.id, { htmx: true });
    expect(response.status).toBe(409);
    expect(textOf(response.text)).toContain('Hostless Shop has no host name yet');
    expect(await knex('mailOutbox').where({ customerId: c.id }).count({ n: '*' }).first().then((r) => Number(r!.n))).toBe(0);
  });

  it('works as a plain form too (redirect with a flash message)', async () => {
    const c = await invitedGuest();
    const response = await invite(owner, c.id, shop.id);
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`/admin/customers/${c.id}`);
    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(textOf(page.text)).toContain('The invitation to Invite Shop is on its way.');
    expect(sectionText(page.text, 'w-shops')).toContain('Resend invitation');
  });

  it('accepting sets the password (argon2id), activates the account and the assignment, logs in on a new session id', async () => {
    const knex = t.ctx.knex;
    const c = await invitedGuest({ email: 'accept.me@example.test' });
    await knex('customerShops').where({ customerId: c.id, shopId: shop.id }).update({ status: 'pending_approval' });
    expect((await invite(owner, c.id, shop.id)).status).toBe(303);
    const { path } = await lastInvitationMail(c.id);

    const ip = nextIp();
    const agent = agentFor(t.app, 'inv.localhost').set('X-Forwarded-For', ip);
    const page = await agent.get(path);
    expect(page.status).toBe(200);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(textOf(page.text)).toContain('Choose your password');
    expect(textOf(page.text)).toContain('accept.me@example.test');
    expect(textOf(page.text)).toContain('At least 12 characters. Password must contain at least one digit.');
    const sessionBefore = /cp_shop=([^;]+)/.exec(String(page.headers['set-cookie']))?.[1];
    expect(sessionBefore).toBeDefined();

    const response = await agent.post(path).type('form').send({ password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD, _csrf: csrfFrom(page.text) });
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/account');
    const sessionAfter = /cp_shop=([^;]+)/.exec(String(response.headers['set-cookie']))?.[1];
    expect(sessionAfter).toBeDefined();
    expect(sessionAfter).not.toBe(sessionBefore);

    const account = await agent.get('/account');
    expect(account.status).toBe(200);
    expect(textOf(account.text)).toContain('Your password is set and your account at Invite Shop is active.');

    const customer = await knex('customers').where({ id: c.id }).first();
    expect(customer.state).toBe('active');
    expect(customer.passwordHash).toMatch(/^\$argon2id\$/);
    expect(customer.passwordChangedAt).not.toBeNull();
    expect((await knex('customerShops').where({ customerId: c.id, shopId: shop.id }).first()).status).toBe('active');
    expect(await knex('customerInvitations').where({ customerId: c.id }).first()).toMatchObject({ status: 'used' });
    const [entry] = await auditOf(knex, c.id);
    expect(entry).toMatchObject({ action: 'invitation.accepted', changes: { fields: { state: { from: 'invited', to: 'active' }, 'status in Invite Shop': { from: 'pending_approval', to: 'active' } } } });

    // The new password works on the login form.
    const login = agentFor(t.app, 'inv.localhost');
    const loginPage = await login.get('/account/login');
    expect((await login.post('/account/login').type('form').send({ email: 'accept.me@example.test', password: NEW_PASSWORD, _csrf: csrfFrom(loginPage.text) })).status).toBe(303);
  });

  it('a used link shows "Password token expired" with the re-request form', async () => {
    const c = await invitedGuest();
    await invite(owner, c.id, shop.id);
    const { path } = await lastInvitationMail(c.id);
    expect((await accept(path)).response.status).toBe(303);

    const again = await agentFor(t.app, 'inv.localhost').set('X-Forwarded-For', nextIp()).get(path);
    expect(again.status).toBe(410);
    expect(again.headers['referrer-policy']).toBe('no-referrer');
    expect(textOf(again.text)).toContain('Password token expired');
    expect(again.text).toContain('action="/account/invitation"');
    const reuse = await accept(path, { password: 'another passphrase 99' });
    expect(reuse.response.status).toBe(410);
    expect(textOf(reuse.response.text)).toContain('Password token expired');
  });

  it('an expired link (expires_at in the past) shows the expired page and changes nothing', async () => {
    const knex = t.ctx.knex;
    const c = await invitedGuest();
    await invite(owner, c.id, shop.id);
    const { path } = await lastInvitationMail(c.id);
    await knex('customerInvitations').where({ customerId: c.id }).update({ createdAt: knex.raw("now() - interval '25 hours'"), expiresAt: knex.raw("now() - interval '1 hour'") });
    const { page, response } = await accept(path);
    expect(page.status).toBe(410);
    expect(textOf(page.text)).toContain('Password token expired');
    expect(response.status).toBe(410);
    const customer = await knex('customers').where({ id: c.id }).first();
    expect(customer).toMatchObject({ state: 'invited', passwordHash: null });
  });

  it('unknown, malformed and path-trick tokens get the same expired page', async () => {
    const agent = agentFor(t.app, 'inv.localhost').set('X-Forwarded-For', nextIp());
    for (const token of ['A'.repeat(43), 'short', '..%2F..%2Fadmin', "' OR 1=1 --", '%3Cscript%3E']) {
      const page = await agent.get(`/account/invitation/${token}`);
      expect(page.status, token).toBe(410);
      expect(textOf(page.text)).toContain('Password token expired');
      expect(page.text).not.toContain('<script>');
    }
  });

  it('resending replaces the older link: the old one stops working, the new one works', async () => {
    const knex = t.ctx.knex;
    const c = await invitedGuest();
    await invite(owner, c.id, shop.id);
    const first = await lastInvitationMail(c.id);
    const resent = await invite(owner, c.id, shop.id, { htmx: true });
    expect(resent.status).toBe(200);
    expect(textOf(resent.text)).toContain('A new invitation to Invite Shop is on its way; the earlier link no longer works.');
    const second = await lastInvitationMail(c.id);
    expect(second.token).not.toBe(first.token);

    const rows = await knex('customerInvitations').where({ customerId: c.id }).orderBy('id');
    expect(rows.map((r: { status: string }) => r.status)).toEqual(['superseded', 'open']);
    const old = await agentFor(t.app, 'inv.localhost').set('X-Forwarded-For', nextIp()).get(first.path);
    expect(old.status).toBe(410);
    expect((await accept(second.path)).response.status).toBe(303);
    const [entry] = (await auditOf(knex, c.id)).filter((e) => e.action === 'invitation.sent');
    expect(entry!.changes).toMatchObject({ resent: true });
  });

  it('the re-request form answers identically for unknown e-mails and sends a new link only to an invited customer of this shop', async () => {
    const knex = t.ctx.knex;
    const c = await invitedGuest({ email: 'ask.again@example.test' });
    await invite(owner, c.id, shop.id);
    const first = await lastInvitationMail(c.id);
    await knex('customerInvitations').where({ customerId: c.id }).update({ createdAt: knex.raw("now() - interval '25 hours'"), expiresAt: knex.raw("now() - interval '1 hour'") });
    // Invited, but by the other shop only: this shop must not send anything.
    const elsewhere = await makeCustomer(knex, [other.id], { state: 'invited', email: 'elsewhere@example.test' });
    await knex('customers').where({ id: elsewhere.id }).update({ passwordHash: null });
    const active = await makeCustomer(knex, [shop.id], { email: 'active.one@example.test' });

    const ask = async (email: string) => {
      // The secondary host name, a port and a forged X-Forwarded-Host: the link still uses the configured host.
      const agent = agentFor(t.app, 'www.inv.localhost:8443').set({ 'X-Forwarded-For': nextIp(), 'X-Forwarded-Host': 'evil.example' });
      const page = await agent.get(first.path);
      expect(page.status).toBe(410);
      const response = await agent.post('/account/invitation').type('form').send({ email, _csrf: csrfFrom(page.text) });
      return { status: response.status, text: textOf(response.text).replace(email, 'EMAIL') };
    };
    const mailCount = async () => Number((await knex('mailOutbox').where({ template: 'invitation' }).count({ n: '*' }).first())!.n);

    const before = await mailCount();
    const unknown = await ask('nobody.here@example.test');
    const wrongShop = await ask('elsewhere@example.test');
    const notInvited = await ask('active.one@example.test');
    expect(await mailCount()).toBe(before);
    const known = await ask('ASK.AGAIN@example.test');
    expect(known).toEqual(unknown);
    expect(wrongShop).toEqual(unknown);
    expect(notInvited).toEqual(unknown);
    expect(known.status).toBe(200);
    expect(known.text).toContain('a new link is on its way');
    expect(await mailCount()).toBe(before + 1);

    const fresh = await lastInvitationMail(c.id);
    expect(fresh.base).toBe('http://inv.localhost');
    expect(fresh.token).not.toBe(first.token);
    expect((await accept(fresh.path)).response.status).toBe(303);
    expect(active.id).toBeGreaterThan(0);

    const bad = await agentFor(t.app, 'inv.localhost').set('X-Forwarded-For', nextIp()).get('/account/invitation');
    const refused = await agentFor(t.app, 'inv.localhost')
      .set('X-Forwarded-For', nextIp())
      .post('/account/invitation')
      .type('form')
      .send({ email: ['a@example.test', 'b@example.test'], _csrf: 'x' });
    expect(bad.status).toBe(200);
    expect([400, 403]).toContain(refused.status);
  });

  it('two concurrent redemptions of one link: exactly one wins', async () => {
    const knex = t.ctx.knex;
    const c = await invitedGuest();
    await invite(owner, c.id, shop.id);
    const { path } = await lastInvitationMail(c.id);
    const browsers = await Promise.all(
      [1, 2].map(async (n) => {
        const agent = agentFor(t.app, 'inv.localhost').set('X-Forwarded-For', nextIp());
        const page = await agent.get(path);
        return { agent, csrf: csrfFrom(page.text), password: `concurrent passphrase ${n}` };
      }),
    );
    const responses = await Promise.all(browsers.map((b) => b.agent.post(path).type('form').send({ password: b.password, confirmPassword: b.password, _csrf: b.csrf })));
    expect(responses.map((r) => r.status).sort()).toEqual([303, 410]);
    expect(await knex('customerInvitations').where({ customerId: c.id, status: 'used' }).count({ n: '*' }).first().then((r) => Number(r!.n))).toBe(1);
    expect((await auditOf(knex, c.id)).filter((e) => e.action === 'invitation.accepted')).toHaveLength(1);
  });

  it('refuses an active customer with a clear message, and a disabled account', async () => {
    const knex = t.ctx.knex;
    const activeOne = await makeCustomer(knex, [shop.id]);
    const htmx = await invite(owner, activeOne.id, shop.id, { htmx: true });
    expect(htmx.status).toBe(409);
    expect(htmx.headers['hx-retarget']).toBe('#w-shops');
    expect(textOf(htmx.text)).toContain('This customer already has an active account with a password');
    const plain = await invite(owner, activeOne.id, shop.id);
    expect(plain.status).toBe(303);
    expect(textOf((await owner.get(`/admin/customers/${activeOne.id}`)).text)).toContain('This customer already has an active account with a password');

    const disabled = await makeCustomer(knex, [shop.id], { state: 'disabled' });
    expect((await invite(owner, disabled.id, shop.id, { htmx: true })).status).toBe(409);
    const disabledHere = await invitedGuest();
    await knex('customerShops').where({ customerId: disabledHere.id }).update({ status: 'disabled' });
    const refused = await invite(owner, disabledHere.id, shop.id, { htmx: true });
    expect(refused.status).toBe(409);
    expect(textOf(refused.text)).toContain('disabled in Invite Shop');
    expect(await knex('customerInvitations').whereIn('customerId', [activeOne.id, disabled.id, disabledHere.id]).count({ n: '*' }).first().then((r) => Number(r!.n))).toBe(0);
    expect(await knex('mailOutbox').whereIn('customerId', [activeOne.id, disabled.id, disabledHere.id]).count({ n: '*' }).first().then((r) => Number(r!.n))).toBe(0);
  });

  it('staff of another shop and a sales rep of another team get 404; support staff may not invite (403)', async () => {
    const knex = t.ctx.knex;
    const team = await makeSalesTeam(knex);
    const otherTeam = await makeSalesTeam(knex);
    const c = await invitedGuest({ salesTeamId: team.id });
    const foreign = await loginStaff(t.app, (await makeStaff(knex, { role: 'manager', shopIds: [other.id] })).email);
    expect((await invite(foreign, c.id, shop.id)).status).toBe(404);
    expect((await invite(foreign, c.id, other.id, { htmx: true })).status).toBe(404);
    const rep = await loginStaff(t.app, (await makeStaff(knex, { role: 'sales_rep', shopIds: [shop.id], salesTeamId: otherTeam.id })).email);
    expect((await invite(rep, c.id, shop.id)).status).toBe(404);
    const support = await loginStaff(t.app, (await makeStaff(knex, { role: 'support', shopIds: [shop.id] })).email);
    expect((await invite(support, c.id, shop.id)).status).toBe(403);
    // A shop the customer is not assigned to, even one the staff member manages: 404.
    expect((await invite(owner, c.id, other.id)).status).toBe(404);
    // Non-numeric shop ids are not shops.
    expect((await invite(owner, c.id, '../1' as unknown as number)).status).toBe(404);
    const ownTeamRep = await loginStaff(t.app, (await makeStaff(knex, { role: 'sales_rep', shopIds: [shop.id], salesTeamId: team.id })).email);
    expect((await invite(ownTeamRep, c.id, shop.id)).status).toBe(303);
    expect(await knex('customerInvitations').where({ customerId: c.id }).count({ n: '*' }).first().then((r) => Number(r!.n))).toBe(1);
  });

  it('a weak password is refused with 422 and the shop’s rule; nothing is used up', async () => {
    const knex = t.ctx.knex;
    const c = await invitedGuest();
    await invite(owner, c.id, shop.id);
    const { path } = await lastInvitationMail(c.id);
    const ip = nextIp();
    const short = await accept(path, { password: 'short1' }, ip);
    expect(short.response.status).toBe(422);
    expect(fieldError(short.response.text, 'password')).toBe('Password must be at least 12 characters.');
    const noDigit = await accept(path, { password: 'long but no digits at all' }, ip);
    expect(noDigit.response.status).toBe(422);
    expect(fieldError(noDigit.response.text, 'password')).toBe('Password must contain at least one digit.');
    const mismatch = await accept(path, { password: NEW_PASSWORD, confirmPassword: 'something else 1' }, ip);
    expect(mismatch.response.status).toBe(422);
    expect(fieldError(mismatch.response.text, 'confirmPassword')).toBe('The two passwords do not match.');
    const tooLong = await accept(path, { password: `${'é'.repeat(600)}1` }, ip);
    expect(tooLong.response.status).toBe(422);
    expect(await knex('customerInvitations').where({ customerId: c.id }).first()).toMatchObject({ status: 'open' });
    // Unicode passphrases are fine.
    expect((await accept(path, { password: 'ключ доступа 2026 🔑' }, ip)).response.status).toBe(303);
  });

  it('rate limits bad tokens per IP (429), without touching other clients', async () => {
    const ip = nextIp();
    const agent = agentFor(t.app, 'inv.localhost').set('X-Forwarded-For', ip);
    for (let i = 0; i < 20; i++) expect((await agent.get(`/account/invitation/${'B'.repeat(42)}${i % 10}`)).status).toBe(410);
    const blocked = await agent.get(`/account/invitation/${'C'.repeat(43)}`);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    const elsewhere = await agentFor(t.app, 'inv.localhost').set('X-Forwarded-For', nextIp()).get(`/account/invitation/${'C'.repeat(43)}`);
    expect(elsewhere.status).toBe(410);
  });

  it('rate limits requests for a new link per IP (429) and, silently, per e-mail', async () => {
    const knex = t.ctx.knex;
    const c = await invitedGuest({ email: 'flooded@example.test' });
    await invite(owner, c.id, shop.id);
    const mails = async () => Number((await knex('mailOutbox').where({ customerId: c.id, template: 'invitation' }).count({ n: '*' }).first())!.n);
    const askFrom = async (ip: string, email: string) => {
      const agent = agentFor(t.app, 'inv.localhost').set('X-Forwarded-For', ip);
      const page = await agent.get('/account/invitation');
      return agent.post('/account/invitation').type('form').send({ email, _csrf: csrfFrom(page.text) });
    };
    // Per e-mail: 3 an hour; more requests get the same answer but no more mail.
    for (let i = 0; i < 5; i++) expect((await askFrom(nextIp(), 'flooded@example.test')).status).toBe(200);
    expect(await mails()).toBe(1 + 3);
    // Per IP: 10 an hour.
    const ip = nextIp();
    for (let i = 0; i < 10; i++) expect((await askFrom(ip, `someone${i}@example.test`)).status).toBe(200);
    const blocked = await askFrom(ip, 'someone.else@example.test');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('never writes the token to the logs, the audit log or a job payload', async () => {
    const knex = t.ctx.knex;
    const { web, logged: logText } = appLoggingTo(t.ctx);
    try {
      const staff = await makeStaff(knex, { role: 'owner' });
      const admin = await loginStaff(web.app, staff.email, PASSWORD);
      const c = await invitedGuest();
      expect((await invite(admin, c.id, shop.id)).status).toBe(303);
      const { path, token } = await lastInvitationMail(c.id);
      const weak = await accept(path, { password: 'weak' }, nextIp(), web.app);
      expect(weak.response.status).toBe(422);
      const ok = await accept(path, {}, nextIp(), web.app);
      expect(ok.response.status).toBe(303);
      const reused = await accept(path, {}, nextIp(), web.app);
      expect(reused.response.status).toBe(410);

      const logged = logText();
      expect(logged).toContain('/account/invitation/[token]');
      expect(logged).not.toContain(token);
      expect(logged).not.toContain(hashInvitationToken(token));

      const audit = await knex('auditLog').where({ customerId: c.id });
      expect(JSON.stringify(audit)).not.toContain(token);
      const queues = [t.ctx.queues.mail, t.ctx.queues.bulk, t.ctx.queues.invitations];
      for (const queue of queues) {
        const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized']);
        for (const job of jobs) expect(JSON.stringify(job.data)).not.toContain(token);
      }
      const mailJobs = await t.ctx.queues.mail.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized']);
      expect(mailJobs.length).toBeGreaterThan(0);
    } finally {
      await web.close();
    }
  });
});
