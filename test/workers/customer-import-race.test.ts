import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../app/services/imports/import-run.service.js';
import type { CustomerImport } from '../../app/services/imports/import.service.js';
import { startedImport } from '../support/imports.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * A customer created by another change between the import's look-up of an e-mail and its insert
 * (F-LIST-6): the row is matched to that customer and updated, never a second customer or a lost row.
 * The other change is played by a trigger that creates the customer as the import marks the row new.
 */
describe('an import row whose customer is created meanwhile', () => {
  let t: TestApp;
  let importId: number;
  let shopId: number;

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    const file = Buffer.from('Email,First Name,Last Name,Tags\nfirst@example.test,Ada,One,vip\nRace@Example.test,Bea,Two,vip\nthird@example.test,Cy,Three,vip\n');
    ({ importId, shopId } = await startedImport(t, file, 'race'));
    await knex.raw(`
      CREATE FUNCTION create_race_customer() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO customers (email, state, first_name) VALUES ('race@example.test', 'guest', 'Other'); RETURN NULL; END $$;
      CREATE TRIGGER create_race_customer AFTER UPDATE OF outcome ON customer_import_rows FOR EACH ROW
        WHEN (NEW.outcome = 'created' AND OLD.outcome IS NULL AND lower(NEW.email) = 'race@example.test') EXECUTE FUNCTION create_race_customer();
    `);
  });
  afterAll(async () => {
    await t?.ctx.knex.raw('DROP FUNCTION IF EXISTS create_race_customer() CASCADE');
    await t?.close();
  });

  it('updates the customer created meanwhile with the row, and reports it as updated', async () => {
    const knex = t.ctx.knex;
    await runImport(t.ctx, importId, 'import');

    const record = (await knex('customerImports').where({ id: importId }).first()) as CustomerImport;
    expect({ status: record.status, created: record.createdCount, updated: record.updatedCount, rejected: record.rejectedCount }).toEqual({ status: 'done', created: 2, updated: 1, rejected: 0 });
    const raced = await knex('customers').whereRaw('lower(email) = ?', ['race@example.test']).select('id', 'firstName', 'lastName');
    expect(raced).toEqual([{ id: expect.any(Number), firstName: 'Bea', lastName: 'Two' }]);
    expect(await knex('customerShops').where({ customerId: raced[0].id, shopId }).first('status')).toEqual({ status: 'active' });
    expect(await knex('customerTags').where({ customerId: raced[0].id }).pluck('tag')).toEqual(['vip']);
    const all = await knex('customers').whereRaw("email LIKE '%@example.test'").orderBy('email').pluck('email');
    expect(all).toEqual(['first@example.test', 'race@example.test', 'third@example.test']);
  });
});
