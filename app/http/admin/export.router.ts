import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../context.js';
import { NotFoundError, ValidationError } from '../../lib/errors.js';
import { enqueueCustomerExport } from '../../queues/export.queue.js';
import { parseForm } from '../../schemas/form.js';
import { createCustomerExport, getCustomerExport, INLINE_EXPORT_LIMIT } from '../../services/customer-export.service.js';
import { countCustomers } from '../../services/customer-list-count.js';
import { redirect } from '../login-handler.js';
import { flash, render } from '../render.js';
import { queryObject } from './bulk.router.js';
import { resolveListRequest } from './list-request.js';

// Export of the customer list (F-LIST-6) under /admin/customers/exports. The list's Export button
// posts here: a small result is sent to the streamed download at once (GET /admin/customers/export.csv);
// a large one becomes a job with a progress page that polls until the file is ready to download.

const exportSchema = z.object({ key: z.string().min(16).max(100), query: z.string().max(2000).default('') });

function exportIdOf(raw: unknown): number {
  const id = typeof raw === 'string' && /^\d{1,18}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id) || id <= 0) throw new NotFoundError('We could not find that export.');
  return id;
}

export function exportRouter(ctx: AppContext): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const staff = req.staff!;
    let input: z.infer<typeof exportSchema>;
    try {
      input = parseForm(exportSchema, req.body);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      flash(req, 'error', 'The export form was out of date; please try again.');
      return redirect(req, res, '/admin/customers');
    }
    const { query, source } = resolveListRequest(staff, queryObject(input.query));
    if (!source) throw new NotFoundError('You have no shop to export customers from.');
    const count = await countCustomers(ctx.knex, source, query, staff.salesTeamId);
    if (count.exact && count.value <= INLINE_EXPORT_LIMIT) return redirect(req, res, `/admin/customers/export.csv${input.query ? `?${input.query}` : ''}`);

    const shopCode = source.kind === 'shop' ? staff.shops.find((s) => s.id === source.shopId)?.code : 'all';
    const job = await createCustomerExport(ctx.knex, staff.id, {
      key: input.key,
      selection: { source, q: query.q, filters: query.filters, salesTeamId: staff.salesTeamId },
      fileName: `customers-${shopCode}-${new Date().toISOString().slice(0, 10)}.csv`,
    });
    if (job.created) {
      // If the queue is down the export waits as 'queued'; the workers' sweep enqueues it later.
      await enqueueCustomerExport(ctx.queues.exports, job.id).catch((err: Error) => req.log.warn({ err: err.message, exportId: job.id }, 'export enqueue failed; the sweep will pick it up'));
    }
    redirect(req, res, `/admin/customers/exports/${job.id}`);
  });

  router.get('/:exportId', async (req, res) => {
    const job = await getCustomerExport(ctx.knex, req.staff!.id, exportIdOf(req.params.exportId));
    render(req, res, 'pages/admin/export-job', { job }, { fragment: 'partials/admin/export-progress' });
  });

  router.get('/:exportId/download', async (req, res) => {
    const job = await getCustomerExport(ctx.knex, req.staff!.id, exportIdOf(req.params.exportId));
    const expired = new Date(job.expiresAt).getTime() <= Date.now();
    if (job.status !== 'done' || !job.storageKey || expired || !(await ctx.files.exists(job.storageKey))) throw new NotFoundError('This export is not ready, or it has expired; please export again.');
    res.set({
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="${job.fileName}"`,
      'Content-Length': String(job.bytes),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    ctx.files.open(job.storageKey).pipe(res);
  });

  return router;
}
