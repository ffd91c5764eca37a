import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { agentFor, csrfFrom, loginStaff, type Agent } from '../support/agents.js';
import { auditOf, getHtmx, HTMX, postForm, sectionText, tokenOf } from '../support/dashboard.js';
import { setCookie } from '../support/cookies.js';
import { makeCustomer, makeSalesTeam, makeShop, makeStaff, PASSWORD } from '../support/factories.js';
import { escapeHtml, fieldError, textOf } from '../support/html.js';
import { appLoggingTo, createTestApp, type TestApp } from '../support/test-app.js';

/** Shop As Customer (F-SAC-1, F-SAC-2, F-SAC-4, F-SEC tokens). */
describe('Shop As Customer', () => {
  let t: TestApp;
  let shop: { id: number; name: string }, other: { id: number; name: string };
  let owner: Agent;
  let ownerId: number;
  const HOST = 'sac.localhost';
  const URL_SHAPE = /^https:\/\/sac\.localhost:8443\/sac\/([A-Za-z0-9_-]{43})$/;
  const ANY_SHOP_URL = /^https:\/\/[a-z0-9.-]+\.localhost:8443\/sac\/([A-Za-z0-9_-]{43})$/;

  const start = (agent: Agent, customerId: number, fields: Record<string, string | string[]> = {}, htmx = true) =>
    postForm(agent, `/admin/customers/${customerId}/shop-as-customer`, { shopId: String(shop.id), reason: 'Order by phone, ticket 42', ...fields }, { htmx });
  /** Starts with htmx and returns the hand-over URL and its token. */
  async function started(agent: Agent, customerId: number, fields: Record<string, string> = {}) {
    const response = await start(agent, customerId, fields);
    expect(response.status, response.text).toBe(204);
    const url = String(response.headers['hx-redirect']);
    const match = ANY_SHOP_URL.exec(url);
    expect(match, url).not.toBeNull();
    return { url, token: match![1]!, path: new URL(url).pathname };
  }
  /** A fresh browser on the shop host that redeems `path`. */
  async function redeem(path: string, host = HOST, app: Express = t.app) {
    const browser = agentFor(app, host);
    const response = await browser.get(path);
    return { browser, response };
  }
  const sacRow = (knex: Knex, customerId: number) => knex('sacSessions').where({ customerId }).orderBy('id', 'desc').first();

  beforeAll(async () => {
    t = await createTestApp({ env: { PUBLIC_SCHEME: 'https', PUBLIC_PORT: '8443' } });
    const knex = t.ctx.knex;
    shop = await makeShop(knex, { code: 'sac', name: 'SAC Shop', hostname: HOST });
    other = await makeShop(knex, { code: 'sacother', name: 'Other SAC Shop', hostname: 'sacother.localhost' });
    const staff = await makeStaff(knex, { role: 'owner' });
    await knex('staffUsers').where({ id: staff.id }).update({ name: 'Olga Owner' });
    ownerId = staff.id;
    owner = await loginStaff(t.app, staff.email);
  });
  afterAll(() => t?.close());

  it('offers "Create order" in the orders widget and a modal with the active shops, new session only', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id]);
    await knex('customerShops').insert({ customerId: c.id, shopId: other.id, status: 'disabled' });
    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(sectionText(page.text, 'w-orders')).toContain('Create order');
    expect(page.text).toContain(`href="/admin/customers/${c.id}/shop-as-customer"`);

    const modal = await getHtmx(owner, `/admin/customers/${c.id}/shop-as-customer`);
    expect(modal.status).toBe(200);
    const text = textOf(modal.text);
    expect(text).toContain('new session only');
    expect(modal.text).toContain(`<option value="${shop.id}"`);
    expect(modal.text).not.toContain(`<option value="${other.id}"`);
    expect(modal.text).toContain('name="_csrf"');
    // Without JavaScript the same form is a full page.
    const full = await owner.get(`/admin/customers/${c.id}/shop-as-customer`);
    expect(full.status).toBe(200);
    expect(full.text).toContain('<html');
  });

  it('mints a single-use 60-second token and redirects to the shop’s configured host, even with a forged Host / X-Forwarded-Host', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id]);
    const token = await tokenOf(owner);
    const response = await owner
      .post(`/admin/customers/${c.id}/shop-as-customer`)
      .set({ ...HTMX, 'X-CSRF-Token': token, Host: 'admin.localhost:9999', 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'http' })
      .type('form')
      .send({ shopId: String(shop.id), reason: 'Order by phone' });
    expect(response.status).toBe(204);
    const url = String(response.headers['hx-redirect']);
    expect(url).toMatch(URL_SHAPE);
    expect(url).not.toContain('evil');
    const minted = URL_SHAPE.exec(url)![1]!;

    const row = await sacRow(knex, c.id);
    expect(row).toMatchObject({ staffUserId: ownerId, customerId: c.id, shopId: shop.id, reason: 'Order by phone', redeemedAt: null, endedAt: null });
    expect(Buffer.from(row.tokenHash).toString('hex')).toBe(createHash('sha256').update(minted).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(minted);
    const ttl = (new Date(row.tokenExpiresAt).getTime() - new Date(row.startedAt).getTime()) / 1000;
    expect(ttl).toBe(60);

    // A plain form (no JavaScript) gets a page with the link: a form may not be redirected to another host under the CSP.
    const plain = await start(owner, c.id, {}, false);
    expect(plain.status).toBe(200);
    const link = /id="sac-continue" href="([^"]+)"/.exec(plain.text)![1]!;
    expect(link).toMatch(URL_SHAPE);
    expect(plain.headers['cache-control']).toBe('no-store');
    // Starting again replaced the earlier session (one customer at a time per staff member).
    const first = await knex('sacSessions').where({ customerId: c.id }).orderBy('id').first();
    expect(first).toMatchObject({ endReason: 'replaced' });
  });

  it('redeems once: logs in as the customer on a new session id with the overlay; the same token again is refused', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id], { firstName: 'Sam', lastName: 'Shopper' });
    const { path } = await started(owner, c.id);
    const browser = agentFor(t.app, HOST);
    const before = setCookie(await browser.get('/'), 'cp_shop')!.value;
    const response = await browser.get(path);
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/account');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    const after = setCookie(response, 'cp_shop')!.value;
    expect(after).not.toBe(before);

    const account = await browser.get('/account');
    expect(account.status).toBe(200);
    const overlay = sectionText(account.text, 'sac-overlay');
    expect(overlay).toContain('Serving Sam Shopper · SAC Shop · cart: none yet');
    expect(overlay).toContain('End session');
    expect(account.text).toMatch(/<form method="post" action="\/sac\/end"[\s\S]*?name="_csrf" value="[^"]+"/);
    expect(account.text).toContain('/static/js/sac-overlay.js');
    expect(account.text).not.toContain('$argon2');
    // Every storefront page carries it, e.g. the shop's home page.
    expect(sectionText((await browser.get('/')).text, 'sac-overlay')).toContain('Serving Sam Shopper');
    const row = await sacRow(knex, c.id);
    expect(row.redeemedAt).not.toBeNull();
    expect((new Date(row.endsAt).getTime() - new Date(row.redeemedAt).getTime()) / 60_000).toBe(30);

    // The customer's own session never shows the overlay.
    const own = agentFor(t.app, HOST);
    const login = await own.get('/account/login');
    await own.post('/account/login').type('form').send({ email: c.email, password: PASSWORD, _csrf: csrfFrom(login.text) });
    expect((await own.get('/account')).text).not.toContain('sac-overlay');

    const again = await redeem(path);
    expect(again.response.status).toBe(410);
    expect(textOf(again.response.text)).toContain('This link has expired');
    expect((await again.browser.get('/account')).status).toBe(303);
  });

  it('refuses a token older than 60 seconds, a bare customer id, an unknown token and a token on another shop’s host', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id, other.id]);
    const old = await started(owner, c.id);
    await knex('sacSessions').where({ customerId: c.id }).whereNull('endedAt').update({ tokenExpiresAt: knex.raw("now() - interval '1 second'") });
    expect((await redeem(old.path)).response.status).toBe(410);

    expect((await redeem(`/sac/${c.id}`)).response.status).toBe(410);
    expect((await redeem(`/sac/${'A'.repeat(43)}`)).response.status).toBe(410);

    const fresh = await started(owner, c.id);
    const wrongHost = await redeem(fresh.path, 'sacother.localhost');
    expect(wrongHost.response.status).toBe(410);
    expect((await wrongHost.browser.get('/account')).status).toBe(303);
    // Not consumed there: it still works on its own shop.
    expect((await redeem(fresh.path)).response.status).toBe(303);
  });

  it('lets exactly one of two concurrent redemptions win', async () => {
    const c = await makeCustomer(t.ctx.knex, [shop.id]);
    const { path } = await started(owner, c.id);
    const results = await Promise.all([redeem(path), redeem(path), redeem(path)]);
    expect(results.map((r) => r.response.status).sort()).toEqual([303, 410, 410]);
  });

  it('refuses the support role (403), and answers 404 for staff of another shop or another sales team', async () => {
    const knex = t.ctx.knex;
    const team = await makeSalesTeam(knex);
    const c = await makeCustomer(knex, [shop.id], { salesTeamId: team.id });
    const support = await loginStaff(t.app, (await makeStaff(knex, { role: 'support', shopIds: [shop.id] })).email);
    expect((await getHtmx(support, `/admin/customers/${c.id}/shop-as-customer`)).status).toBe(403);
    expect((await start(support, c.id)).status).toBe(403);
    expect(sectionText((await support.get(`/admin/customers/${c.id}`)).text, 'w-orders')).not.toContain('Create order');

    const elsewhere = await loginStaff(t.app, (await makeStaff(knex, { role: 'manager', shopIds: [other.id] })).email);
    expect((await getHtmx(elsewhere, `/admin/customers/${c.id}/shop-as-customer`)).status).toBe(404);
    expect((await start(elsewhere, c.id)).status).toBe(404);
    const otherTeam = await makeSalesTeam(knex);
    const rep = await loginStaff(t.app, (await makeStaff(knex, { role: 'sales_rep', shopIds: [shop.id], salesTeamId: otherTeam.id })).email);
    expect((await start(rep, c.id)).status).toBe(404);
    // The own team's rep may.
    const ownRep = await loginStaff(t.app, (await makeStaff(knex, { role: 'sales_rep', shopIds: [shop.id], salesTeamId: team.id })).email);
    expect((await start(ownRep, c.id)).status).toBe(204);
    // A shop the customer is not assigned to, or the staff member does not see, is a 404 too.
    const c2 = await makeCustomer(knex, [shop.id]);
    expect((await start(owner, c2.id, { shopId: String(other.id) })).status).toBe(404);
    expect(Number((await knex('sacSessions').where({ customerId: c2.id }).count({ n: '*' }).first())!.n)).toBe(0);
  });

  it('refuses an inactive assignment, missing consent where the shop demands it, and bad reasons', async () => {
    const knex = t.ctx.knex;
    const pending = await makeCustomer(knex, [shop.id], {}, 'pending_approval');
    const refused = await start(owner, pending.id);
    expect(refused.status).toBe(422);
    expect(textOf(refused.text)).toContain('Shop As Customer needs an active assignment');
    // With another, active shop the select stays and names the problem.
    const twoShops = await makeCustomer(knex, [other.id]);
    await knex('customerShops').insert({ customerId: twoShops.id, shopId: shop.id, status: 'disabled' });
    const refusedTwo = await start(owner, twoShops.id);
    expect(refusedTwo.status).toBe(422);
    expect(fieldError(refusedTwo.text, 'shopId')).toContain('not active in SAC Shop');
    const disabled = await makeCustomer(knex, [shop.id], {}, 'disabled');
    expect((await start(owner, disabled.id)).status).toBe(422);
    expect(textOf((await getHtmx(owner, `/admin/customers/${disabled.id}/shop-as-customer`)).text)).toContain('no active assignment');

    const consentShop = await makeShop(knex, { code: 'sacconsent', name: 'Consent Shop', settings: { requireAssistanceConsent: true } });
    const c = await makeCustomer(knex, [consentShop.id]);
    const noConsent = await start(owner, c.id, { shopId: String(consentShop.id) });
    expect(noConsent.status).toBe(422);
    expect(fieldError(noConsent.text, 'shopId')).toContain('consent');
    await knex('customers').where({ id: c.id }).update({ allowRemoteAssistance: true });
    expect((await start(owner, c.id, { shopId: String(consentShop.id) })).status).toBe(204);

    const d = await makeCustomer(knex, [shop.id]);
    const empty = await start(owner, d.id, { reason: '   ' });
    expect(empty.status).toBe(422);
    expect(fieldError(empty.text, 'reason')).toContain('Give a reason');
    const long = await start(owner, d.id, { reason: 'x'.repeat(501) });
    expect(long.status).toBe(422);
    expect(fieldError(long.text, 'reason')).toContain('at most 500');
    expect((await start(owner, d.id, { reason: ['a', 'b'] })).status).toBe(400);
    expect((await start(owner, d.id, { shopId: '../1' })).status).toBe(422);
    expect(Number((await knex('sacSessions').where({ customerId: d.id }).count({ n: '*' }).first())!.n)).toBe(0);
    // Without the CSRF token nothing is minted.
    expect((await owner.post(`/admin/customers/${d.id}/shop-as-customer`).type('form').send({ shopId: String(shop.id), reason: 'x' })).status).toBe(403);

    // Hostile text is stored literally and rendered inert on the timeline.
    const hostile = `<script>alert(1)</script> ' OR 1=1 --`;
    await started(owner, d.id, { reason: hostile });
    expect((await sacRow(knex, d.id)).reason).toBe(hostile);
    const timeline = await getHtmx(owner, `/admin/customers/${d.id}/timeline`);
    expect(timeline.text).not.toContain('<script>alert(1)');
    expect(timeline.text).toContain(escapeHtml('<script>alert(1)</script>'));
  });

  it('ends on request: session destroyed, back to the admin dashboard, start and end on the timeline', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id]);
    const { path } = await started(owner, c.id, { reason: 'Phone order' });
    const { browser } = await redeem(path);
    const account = await browser.get('/account');
    expect((await browser.post('/sac/end').type('form').send({})).status).toBe(403);
    const end = await browser.post('/sac/end').type('form').send({ _csrf: csrfFrom(account.text) });
    expect(end.status).toBe(303);
    expect(end.headers.location).toBe(`/sac/ended?customer=${c.id}`);
    const ended = await browser.get(end.headers.location!);
    expect(ended.status).toBe(200);
    expect(ended.text).toContain(`id="sac-back" href="https://admin.localhost:8443/admin/customers/${c.id}"`);
    expect(ended.text).not.toContain('sac-overlay');
    expect((await browser.get('/account')).status).toBe(303);
    expect(await sacRow(knex, c.id)).toMatchObject({ endReason: 'requested' });

    const audit = await auditOf(knex, c.id);
    expect(audit.map((a) => a.action).slice(0, 2)).toEqual(['sac.ended', 'sac.started']);
    expect(audit[1]).toMatchObject({ actorId: ownerId, shopId: shop.id, changes: { reason: 'Phone order', shop: 'SAC Shop' } });
    const timeline = textOf((await getHtmx(owner, `/admin/customers/${c.id}/timeline`)).text);
    expect(timeline).toContain('Shop As Customer started by Olga Owner in SAC Shop: Phone order');
    expect(timeline).toContain('Shop As Customer ended in SAC Shop (ended by the staff member)');
  });

  it('ends the session on the next storefront request after staff logout, a role change to support, or the time box', async () => {
    const knex = t.ctx.knex;
    const staff = await makeStaff(knex, { role: 'manager', shopIds: [shop.id] });
    const c = await makeCustomer(knex, [shop.id]);

    // Staff logout.
    let admin = await loginStaff(t.app, staff.email);
    let browser = (await redeem((await started(admin, c.id)).path)).browser;
    expect((await browser.get('/account')).status).toBe(200);
    const logout = await admin.post('/admin/logout').type('form').send({ _csrf: await tokenOf(admin) });
    expect(logout.status).toBe(303);
    expect(await sacRow(knex, c.id)).toMatchObject({ endReason: 'staff_logout' });
    const afterLogout = await browser.get('/account');
    expect(afterLogout.status).toBe(303);
    expect(afterLogout.headers.location).toBe('/account/login');
    expect(textOf((await browser.get('/account/login')).text)).toContain('The Shop As Customer session has ended (the staff member logged out)');

    // Role change to support.
    admin = await loginStaff(t.app, staff.email);
    browser = (await redeem((await started(admin, c.id)).path)).browser;
    expect((await browser.get('/account')).status).toBe(200);
    await knex('staffUsers').where({ id: staff.id }).update({ role: 'support' });
    expect((await browser.get('/account')).status).toBe(303);
    expect(await sacRow(knex, c.id)).toMatchObject({ endReason: 'permission_revoked' });
    await knex('staffUsers').where({ id: staff.id }).update({ role: 'manager' });

    // Time box passed; the end is recorded once.
    admin = await loginStaff(t.app, staff.email);
    browser = (await redeem((await started(admin, c.id)).path)).browser;
    expect((await browser.get('/account')).status).toBe(200);
    await knex('sacSessions').where({ customerId: c.id }).whereNull('endedAt').update({ endsAt: knex.raw("now() - interval '1 second'") });
    expect((await browser.get('/account')).status).toBe(303);
    expect((await browser.get('/account')).status).toBe(303);
    const row = await sacRow(knex, c.id);
    expect(row).toMatchObject({ endReason: 'timed_out' });
    const ends = (await auditOf(knex, c.id)).filter((a) => a.action === 'sac.ended' && a.changes.sacSessionId === Number(row.id));
    expect(ends).toHaveLength(1);

    // Scope removed (the shop taken away).
    browser = (await redeem((await started(admin, c.id)).path)).browser;
    expect((await browser.get('/account')).status).toBe(200);
    await knex('staffShopScopes').where({ staffUserId: staff.id }).delete();
    expect((await browser.get('/account')).status).toBe(303);
    expect(await sacRow(knex, c.id)).toMatchObject({ endReason: 'permission_revoked' });
  });

  it('refuses password and e-mail routes while impersonating; customer logout ends the impersonation', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [shop.id]);
    const { browser } = await redeem((await started(owner, c.id)).path);
    expect((await browser.get(`/account/invitation/${'B'.repeat(43)}`)).status).toBe(403);
    expect((await browser.get('/account/password/forgot')).status).toBe(403);
    // Another browser (not impersonating) reaches the invitation page as usual.
    expect((await agentFor(t.app, HOST).get('/account/invitation')).status).toBe(200);

    const page = await browser.get('/account');
    const out = await browser.post('/account/logout').type('form').send({ _csrf: csrfFrom(page.text) });
    expect(out.status).toBe(303);
    expect(await sacRow(knex, c.id)).toMatchObject({ endReason: 'requested' });
  });

  it('lets the customer (never the staff member shopping as them) give and withdraw consent in My Account', async () => {
    const knex = t.ctx.knex;
    const consentShop = await makeShop(knex, { code: 'sacconsent2', name: 'Consent Shop 2', hostname: 'consent2.localhost', settings: { requireAssistanceConsent: true } });
    const c = await makeCustomer(knex, [consentShop.id]);
    const customer = agentFor(t.app, 'consent2.localhost');
    const login = await customer.get('/account/login');
    await customer.post('/account/login').type('form').send({ email: c.email, password: PASSWORD, _csrf: csrfFrom(login.text) });
    // My Account leads to the setting.
    expect((await customer.get('/account')).text).toContain('href="/account/remote-assistance"');
    const page = await customer.get('/account/remote-assistance');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('checked');
    const saved = await customer.post('/account/remote-assistance').type('form').send({ allow: 'on', _csrf: csrfFrom(page.text) });
    expect(saved.status).toBe(303);
    expect((await knex('customers').where({ id: c.id }).first()).allowRemoteAssistance).toBe(true);
    expect((await auditOf(knex, c.id))[0]).toMatchObject({ action: 'customer.remote_assistance_changed', actorId: c.id });
    expect((await customer.post('/account/remote-assistance').type('form').send({ allow: ['on', 'on'], _csrf: csrfFrom(page.text) })).status).toBe(400);

    // Now staff may start; while shopping as the customer they cannot change the consent.
    const { path } = await started(owner, c.id, { shopId: String(consentShop.id) });
    const { browser } = await redeem(path, 'consent2.localhost');
    const asStaff = await browser.get('/account/remote-assistance');
    expect(textOf(asStaff.text)).toContain('Only the customer can change this setting');
    expect((await browser.post('/account/remote-assistance').type('form').send({ _csrf: csrfFrom(asStaff.text) })).status).toBe(403);
    expect((await knex('customers').where({ id: c.id }).first()).allowRemoteAssistance).toBe(true);

    // Withdrawn by the customer: the staff member's session ends on its next request.
    const again = await customer.get('/account/remote-assistance');
    expect((await customer.post('/account/remote-assistance').type('form').send({ _csrf: csrfFrom(again.text) })).status).toBe(303);
    expect((await browser.get('/account')).status).toBe(303);
    expect(await sacRow(knex, c.id)).toMatchObject({ endReason: 'permission_revoked' });
    expect(textOf((await getHtmx(owner, `/admin/customers/${c.id}/timeline`)).text)).toContain('Remote shopping assistance withdrawn by the customer');
  });

  it('never writes the token to the logs or the audit log', async () => {
    const knex = t.ctx.knex;
    const { web, logged: logText } = appLoggingTo(t.ctx);
    try {
      const staff = await makeStaff(knex, { role: 'owner' });
      const admin = await loginStaff(web.app, staff.email);
      const c = await makeCustomer(knex, [shop.id]);
      const token = await tokenOf(admin);
      const response = await admin.post(`/admin/customers/${c.id}/shop-as-customer`).set({ ...HTMX, 'X-CSRF-Token': token }).type('form').send({ shopId: String(shop.id), reason: 'Logging check' });
      const minted = URL_SHAPE.exec(String(response.headers['hx-redirect']))![1]!;
      const plain = await admin.post(`/admin/customers/${c.id}/shop-as-customer`).type('form').send({ shopId: String(shop.id), reason: 'Logging check', _csrf: token });
      const plainToken = /\/sac\/([A-Za-z0-9_-]{43})/.exec(plain.text)![1]!;
      const { browser } = await redeem(`/sac/${plainToken}`, HOST, web.app);
      expect((await browser.get('/account')).status).toBe(200);
      expect((await redeem(`/sac/${minted}`, HOST, web.app)).response.status).toBe(410);

      const logged = logText();
      expect(logged).toContain('/sac/[token]');
      for (const secret of [minted, plainToken]) {
        expect(logged).not.toContain(secret);
        expect(logged).not.toContain(createHash('sha256').update(secret).digest('hex'));
      }
      const audit = JSON.stringify(await knex('auditLog').where({ customerId: c.id }));
      expect(audit).not.toContain(minted);
      expect(audit).not.toContain(plainToken);
    } finally {
      await web.close();
    }
  });

  // Last: it uses up this IP's allowance of bad tokens.
  it('rate-limits bad tokens per IP', async () => {
    const browser = agentFor(t.app, HOST);
    let status = 0;
    for (let i = 0; i < 25 && status !== 429; i += 1) status = (await browser.get(`/sac/${String(i).padStart(43, 'Z')}`)).status;
    expect(status).toBe(429);
  });
});
