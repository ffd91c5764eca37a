import { Router, type Request } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../context.js';
import { NotFoundError, ValidationError } from '../../lib/errors.js';
import { optionalColumns, parseCustomerListQuery } from '../../schemas/customer-list.schema.js';
import { parseForm, requiredText } from '../../schemas/form.js';
import { recordAudit } from '../../services/audit.service.js';
import { writeCustomerCsv } from '../../services/customer-export.service.js';
import { countCustomers } from '../../services/customer-list-count.js';
import { MIN_SEARCH_LENGTH, resolveListSource, type ListSource } from '../../services/customer-list-filter.js';
import { listCustomers } from '../../services/customer-list.service.js';
import { deleteView, listSavedViews, rememberedListColumns, rememberListColumns, saveView } from '../../services/saved-view.service.js';
import type { StaffPrincipal } from '../../services/staff.service.js';
import { redirect } from '../login-handler.js';
import { flash, render, wantsFragment } from '../render.js';
import { bulkActionsFor, newBulkKey } from './bulk.router.js';
import { filterChips } from './customer-list-chips.js';
import { membershipChoices, resolveMembershipFilters } from './customer-list-groups.js';
import { resolveListRequest } from './list-request.js';
import { ListUrl } from './list-url.js';

const LIST_PATH = '/admin/customers';

async function listContext(ctx: AppContext, staff: StaffPrincipal, rawQuery: Record<string, unknown>, search: string) {
  const list = resolveListRequest(staff, rawQuery);
  const membershipNames = await resolveMembershipFilters(ctx.knex, list.query);
  // One currency for the money on the page, or none (null) over shops that sell in several.
  const currency = list.currencies.length > 1 ? null : (list.currencies[0] ?? 'EUR');
  return { ...list, shops: staff.shops, currency, url: new ListUrl(LIST_PATH, search, list.setAside), membershipNames };
}

const searchOf = (originalUrl: string) => originalUrl.split('?')[1] ?? '';

const sourceKey = (source: ListSource | null) => (source ? (source.kind === 'shop' ? source.shopId : 'all') : 'none');

/**
 * Whether an htmx request shows another shop than the page it came from (its URL, which htmx keeps
 * current). The filters that depend on the shop sit outside the swapped results, so the response
 * then replaces them too (out of band).
 */
function shopChanged(req: Request, staff: StaffPrincipal, source: ListSource | null): boolean {
  const shownUrl = wantsFragment(req) ? req.get('HX-Current-URL') : undefined;
  if (!shownUrl || !URL.canParse(shownUrl)) return false;
  const shown = parseCustomerListQuery({ shop: new URL(shownUrl).searchParams.get('shop') ?? undefined }).shop;
  return sourceKey(resolveListSource(staff.scope, staff.shops, shown)) !== sourceKey(source);
}

/** The small list menus have no fields to highlight: an invalid value is answered with what is wrong. */
function namedError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ValidationError) throw new ValidationError(error.fields, Object.values(error.fields)[0] ?? error.message);
    throw error;
  }
}

export function customersRouter(ctx: AppContext): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const staff = req.staff!;
    const list = await listContext(ctx, staff, req.query, searchOf(req.originalUrl));
    const columns = 'cols' in req.query ? list.query.columns : rememberedListColumns(staff.listColumns);
    // The saved views menu is outside the fragment: an htmx swap of the results does not need it.
    const [page, savedViews, membership] = await Promise.all([
      list.source
        ? listCustomers(ctx.knex, list.source, list.query, staff.salesTeamId, { withTags: columns.includes('tags'), withCredit: columns.includes('credit'), withSpentByCurrency: list.currency === null })
        : Promise.resolve({ rows: [] }),
      wantsFragment(req) ? Promise.resolve([]) : listSavedViews(ctx.knex, staff.id),
      membershipChoices(ctx.knex, { fullPage: !wantsFragment(req) }),
    ]);
    // htmx would put the form's request in the address bar, every empty field included.
    if (wantsFragment(req)) res.setHeader('HX-Push-Url', list.url.href);
    render(
      req,
      res,
      'pages/admin/customers',
      {
        ...list,
        page,
        columns,
        savedViews,
        chips: filterChips(list.query, list.url, list.currency, list.membershipNames),
        membershipFilters: membership.filters,
        shopChanged: shopChanged(req, staff, list.source),
        searchTooShort: list.query.q.trim().length > 0 && list.query.q.trim().length < MIN_SEARCH_LENGTH,
        minSearchLength: MIN_SEARCH_LENGTH,
        optionalColumns,
        bulk: { key: newBulkKey(), actions: bulkActionsFor(staff), groups: membership.staticGroups },
      },
      { fragment: 'partials/admin/customer-results' },
    );
  });

  router.get('/count', async (req, res) => {
    const staff = req.staff!;
    const list = await listContext(ctx, staff, req.query, searchOf(req.originalUrl));
    const count = list.source ? await countCustomers(ctx.knex, list.source, list.query, staff.salesTeamId) : { value: 0, exact: true };
    // The list asks for it with htmx; without JavaScript its link opens it as a page of its own.
    render(req, res, 'pages/admin/customer-count', { count, back: list.url.with({}) }, { fragment: 'partials/admin/customer-count' });
  });

  router.get('/export.csv', async (req, res) => {
    const staff = req.staff!;
    const list = await listContext(ctx, staff, req.query, searchOf(req.originalUrl));
    if (!list.source) throw new NotFoundError('You have no shop to export customers from.');
    await recordAudit(ctx.knex, { actorType: 'staff', actorId: staff.id, shopId: list.shop?.id ?? null, customerId: null, action: 'customers.exported', changes: { query: list.url.selection }, requestId: String(req.id) });
    const stamp = new Date().toISOString().slice(0, 10);
    res.set({ 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="customers-${list.shop?.code ?? 'all'}-${stamp}.csv"`, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    // Streamed by COPY: memory stays flat however many rows match.
    await writeCustomerCsv(ctx.knex, { source: list.source, q: list.query.q, filters: list.query.filters, salesTeamId: staff.salesTeamId }, res);
  });

  router.post('/columns', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const chosen = parseCustomerListQuery({ cols: body.cols }).columns;
    await rememberListColumns(ctx.knex, req.staff!.id, chosen);
    const back = new ListUrl(LIST_PATH, typeof body.return === 'string' ? body.return : '');
    redirect(req, res, back.with({ cols: undefined }));
  });

  router.post('/views', async (req, res) => {
    const input = namedError(() => parseForm(z.object({ name: requiredText('View name', 80), query: z.string().max(2000).default('') }), req.body));
    await saveView(ctx.knex, req.staff!.id, input.name, input.query);
    flash(req, 'success', `Saved the view “${input.name}”.`);
    redirect(req, res, new ListUrl(LIST_PATH, input.query).with({}));
  });

  router.post('/views/:viewId/delete', async (req, res) => {
    const viewId = Number(req.params.viewId);
    if (!Number.isSafeInteger(viewId) || !(await deleteView(ctx.knex, req.staff!.id, viewId))) throw new NotFoundError('We could not find that view.');
    flash(req, 'success', 'The view was deleted.');
    redirect(req, res, LIST_PATH);
  });

  return router;
}
