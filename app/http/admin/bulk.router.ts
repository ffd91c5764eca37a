import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../context.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../lib/errors.js';
import { enqueueBulkOperation } from '../../queues/bulk.queue.js';
import { parseForm, text } from '../../schemas/form.js';
import { bulkActions, checkBulkInput, createBulkOperation, getBulkOperation, type BulkAction } from '../../services/bulk-action.service.js';
import { countCustomers } from '../../services/customer-list-count.js';
import type { StaffPrincipal } from '../../services/staff.service.js';
import { redirect } from '../login-handler.js';
import { flash, render } from '../render.js';
import { resolveListRequest } from './list-request.js';

const bulkSchema = z.object({
  key: z.string().min(16).max(100),
  action: z.enum(bulkActions, { error: 'Choose what to do.' }),
  tag: text('Tag', 64).optional(),
  groupId: z.string().max(20).optional(),
  target: z.enum(['selected', 'all']).default('selected'),
  query: z.string().max(2000).default(''),
  confirmed: z.literal('yes').optional(),
});

/**
 * Actions that cannot be taken back (customers deleted, e-mails sent) ask once more when they are
 * for all customers matching the filter, saying how many that is; ticked rows are seen already.
 */
const CONFIRMED_FOR_ALL: readonly BulkAction[] = ['delete', 'disable_on_shop', 'invite'];

/** Who may run which bulk action: tags are everyday work, groups sales work; disabling, deleting and inviting are for managers. */
export function bulkActionsFor(staff: StaffPrincipal): BulkAction[] {
  if (staff.role === 'owner' || staff.role === 'manager') return [...bulkActions];
  // Groups can make customers tax exempt or give a discount: sales work, not support's.
  return staff.role === 'sales_rep' ? ['add_tag', 'remove_tag', 'add_to_group', 'remove_from_group'] : ['add_tag', 'remove_tag'];
}

/**
 * A fresh idempotency key for each rendering of the bulk form. Not a secret (the form is also
 * guarded by the CSRF token): a random UUID comes from a pool of entropy Node refills in batches,
 * where 32 fresh random bytes on every list page cost 2 % of its CPU time.
 */
export const newBulkKey = (): string => randomUUID();

/** A list URL's query string as the object Express would have parsed. */
export function queryObject(search: string): Record<string, string[]> {
  const params = new URLSearchParams(search);
  const result: Record<string, string[]> = {};
  for (const [key, value] of params) (result[key] ??= []).push(value);
  return result;
}

export function bulkRouter(ctx: AppContext): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const staff = req.staff!;
    const back = `/admin/customers${typeof req.body?.query === 'string' && req.body.query ? `?${req.body.query}` : ''}`;
    try {
      const input = parseForm(bulkSchema, req.body);
      if (!bulkActionsFor(staff).includes(input.action)) throw new ForbiddenError('Your role may not run this bulk action.');
      const { query, source } = resolveListRequest(staff, queryObject(input.query));
      if (!source) throw new ValidationError({ shop: 'You have no shop to act on.' });
      const rawIds = ([] as unknown[]).concat(req.body?.ids ?? []);
      const ids = rawIds.map(Number).filter((id) => Number.isSafeInteger(id) && id > 0);
      const request = {
        key: input.key,
        action: input.action,
        tag: input.tag?.toLowerCase(),
        groupId: /^\d{1,15}$/.test(input.groupId ?? '') ? Number(input.groupId) : undefined,
        selection: { source, q: query.q, filters: query.filters, ids: input.target === 'selected' ? ids : undefined, scope: staff.scope, salesTeamId: staff.salesTeamId },
      };
      if (input.target === 'all' && CONFIRMED_FOR_ALL.includes(input.action) && !input.confirmed) {
        checkBulkInput(request);
        const count = await countCustomers(ctx.knex, source, query, staff.salesTeamId);
        const shopName = source.kind === 'shop' ? staff.shops.find((shop) => shop.id === source.shopId)?.name : undefined;
        return render(req, res, 'pages/admin/bulk-confirm', { form: input, count, shopName, back });
      }
      const operation = await createBulkOperation(ctx.knex, staff.id, request);
      if (operation.created) {
        // If the queue is down the operation waits as 'queued'; the workers' sweep enqueues it later.
        await enqueueBulkOperation(ctx.queues.bulk, operation.id).catch((err: Error) => req.log.warn({ err: err.message, operationId: operation.id }, 'bulk enqueue failed; the sweep will pick it up'));
      }
      redirect(req, res, `/admin/customers/bulk/${operation.id}`);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      flash(req, 'error', Object.values(error.fields)[0] ?? error.message);
      redirect(req, res, back);
    }
  });

  router.get('/:operationId', async (req, res) => {
    const operationId = Number(req.params.operationId);
    if (!Number.isSafeInteger(operationId) || operationId <= 0) throw new NotFoundError('We could not find that bulk action.');
    const operation = await getBulkOperation(ctx.knex, req.staff!.id, operationId);
    render(req, res, 'pages/admin/bulk-operation', { operation }, { fragment: 'partials/admin/bulk-progress' });
  });

  return router;
}
