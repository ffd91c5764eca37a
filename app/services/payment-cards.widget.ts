import type { Knex } from 'knex';
import type { CustomerAccess } from './customer-access.service.js';
import { registerWidget } from './dashboard-widgets.js';
import { countCards, listCards, mayManageCards } from './payment-card.service.js';

// F-DASH-7: the payment cards widget — the 3 most recently added cards. Imported by
// customer-cards.router.ts.

export async function loadCardsWidget(knex: Knex, access: CustomerAccess) {
  const [cards, count] = await Promise.all([listCards(knex, access, { limit: 3 }), countCards(knex, access)]);
  return { cards, count, mayManage: mayManageCards(access.staff) };
}

registerWidget({ name: 'cards', template: 'partials/admin/dashboard/cards', column: 'side', order: 70, load: loadCardsWidget });
