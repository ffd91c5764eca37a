import { pipeline } from 'node:stream/promises';
import { Router } from 'express';
import type { AppContext } from '../../context.js';
import { ConflictError, ValidationError } from '../../lib/errors.js';
import { gdprEraseSchema } from '../../schemas/customer-gdpr.schema.js';
import { parseForm } from '../../schemas/form.js';
import { dashboardWidgets } from '../../services/dashboard-widgets.js';
import { assertMayHandlePersonalData } from '../../services/gdpr/gdpr-access.js';
import { eraseCustomer, erasurePreview } from '../../services/gdpr/gdpr-erasure.service.js';
import { exportCustomerData } from '../../services/gdpr/gdpr-export.service.js';
import { dashboardActions, MODALS } from './dashboard-actions.js';

// F-CUST-9 under /admin/customers/:customerId/gdpr: the export (a zip download) and the erasure
// (confirm modal, full page without JavaScript). Scope first (another shop's or team's customer is
// a 404), then the role and the customer's shops (403 with the reason).

const ERASE_MODAL = `${MODALS}/gdpr-erase`;

export function customerGdprRouter(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });
  const { accessFor, requestId, saved, show } = dashboardActions(ctx);

  router.get('/export', async (req, res) => {
    const access = await accessFor(req);
    const { filename, stream } = await exportCustomerData(ctx.knex, ctx.files, req.staff!, access.customerId, requestId(req));
    res.set({
      'Content-Type': 'application/zip',
      'Content-Disposition': `attachment; filename="${filename}"`,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
    });
    try {
      await pipeline(stream, res);
    } catch (err) {
      // Headers are out: all that is left is to cut the download short (the zip is then invalid).
      req.log.error({ err, customerId: access.customerId }, 'GDPR export failed while streaming');
      res.destroy();
    }
  });

  router.get('/erase', async (req, res) => {
    const access = await accessFor(req);
    await assertMayHandlePersonalData(ctx.knex, access);
    await show(req, res, access, ERASE_MODAL, { preview: await erasurePreview(ctx.knex, access), values: {}, errors: {} });
  });

  router.post('/erase', async (req, res) => {
    const access = await accessFor(req);
    await assertMayHandlePersonalData(ctx.knex, access);
    try {
      const { email } = parseForm(gdprEraseSchema, req.body);
      const outcome = await eraseCustomer(ctx.knex, ctx.files, req.staff!, access.customerId, email, requestId(req));
      if (outcome.filesLeft.length) req.log.warn({ customerId: access.customerId, files: outcome.filesLeft.length }, 'erased customer: some stored files could not be removed');
    } catch (error) {
      if (!(error instanceof ValidationError || error instanceof ConflictError)) throw error;
      const preview = await erasurePreview(ctx.knex, access);
      const errors = error instanceof ValidationError ? error.fields : {};
      // An erasure that already happened is said by the modal itself (the preview's erasedAt).
      const message = error instanceof ValidationError ? error.message : undefined;
      return show(req, res, access, ERASE_MODAL, { preview, values: req.body ?? {}, errors, message }, error.status);
    }
    // Everything on the page showed personal data: every widget reloads.
    await saved(req, res, await accessFor(req), {
      message: 'The customer’s personal data was erased. Orders and store-credit amounts are kept.',
      widget: 'privacy',
      refresh: dashboardWidgets().map((w) => w.name),
    });
  });

  return router;
}
