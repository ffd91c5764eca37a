import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentFor, loginCustomer, loginStaff, csrfToken } from '../support/agents.js';
import { makeCustomer, makeShop, makeStaff, PASSWORD } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

describe('hosts and tenants', () => {
  let t: TestApp;
  let north: { id: number }, south: { id: number };
  let northCustomer: { id: number; email: string }, southCustomer: { id: number; email: string };
  let northStaff: { email: string };

  beforeAll(async () => {
    t = await createTestApp();
    north = await makeShop(t.ctx.knex, { code: 'north', name: 'North', hostname: 'north.localhost' });
    south = await makeShop(t.ctx.knex, { code: 'south', name: 'South', hostname: 'south.localhost' });
    northCustomer = await makeCustomer(t.ctx.knex, [north.id], { firstName: 'Nora', lastName: 'North' });
    southCustomer = await makeCustomer(t.ctx.knex, [south.id], { firstName: 'Sven', lastName: 'South' });
    northStaff = await makeStaff(t.ctx.knex, { role: 'sales_rep', shopIds: [north.id] });
  });
  afterAll(() => t.close());

  it('resolves the shop from the Host header, ignoring the port and case', async () => {
    const page = await agentFor(t.app, 'NORTH.localhost:8080').get('/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Welcome to North');
  });

  it('answers an unknown host with a 404 that names no shop', async () => {
    const page = await agentFor(t.app, 'nowhere.localhost').get('/account/login');
    expect(page.status).toBe(404);
    expect(page.text).toContain('There is no shop here');
    expect(page.text).not.toMatch(/North|South/);
  });

  it('does not serve admin routes on a shop host, nor storefront routes on the admin host', async () => {
    expect((await agentFor(t.app, 'north.localhost').get('/admin/login')).status).toBe(404);
    expect((await agentFor(t.app, 'north.localhost').get('/admin/customers')).status).toBe(404);
    expect((await agentFor(t.app, 'admin.localhost').get('/account/login')).status).toBe(404);
  });

  it('lets a customer of north log in on north but not on south', async () => {
    const onNorth = await loginCustomer(t.app, 'north.localhost', northCustomer.email);
    expect((await onNorth.get('/account')).text).toContain('Hello, Nora');

    const onSouth = agentFor(t.app, 'south.localhost');
    const token = await csrfToken(onSouth, '/account/login');
    const refused = await onSouth.post('/account/login').type('form').send({ email: northCustomer.email, password: PASSWORD, _csrf: token });
    expect(refused.status).toBe(401);
    expect(refused.text).toContain('The e-mail or password is not correct.');
  });

  it('shows staff only the customers of their shops, and 404 for another shop’s customer', async () => {
    const staff = await loginStaff(t.app, northStaff.email);
    const list = await staff.get('/admin/customers');
    expect(list.text).toContain(northCustomer.email);
    expect(list.text).not.toContain(southCustomer.email);

    const foreign = await staff.get(`/admin/customers/${southCustomer.id}`);
    expect(foreign.status).toBe(404);
    expect(foreign.text).not.toContain(southCustomer.email);
    expect((await staff.get(`/admin/customers/${northCustomer.id}`)).text).toContain(northCustomer.email);

    const filteredToForeignShop = await staff.get(`/admin/customers?shop=${south.id}`);
    expect(filteredToForeignShop.text).not.toContain(southCustomer.email);
  });
});
