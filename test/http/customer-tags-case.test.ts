import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginStaff } from '../support/agents.js';
import { getList } from '../support/customer-list.js';
import { makeCustomer, makeShop, makeStaff } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** Tags are case-insensitive (F-GRP-1): stored in lower case whoever writes them, found in any case. */
describe('tag case', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('stores every tag in lower case and finds it whatever case the filter uses', async () => {
    const knex = t.ctx.knex;
    const shop = await makeShop(knex, { code: 'tag-case' });
    const customer = await makeCustomer(knex, [shop.id], { email: 'tag.case@example.test' });
    await knex('customerTags').insert({ customerId: customer.id, tag: 'VIP-Gold' });
    // The same tag in another case is the same tag: nothing new is stored.
    await knex('customerTags').insert({ customerId: customer.id, tag: 'vip-GOLD' }).onConflict(['customerId', 'tag']).ignore();
    expect(await knex('customerTags').where({ customerId: customer.id }).pluck('tag')).toEqual(['vip-gold']);
    // Letters beyond A–Z too, on insert and on a change, as the app's own writers lowercase them.
    await knex('customerTags').insert({ customerId: customer.id, tag: 'ÄRGER' });
    await knex('customerTags').where({ customerId: customer.id, tag: 'vip-gold' }).update({ tag: 'VIP-GOLD-ÉTÉ' });
    expect(await knex('customerTags').where({ customerId: customer.id }).orderBy('tag').pluck('tag')).toEqual(['vip-gold-été', 'ärger']);
    await knex('customerTags').where({ customerId: customer.id, tag: 'vip-gold-été' }).update({ tag: 'vip-gold' });

    const owner = await loginStaff(t.app, (await makeStaff(knex, { role: 'owner' })).email);
    expect((await getList(owner, `/admin/customers?shop=${shop.id}&tag=${encodeURIComponent('Ärger')}`)).rows.map((row) => row.id)).toEqual([customer.id]);
    for (const tag of ['vip-gold', 'VIP-GOLD']) {
      const page = await getList(owner, `/admin/customers?shop=${shop.id}&tag=${tag}`);
      expect(page.rows.map((row) => row.id)).toEqual([customer.id]);
    }
  });
});
