import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { useDatabaseWithShop } from '../support/database.js';
import { makeAddress, makeCustomer } from '../support/factories.js';

/**
 * customers.billing_city/billing_country, which the list sorts and filters by, follow the default
 * billing address through every kind of write, one row at a time or many in one statement.
 */
describe('the billing city and country kept on the customer', () => {
  let knex: Knex;
  let shopId: number;
  useDatabaseWithShop((db) => ({ knex, shopId } = db));

  const billing = async (customerId: number) => knex('customers').where({ id: customerId }).first('billingCity', 'billingCountry');

  it('copies the default billing address when it is added, changed, replaced and deleted', async () => {
    const c = await makeCustomer(knex, [shopId]);
    await makeAddress(knex, c.id, { city: 'Hamburg', countryCode: 'DE', isDefaultShipping: true });
    expect(await billing(c.id)).toEqual({ billingCity: null, billingCountry: null });

    const first = await makeAddress(knex, c.id, { city: 'Wien', countryCode: 'AT', isDefaultBilling: true });
    expect(await billing(c.id)).toEqual({ billingCity: 'Wien', billingCountry: 'AT' });

    await knex('addresses').where({ id: first.id }).update({ city: 'Graz' });
    expect(await billing(c.id)).toEqual({ billingCity: 'Graz', billingCountry: 'AT' });

    // Another address becomes the default: one statement clears the old flag, another sets the new one.
    const second = await makeAddress(knex, c.id, { city: 'Basel', countryCode: 'CH' });
    await knex('addresses').where({ id: first.id }).update({ isDefaultBilling: false });
    expect(await billing(c.id)).toEqual({ billingCity: null, billingCountry: null });
    await knex('addresses').where({ id: second.id }).update({ isDefaultBilling: true });
    expect(await billing(c.id)).toEqual({ billingCity: 'Basel', billingCountry: 'CH' });

    await knex('addresses').where({ id: second.id }).delete();
    expect(await billing(c.id)).toEqual({ billingCity: null, billingCountry: null });
  });

  it('updates every customer a many-row statement touches, and leaves the others alone', async () => {
    const [a, b, untouched] = [await makeCustomer(knex, [shopId]), await makeCustomer(knex, [shopId]), await makeCustomer(knex, [shopId])];
    await makeAddress(knex, untouched.id, { city: 'Oslo', countryCode: 'NO', isDefaultBilling: true });
    await knex('addresses').insert([
      { customerId: a.id, line1: '1 A St', city: 'Lyon', postcode: '69001', countryCode: 'FR', isDefaultBilling: true },
      { customerId: a.id, line1: '2 A St', city: 'Nice', postcode: '06000', countryCode: 'FR', isDefaultBilling: false },
      { customerId: b.id, line1: '1 B St', city: 'Porto', postcode: '4000', countryCode: 'PT', isDefaultBilling: true },
    ]);
    expect(await billing(a.id)).toEqual({ billingCity: 'Lyon', billingCountry: 'FR' });
    expect(await billing(b.id)).toEqual({ billingCity: 'Porto', billingCountry: 'PT' });

    await knex('addresses').whereIn('customerId', [a.id, b.id]).update({ countryCode: 'ES', city: 'Madrid' });
    expect(await billing(a.id)).toEqual({ billingCity: 'Madrid', billingCountry: 'ES' });
    expect(await billing(b.id)).toEqual({ billingCity: 'Madrid', billingCountry: 'ES' });
    expect(await billing(untouched.id)).toEqual({ billingCity: 'Oslo', billingCountry: 'NO' });
  });

  it('updates both customers when a default billing address moves from one to the other', async () => {
    const from = await makeCustomer(knex, [shopId]);
    const to = await makeCustomer(knex, [shopId]);
    const moved = await makeAddress(knex, from.id, { city: 'Gent', countryCode: 'BE', isDefaultBilling: true });
    await knex('addresses').where({ id: moved.id }).update({ customerId: to.id });
    expect(await billing(from.id)).toEqual({ billingCity: null, billingCountry: null });
    expect(await billing(to.id)).toEqual({ billingCity: 'Gent', billingCountry: 'BE' });
  });

  it('does not rewrite a customer whose copy is already right', async () => {
    const c = await makeCustomer(knex, [shopId]);
    await makeAddress(knex, c.id, { city: 'Turku', countryCode: 'FI', isDefaultBilling: true });
    const before = await knex('customers').where({ id: c.id }).first(knex.raw('xmin::text AS version'));
    await knex('addresses').where({ customerId: c.id }).update({ line1: '2 Other Street' });
    expect(await knex('customers').where({ id: c.id }).first(knex.raw('xmin::text AS version'))).toEqual(before);
  });
});
