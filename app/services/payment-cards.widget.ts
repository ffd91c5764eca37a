import type { Knex } from 'knex';
import type { CustomerAccess } from './customer-access.service.js';
import { countCards, listCards, mayManageCards } from './payment-card.service.js';

// F-DASH-7: the payment cards widget — the 3 most recently added cards. Registered with the
// other core widgets in customer-dashboard.service.ts.

export async function loadCardsWidget(knex: Knex, access: CustomerAccess) {
  const [cards, count] = await Promise.all([listCards(knex, access, { limit: 3 }), countCards(knex, access)]);
  return { cards, count, mayManage: mayManageCards(access.staff) };
}
