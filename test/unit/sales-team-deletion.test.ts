import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { listCustomers } from '../../app/services/customer-list.service.js';
import { useDatabaseWithShop } from '../support/database.js';
import { makeCustomer, makeSalesTeam, makeStaff } from '../support/factories.js';

/**
 * A sales rep in a team sees that team's customers; a rep without a team, every customer of their
 * shops. So a team cannot be deleted while staff members are in it (migration 32): setting their
 * team to nothing would have widened what each of them sees.
 */
describe('deleting a sales team', () => {
  let knex: Knex;
  let shopId: number;
  useDatabaseWithShop((db) => ({ knex, shopId } = db));

  const emailsSeenBy = async (salesTeamId: number | null) =>
    (await listCustomers(knex, { kind: 'shop', shopId }, { ...parseCustomerListQuery({}), sort: 'email', dir: 'asc' }, salesTeamId)).rows.map((row) => row.email);

  it('is refused while a staff member is in the team, and the rep still sees only its customers', async () => {
    const team = await makeSalesTeam(knex);
    const rep = await makeStaff(knex, { role: 'sales_rep', shopIds: [shopId], salesTeamId: team.id });
    await makeCustomer(knex, [shopId], { email: 'team@example.test', salesTeamId: team.id });
    await makeCustomer(knex, [shopId], { email: 'other@example.test' });

    await expect(knex('salesTeams').where({ id: team.id }).delete()).rejects.toMatchObject({ code: '23503', constraint: 'staff_users_sales_team_id_fkey' });
    expect((await knex('staffUsers').where({ id: rep.id }).first()).salesTeamId).toBe(team.id);
    expect(await emailsSeenBy(team.id)).toEqual(['team@example.test']);
  });

  it('takes the team off its customers once nobody is in it', async () => {
    const team = await makeSalesTeam(knex);
    const customer = await makeCustomer(knex, [shopId], { email: 'former@example.test', salesTeamId: team.id });
    expect(await knex('salesTeams').where({ id: team.id }).delete()).toBe(1);
    expect((await knex('customers').where({ id: customer.id }).first()).salesTeamId).toBeNull();
  });
});
