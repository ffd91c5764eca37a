import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentFor, csrfFrom, csrfToken, loginCustomer, loginStaff, type Agent } from '../support/agents.js';
import { makeCustomer, makeShop, makeStaff, PASSWORD } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = 'admin.localhost';
const SHOP = 'csrf.localhost';
const EXPIRED = 'Your form has expired';

describe('CSRF protection', () => {
  let t: TestApp;
  let shop: { id: number };
  let staff: { id: number; email: string };
  let customer: { id: number; email: string };

  beforeAll(async () => {
    t = await createTestApp();
    shop = await makeShop(t.ctx.knex, { hostname: SHOP });
    staff = await makeStaff(t.ctx.knex);
    customer = await makeCustomer(t.ctx.knex, [shop.id]);
  });
  afterAll(() => t.close());

  async function failedMail(): Promise<number> {
    const [row] = await t.ctx.knex('mailOutbox')
      .insert({ shopId: shop.id, template: 'welcome', toAddress: 'someone@example.test', subject: 'Welcome', textBody: 'Hi', htmlBody: '<p>Hi</p>', status: 'failed', attempts: 5, lastError: 'smtp down' })
      .returning('id');
    return (row as { id: number }).id;
  }
  const mailStatus = async (id: number) => ((await t.ctx.knex('mailOutbox').where({ id }).first('status')) as { status: string }).status;

  const staffIsLoggedIn = async (agent: Agent) => (await agent.get('/admin/customers')).status === 200;
  const customerIsLoggedIn = async (agent: Agent) => (await agent.get('/account')).status === 200;

  function expectRefused(response: { status: number; text: string }) {
    expect(response.status).toBe(403);
    expect(response.text).toContain(EXPIRED);
  }

  describe('requests without a token are refused with 403 and change nothing', () => {
    it('admin login (with or without a session)', async () => {
      const agent = agentFor(t.app, ADMIN);
      await agent.get('/admin/login');
      expectRefused(await agent.post('/admin/login').type('form').send({ email: staff.email, password: PASSWORD }));
      expect(await staffIsLoggedIn(agent)).toBe(false);

      const fresh = agentFor(t.app, ADMIN);
      expectRefused(await fresh.post('/admin/login').type('form').send({ email: staff.email, password: PASSWORD }));
      expect(await staffIsLoggedIn(fresh)).toBe(false);
    });

    it('admin logout', async () => {
      const agent = await loginStaff(t.app, staff.email);
      expectRefused(await agent.post('/admin/logout').type('form').send({}));
      expect(await staffIsLoggedIn(agent)).toBe(true);
    });

    it('outbox retry', async () => {
      const id = await failedMail();
      const agent = await loginStaff(t.app, staff.email);
      expectRefused(await agent.post(`/admin/outbox/${id}/retry`).type('form').send({}));
      expect(await mailStatus(id)).toBe('failed');
    });

    it('shop login', async () => {
      const agent = agentFor(t.app, SHOP);
      await agent.get('/account/login');
      expectRefused(await agent.post('/account/login').type('form').send({ email: customer.email, password: PASSWORD }));
      expect(await customerIsLoggedIn(agent)).toBe(false);
    });

    it('shop registration', async () => {
      const agent = agentFor(t.app, SHOP);
      await agent.get('/account/register');
      const email = 'no-token@example.test';
      expectRefused(await agent.post('/account/register').type('form').send({ email, password: PASSWORD, confirmPassword: PASSWORD, firstname: 'No', lastname: 'Token' }));
      expect(await t.ctx.knex('customers').where({ email }).first()).toBeUndefined();
      expect(await t.ctx.knex('mailOutbox').where({ toAddress: email }).first()).toBeUndefined();
    });

    it('shop logout', async () => {
      const agent = await loginCustomer(t.app, SHOP, customer.email);
      expectRefused(await agent.post('/account/logout').type('form').send({}));
      expect(await customerIsLoggedIn(agent)).toBe(true);
    });

    it('other unsafe methods, even on routes that do not exist', async () => {
      const agent = await loginStaff(t.app, staff.email);
      for (const method of ['put', 'patch', 'delete'] as const) {
        expectRefused(await agent[method]('/admin/customers').type('form').send({}));
      }
      expect(await staffIsLoggedIn(agent)).toBe(true);
    });
  });

  describe('a wrong token is refused', () => {
    it('as a field, as a header, and when it belongs to another session', async () => {
      const id = await failedMail();
      const agent = await loginStaff(t.app, staff.email);
      const other = await loginStaff(t.app, staff.email);
      const otherToken = await csrfToken(other, '/admin/customers');
      const ownToken = await csrfToken(agent, '/admin/customers');
      expect(otherToken).not.toBe(ownToken);

      expectRefused(await agent.post(`/admin/outbox/${id}/retry`).type('form').send({ _csrf: 'wrong' }));
      expectRefused(await agent.post(`/admin/outbox/${id}/retry`).set('X-CSRF-Token', 'wrong'));
      expectRefused(await agent.post(`/admin/outbox/${id}/retry`).type('form').send({ _csrf: otherToken }));
      expectRefused(await agent.post(`/admin/outbox/${id}/retry`).set('X-CSRF-Token', otherToken));
      expectRefused(await agent.post(`/admin/outbox/${id}/retry`).type('form').send({ _csrf: `${ownToken}x` }));
      expectRefused(await agent.post(`/admin/outbox/${id}/retry`).type('form').send({ _csrf: '' }));
      expect(await mailStatus(id)).toBe('failed');
    });

    it('on the login forms of both hosts', async () => {
      const admin = agentFor(t.app, ADMIN);
      await admin.get('/admin/login');
      expectRefused(await admin.post('/admin/login').type('form').send({ email: staff.email, password: PASSWORD, _csrf: 'wrong' }));
      expect(await staffIsLoggedIn(admin)).toBe(false);

      const shopAgent = agentFor(t.app, SHOP);
      await shopAgent.get('/account/login');
      expectRefused(await shopAgent.post('/account/login').set('X-CSRF-Token', 'wrong').type('form').send({ email: customer.email, password: PASSWORD }));
      expect(await customerIsLoggedIn(shopAgent)).toBe(false);
    });
  });

  describe('the token from the page works', () => {
    it('is the same in the meta tag and in the forms’ hidden _csrf field', async () => {
      const agent = await loginStaff(t.app, staff.email);
      const page = await agent.get('/admin/customers');
      const token = csrfFrom(page.text);
      const fields = [...page.text.matchAll(/<input type="hidden" name="_csrf" value="([^"]*)">/g)].map((m) => m[1]);
      expect(fields.length).toBeGreaterThan(0);
      for (const field of fields) expect(field).toBe(token);
    });

    it('as the _csrf field (outbox retry)', async () => {
      const id = await failedMail();
      const agent = await loginStaff(t.app, staff.email);
      const token = await csrfToken(agent, '/admin/outbox');
      const response = await agent.post(`/admin/outbox/${id}/retry`).type('form').send({ _csrf: token });
      expect(response.status).toBe(303);
      expect(response.headers.location).toBe('/admin/outbox');
      expect(await mailStatus(id)).toBe('pending');
    });

    it('as the X-CSRF-Token header of an htmx request (outbox retry)', async () => {
      const id = await failedMail();
      const agent = await loginStaff(t.app, staff.email);
      const token = await csrfToken(agent, '/admin/outbox');
      const response = await agent.post(`/admin/outbox/${id}/retry`).set('X-CSRF-Token', token).set('HX-Request', 'true');
      expect(response.status).toBe(204);
      expect(response.headers['hx-redirect']).toBe('/admin/outbox');
      expect(await mailStatus(id)).toBe('pending');
    });

    it('for admin logout as a header and shop logout as a field', async () => {
      const admin = await loginStaff(t.app, staff.email);
      const adminToken = await csrfToken(admin, '/admin/customers');
      expect((await admin.post('/admin/logout').set('X-CSRF-Token', adminToken)).status).toBe(303);
      expect(await staffIsLoggedIn(admin)).toBe(false);

      const shopAgent = await loginCustomer(t.app, SHOP, customer.email);
      const shopToken = await csrfToken(shopAgent, '/account');
      expect((await shopAgent.post('/account/logout').type('form').send({ _csrf: shopToken })).status).toBe(303);
      expect(await customerIsLoggedIn(shopAgent)).toBe(false);
    });

    it('for shop registration and login, as a field and as a header', async () => {
      const agent = agentFor(t.app, SHOP);
      const email = 'with-token@example.test';
      const token = await csrfToken(agent, '/account/register');
      const registered = await agent.post('/account/register').type('form').send({ email, password: PASSWORD, confirmPassword: PASSWORD, firstname: 'With', lastname: 'Token', _csrf: token });
      expect(registered.status).toBe(303);
      expect(await t.ctx.knex('customers').where({ email }).first()).toBeDefined();

      const other = agentFor(t.app, SHOP);
      const loginToken = await csrfToken(other, '/account/login');
      const login = await other.post('/account/login').set('X-CSRF-Token', loginToken).type('form').send({ email, password: PASSWORD });
      expect(login.status).toBe(303);
      expect(await customerIsLoggedIn(other)).toBe(true);
    });
  });

  describe('GET never changes state', () => {
    it('GET /admin/logout is 404 and the staff session stays valid', async () => {
      const agent = await loginStaff(t.app, staff.email);
      expect((await agent.get('/admin/logout')).status).toBe(404);
      expect(await staffIsLoggedIn(agent)).toBe(true);
    });

    it('GET /account/logout is 404 and the customer stays logged in', async () => {
      const agent = await loginCustomer(t.app, SHOP, customer.email);
      expect((await agent.get('/account/logout')).status).toBe(404);
      expect(await customerIsLoggedIn(agent)).toBe(true);
    });

    it('GET on the retry URL is 404 and the message stays failed', async () => {
      const id = await failedMail();
      const agent = await loginStaff(t.app, staff.email);
      expect((await agent.get(`/admin/outbox/${id}/retry`)).status).toBe(404);
      expect(await mailStatus(id)).toBe('failed');
    });

    it('GET /admin/login with credentials in the query does not log in', async () => {
      const agent = agentFor(t.app, ADMIN);
      const page = await agent.get('/admin/login').query({ email: staff.email, password: PASSWORD });
      expect(page.status).toBe(200);
      expect(await staffIsLoggedIn(agent)).toBe(false);
    });
  });
});
