import { Router } from 'express';
import type { AppContext } from '../../context.js';
import { NotFoundError } from '../../lib/errors.js';
import { customerListQuerySchema } from '../../schemas/customer-list.schema.js';
import { listCustomers } from '../../services/customer-list.service.js';
import { getCustomerSummary } from '../../services/customer-profile.service.js';
import { listShops } from '../../services/shop.service.js';
import { render } from '../render.js';

export function customersRouter(ctx: AppContext): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const staff = req.staff!;
    const query = customerListQuerySchema.parse(req.query);
    const [page, shops] = await Promise.all([listCustomers(ctx.knex, staff.scope, query), listShops(ctx.knex, staff.scope)]);
    render(req, res, 'pages/admin/customers', { query, page, shops, currency: 'EUR' }, { fragment: 'partials/admin/customer-table' });
  });

  router.get('/:id', async (req, res) => {
    const id = Number(req.params.id);
    if (!Number.isSafeInteger(id) || id <= 0) throw new NotFoundError('We could not find that customer.');
    const summary = await getCustomerSummary(ctx.knex, req.staff!.scope, id);
    render(req, res, 'pages/admin/customer', summary);
  });

  return router;
}
