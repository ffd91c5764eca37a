import type { Knex } from 'knex';
import { loginStaff, type Agent } from './agents.js';
import { makeSalesTeam, makeStaff } from './factories.js';
import type { TestApp } from './test-app.js';

/** A new staff member (see makeStaff for the defaults), logged in to the admin host. */
export async function loginNewStaff(t: TestApp, overrides: Parameters<typeof makeStaff>[1] = {}): Promise<Agent> {
  return loginStaff(t.app, (await makeStaff(t.ctx.knex, overrides)).email);
}

/** The staff a dashboard feature's tenant and role checks need, each logged in. */
export interface StaffCast {
  owner: Agent;
  ownerId: number;
  /** A manager of the home shop. */
  manager: Agent;
  /** A manager of the other shop only: the home shop's customers are not theirs (404). */
  foreign: Agent;
  /** Support on the support shops (by default the home shop): may look, may not act. */
  support: Agent;
  /** A sales rep of `team` on the home shop, and one of a rival team (404 for the team's customers). */
  rep: Agent;
  rivalRep: Agent;
  team: { id: number };
}

/** Creates and logs in the cast of StaffCast around a home shop and another shop. */
export async function makeStaffCast(t: TestApp, shops: { home: number; other: number; support?: number[] }): Promise<StaffCast> {
  const knex = t.ctx.knex;
  const team = await makeSalesTeam(knex);
  const rival = await makeSalesTeam(knex);
  const ownerRow = await makeStaff(knex, { role: 'owner' });
  return {
    owner: await loginStaff(t.app, ownerRow.email),
    ownerId: ownerRow.id,
    manager: await loginNewStaff(t, { role: 'manager', shopIds: [shops.home] }),
    foreign: await loginNewStaff(t, { role: 'manager', shopIds: [shops.other] }),
    support: await loginNewStaff(t, { role: 'support', shopIds: shops.support ?? [shops.home] }),
    rep: await loginNewStaff(t, { role: 'sales_rep', shopIds: [shops.home], salesTeamId: team.id }),
    rivalRep: await loginNewStaff(t, { role: 'sales_rep', shopIds: [shops.home], salesTeamId: rival.id }),
    team,
  };
}

/** A product of a shop (price in minor units). */
export async function makeProduct(knex: Knex, shopId: number, sku: string, name: string, price: number, active = true) {
  const [row] = await knex('products').insert({ shopId, sku, name, price, active }).returning(['id', 'sku', 'name', 'price']);
  return row as { id: number; sku: string; name: string; price: number };
}
