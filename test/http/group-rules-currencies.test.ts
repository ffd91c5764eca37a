import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recomputeDynamicGroup } from '../../app/services/group-rule.service.js';
import type { Agent } from '../support/agents.js';
import { loginNewStaff } from '../support/dashboard-scene.js';
import { postForm } from '../support/dashboard.js';
import { makeCustomer, makeOrder, makeShop } from '../support/factories.js';
import { fieldError, textOf } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * A dynamic group's spent condition (F-GRP-2) where the shops sell in several currencies: in the
 * currency chosen with the amounts, what each customer spent in the shops of it (as the customer
 * list filters over all shops), never a sum of euros and pounds.
 */
describe('dynamic group rules on what was spent, in several currencies', () => {
  let t: TestApp;
  let owner: Agent;
  const ids: Record<'euros' | 'pounds' | 'both', number> = { euros: 0, pounds: 0, both: 0 };

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    const north = await makeShop(knex, { code: 'rule-eur' });
    const south = await makeShop(knex, { code: 'rule-gbp' });
    await knex('shops').where({ id: south.id }).update({ currency: 'GBP' });
    ids.euros = (await makeCustomer(knex, [north.id], { email: 'euros@example.test' })).id;
    await makeOrder(knex, ids.euros, north.id, 8000);
    ids.pounds = (await makeCustomer(knex, [south.id], { email: 'pounds@example.test' })).id;
    await makeOrder(knex, ids.pounds, south.id, 6000);
    // 40 + 40 would be 80 "in all": in neither currency is it 50.
    ids.both = (await makeCustomer(knex, [north.id, south.id], { email: 'both@example.test' })).id;
    await makeOrder(knex, ids.both, north.id, 4000);
    await makeOrder(knex, ids.both, south.id, 4000);
    owner = await loginNewStaff(t, { role: 'owner' });
  });
  afterAll(() => t?.close());

  const createRule = (fields: Record<string, string>) => postForm(owner, '/admin/groups/new', { kind: 'dynamic', ...fields });
  const membersOf = async (groupId: number) => (await t.ctx.knex('customerGroupMembers').where({ groupId }).orderBy('customerId').select('customerId')).map((row: { customerId: unknown }) => Number(row.customerId));

  it('offers the currency beside the amounts', async () => {
    const form = await owner.get('/admin/groups/new?kind=dynamic');
    expect(form.text).toContain('name="rule_spent_currency"');
    expect(form.text).toContain('<option value="GBP">GBP</option>');
  });

  it('asks for the currency of the amounts, and takes only one the shops sell in', async () => {
    const without = await createRule({ name: 'Big spenders', rule_spent_min: '50' });
    expect(without.status).toBe(422);
    expect(fieldError(without.text, 'rule_spent_currency')).toBe('Your shops sell in EUR and GBP: choose the currency of the amounts.');
    const unsold = await createRule({ name: 'Big spenders', rule_spent_min: '50', rule_spent_currency: 'chf' });
    expect(unsold.status).toBe(422);
    expect(fieldError(unsold.text, 'rule_spent_currency')).toBe('Your shops sell in EUR and GBP, not in CHF.');
    const malformed = await createRule({ name: 'Big spenders', rule_spent_min: '50', rule_spent_currency: "EUR' OR 1=1 --" });
    expect(malformed.status).toBe(422);
    expect(fieldError(malformed.text, 'rule_spent_currency')).toBe('Choose a currency your shops sell in.');
    expect(await t.ctx.knex('customerGroups').where({ name: 'Big spenders' }).first()).toBeUndefined();
  });

  it('takes as members what was spent in the shops of the chosen currency', async () => {
    const inPounds = await createRule({ name: 'Pound spenders', rule_spent_min: '50', rule_spent_currency: 'GBP' });
    expect(inPounds.status).toBe(303);
    const poundsGroup = Number(inPounds.headers.location!.split('/').pop());
    expect((await t.ctx.knex('customerGroups').where({ id: poundsGroup }).first()).rule).toMatchObject({ spentMin: 5000, spentCurrency: 'GBP' });
    await recomputeDynamicGroup(t.ctx.knex, poundsGroup);
    expect(await membersOf(poundsGroup)).toEqual([ids.pounds]);
    expect(textOf((await owner.get(`/admin/groups/${poundsGroup}`)).text)).toContain('Spent at least £50.00 in the shops that sell in GBP');
    expect((await owner.get(`/admin/groups/${poundsGroup}/edit`)).text).toContain('<option value="GBP" selected>GBP</option>');

    const inEuros = await createRule({ name: 'Euro spenders', rule_spent_min: '30', rule_spent_max: '79', rule_spent_currency: 'EUR' });
    const eurosGroup = Number(inEuros.headers.location!.split('/').pop());
    await recomputeDynamicGroup(t.ctx.knex, eurosGroup);
    expect(await membersOf(eurosGroup)).toEqual([ids.both]);
    // The customer list's group filter shows the same customers.
    const listed = await owner.get(`/admin/customers?shop=all&group=${eurosGroup}`);
    expect(listed.text).toContain('both@example.test');
    expect(listed.text).not.toContain('euros@example.test');
  });

  // Last: every shop sells in euros from here on.
  it('needs no currency where the shops sell in one, and keeps none', async () => {
    await t.ctx.knex('shops').update({ currency: 'EUR' });
    const form = await owner.get('/admin/groups/new?kind=dynamic');
    expect(form.text).not.toContain('name="rule_spent_currency"');
    const created = await createRule({ name: 'Spenders', rule_spent_min: '50', rule_spent_currency: 'EUR' });
    expect(created.status).toBe(303);
    const groupId = Number(created.headers.location!.split('/').pop());
    expect((await t.ctx.knex('customerGroups').where({ id: groupId }).first()).rule.spentCurrency).toBeUndefined();
    await recomputeDynamicGroup(t.ctx.knex, groupId);
    // Platform-wide: 80 + 60 + 80.
    expect(await membersOf(groupId)).toEqual([ids.euros, ids.pounds, ids.both]);
    const page = await owner.get(`/admin/groups/${groupId}`);
    expect(textOf(page.text)).toContain('Spent at least €50.00');
    expect(page.text).not.toContain('id="rule-currency-notice"');
  });

  it('says so on the group when its shops have come to sell in several currencies since its rule was saved', async () => {
    const group = await t.ctx.knex('customerGroups').where({ name: 'Spenders' }).first('id');
    await t.ctx.knex('shops').where({ code: 'rule-gbp' }).update({ currency: 'GBP' });
    const page = await owner.get(`/admin/groups/${group.id}`);
    expect(textOf(page.text)).toContain('Spent at least 50.00');
    expect(textOf(page.text)).toContain(
      'This rule’s amounts have no currency, and the shops sell in EUR and GBP: what a customer spent in each is added up as if it were one currency. Edit the rule to choose the currency of its amounts.',
    );
    expect(page.text).toContain(`<a href="/admin/groups/${group.id}/edit">Edit the rule</a>`);
    // The form then asks for it.
    const form = await owner.get(`/admin/groups/${group.id}/edit`);
    expect(form.text).toContain('name="rule_spent_currency"');
  });
});
