import { Router } from 'express';
import type { AppContext } from '../../context.js';
import { ConflictError } from '../../lib/errors.js';
import { inviteCustomer } from '../../services/invitation.service.js';
import { loadWidget } from '../../services/customer-dashboard.service.js';
import { deliverSoon } from '../deliver-soon.js';
import { redirect } from '../login-handler.js';
import { flash, render, wantsFragment } from '../render.js';
import { dashboardActions, numericParam } from './dashboard-actions.js';

// F-LIFE-2 from the customer dashboard: "Invite" / "Resend invitation" per shop in the shops
// widget, under /admin/customers/:customerId/invitations. The scope check comes first (another
// shop's or team's customer is a 404); a refusal (active or disabled account) keeps the widget and
// says why, as a toast for htmx or a flash for a plain form.

export function customerInvitationsRouter(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });
  const { accessFor, baseOf, links, requestId, saved } = dashboardActions(ctx);

  router.post('/:shopId', async (req, res) => {
    const access = await accessFor(req);
    const shopId = numericParam(req.params.shopId, 'We could not find that shop for this customer.');
    let sent: Awaited<ReturnType<typeof inviteCustomer>>;
    try {
      sent = await inviteCustomer(ctx.knex, req.staff!, access.customerId, shopId, { links: links(), requestId: requestId(req) });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      if (!wantsFragment(req)) {
        flash(req, 'error', error.message);
        return redirect(req, res, baseOf(req));
      }
      const widget = await loadWidget(ctx.knex, await accessFor(req), 'shops');
      res.set({ 'HX-Retarget': '#w-shops', 'HX-Reswap': 'outerHTML' });
      return render(req, res, 'partials/admin/dashboard/saved', { ...widget.locals, inner: widget.template, message: error.message }, { status: 409 });
    }
    deliverSoon(ctx, req, sent.outboxId);
    const message = sent.resent
      ? `A new invitation to ${sent.shopName} is on its way; the earlier link no longer works.`
      : `The invitation to ${sent.shopName} is on its way. The link is valid for 24 hours.`;
    // The customer's state may have changed (guest → invited): the info widget shows it.
    await saved(req, res, await accessFor(req), { message, widget: 'shops', refresh: ['info'] });
  });

  return router;
}
