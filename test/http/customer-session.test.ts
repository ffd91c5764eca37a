import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentFor, postLogin, type Agent } from '../support/agents.js';
import { cookiePair, setCookie, type SetCookie } from '../support/cookies.js';
import { makeCustomer, makeShop, makeStaff, PASSWORD } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const NORTH = 'north.localhost';
const SOUTH = 'south.localhost';
const REFUSED = 'The e-mail or password is not correct.';
const AWAITING = 'Your account is awaiting approval by the shop.';
const DISABLED = 'This account is disabled. Please contact the shop.';

describe('customer sessions', () => {
  let t: TestApp;
  let north: { id: number }, south: { id: number };

  beforeAll(async () => {
    t = await createTestApp();
    north = await makeShop(t.ctx.knex, { code: 'north', name: 'North', hostname: NORTH });
    south = await makeShop(t.ctx.knex, { code: 'south', name: 'South', hostname: SOUTH });
  });
  afterAll(() => t.close());

  /** Logs in on `host` and returns the agent and the cp_shop cookie the login response set. */
  async function logIn(host: string, email: string): Promise<{ agent: Agent; cookie: SetCookie }> {
    const agent = agentFor(t.app, host);
    const response = await postLogin(agent, '/account/login', email);
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/account');
    const cookie = setCookie(response, 'cp_shop');
    if (!cookie) throw new Error('login set no cp_shop cookie');
    return { agent, cookie };
  }

  /** /account for a browser that holds only `cookie` (under `name`) on `host`. */
  const accountWith = (host: string, cookie: SetCookie, name = cookie.name) => agentFor(t.app, host).get('/account').set('Cookie', cookiePair({ name, value: cookie.value }));

  function expectAnonymous(response: { status: number; headers: Record<string, string> }) {
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/account/login');
  }

  describe('an account that changes underneath a session', () => {
    it('logs out a customer whose account was disabled, and then refuses their login', async () => {
      const customer = await makeCustomer(t.ctx.knex, [north.id], { firstName: 'Dora' });
      const { agent, cookie } = await logIn(NORTH, customer.email);
      expect((await agent.get('/account')).text).toContain('Dora');

      await t.ctx.knex('customers').where({ id: customer.id }).update({ state: 'disabled' });
      expectAnonymous(await agent.get('/account'));
      expectAnonymous(await accountWith(NORTH, cookie));

      const again = await postLogin(agentFor(t.app, NORTH), '/account/login', customer.email);
      expect(again.status).toBe(401);
      expect(again.text).toContain(DISABLED);
    });

    it('logs out a customer whose assignment to this shop was disabled', async () => {
      const customer = await makeCustomer(t.ctx.knex, [north.id]);
      const { agent } = await logIn(NORTH, customer.email);
      expect((await agent.get('/account')).status).toBe(200);

      await t.ctx.knex('customerShops').where({ customerId: customer.id, shopId: north.id }).update({ status: 'disabled' });
      expectAnonymous(await agent.get('/account'));
      const again = await postLogin(agentFor(t.app, NORTH), '/account/login', customer.email);
      expect(again.status).toBe(401);
      expect(again.text).not.toContain('Hello');
    });

    it('ends every session of a customer whose session version moved on (password change)', async () => {
      const customer = await makeCustomer(t.ctx.knex, [north.id]);
      const first = await logIn(NORTH, customer.email);
      const second = await logIn(NORTH, customer.email);
      await t.ctx.knex('customers').where({ id: customer.id }).increment('sessionVersion', 1);
      expectAnonymous(await first.agent.get('/account'));
      expectAnonymous(await second.agent.get('/account'));
      expect((await (await logIn(NORTH, customer.email)).agent.get('/account')).status).toBe(200);
    });
  });

  describe('approval', () => {
    it('tells a customer awaiting approval so at login, and does not log them in', async () => {
      const customer = await makeCustomer(t.ctx.knex, [north.id], {}, 'pending_approval');
      const agent = agentFor(t.app, NORTH);
      const response = await postLogin(agent, '/account/login', customer.email);
      expect(response.status).toBe(401);
      expect(response.text).toContain(AWAITING);
      expectAnonymous(await agent.get('/account'));
    });

    it('does not reveal the pending state to someone without the password', async () => {
      const customer = await makeCustomer(t.ctx.knex, [north.id], {}, 'pending_approval');
      const response = await postLogin(agentFor(t.app, NORTH), '/account/login', customer.email, 'not the password');
      expect(response.status).toBe(401);
      expect(response.text).toContain(REFUSED);
      expect(response.text).not.toContain(AWAITING);
    });

    it('lets the customer in once the assignment is approved', async () => {
      const customer = await makeCustomer(t.ctx.knex, [north.id], {}, 'pending_approval');
      await t.ctx.knex('customerShops').where({ customerId: customer.id, shopId: north.id }).update({ status: 'active' });
      expect((await (await logIn(NORTH, customer.email)).agent.get('/account')).status).toBe(200);
    });
  });

  describe('login rate limit', () => {
    it('refuses the sixth attempt on one account from one IP with 429, even with the right password', async () => {
      const customer = await makeCustomer(t.ctx.knex, [north.id]);
      const agent = agentFor(t.app, NORTH);
      for (let i = 0; i < 5; i++) expect((await postLogin(agent, '/account/login', customer.email, 'not the password')).status).toBe(401);
      const limited = await postLogin(agent, '/account/login', customer.email);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expectAnonymous(await agent.get('/account'));
    });
  });

  describe('one session per host', () => {
    it('keeps a session cookie from north anonymous on south', async () => {
      const customer = await makeCustomer(t.ctx.knex, [north.id], { firstName: 'Nora' });
      const { cookie } = await logIn(NORTH, customer.email);
      expect(cookie.attributes.domain).toBeUndefined();

      const onNorth = await accountWith(NORTH, cookie);
      expect(onNorth.status).toBe(200);
      expect(onNorth.text).toContain('Nora');
      expectAnonymous(await accountWith(SOUTH, cookie));
    });

    it('keeps it anonymous on south even when the customer also has an account there', async () => {
      const customer = await makeCustomer(t.ctx.knex, [north.id, south.id], { firstName: 'Bea' });
      const { cookie } = await logIn(NORTH, customer.email);
      expect((await accountWith(NORTH, cookie)).status).toBe(200);

      expectAnonymous(await accountWith(SOUTH, cookie));
      // …and south's own login still works.
      const onSouth = await logIn(SOUTH, customer.email);
      expect((await onSouth.agent.get('/account')).text).toContain('Bea');
    });

    it('keeps a shop session anonymous on the admin host, and a staff session anonymous on a shop', async () => {
      const customer = await makeCustomer(t.ctx.knex, [north.id]);
      const { cookie: shopCookie } = await logIn(NORTH, customer.email);
      const onAdmin = await agentFor(t.app, 'admin.localhost').get('/admin/customers').set('Cookie', cookiePair({ name: 'cp_admin', value: shopCookie.value }));
      expect(onAdmin.status).toBe(303);
      expect(onAdmin.headers.location).toMatch(/^\/admin\/login/);

      const staff = await makeStaff(t.ctx.knex);
      const staffLogin = await postLogin(agentFor(t.app, 'admin.localhost'), '/admin/login', staff.email, PASSWORD);
      const staffCookie = setCookie(staffLogin, 'cp_admin')!;
      expectAnonymous(await accountWith(NORTH, staffCookie, 'cp_shop'));
    });
  });
});
