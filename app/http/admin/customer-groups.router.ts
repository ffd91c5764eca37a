import { Router } from 'express';
import type { AppContext } from '../../context.js';
import { ForbiddenError, ValidationError } from '../../lib/errors.js';
import { mayEditMemberships, membershipChoices, setCustomerMemberships, tickedIds } from '../../services/customer-membership.service.js';
import { dashboardActions, MODALS } from './dashboard-actions.js';

// F-DASH-11: the customer's groups and segments on the dashboard (widget `groups`), and the modal
// that edits the static ones and the direct segments. Mounted at /admin/customers/:customerId/groups.

export function customerGroupsRouter(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });
  const { accessFor, requestId, saved, show } = dashboardActions(ctx);

  // Looking is for everyone who sees the customer (the widget); changing memberships is not (support may not).
  router.use((req, _res, next) => (mayEditMemberships(req.staff!) ? next() : next(new ForbiddenError('Your role may not change a customer’s groups or segments.'))));

  router.get('/', async (req, res) => {
    const access = await accessFor(req);
    await show(req, res, access, `${MODALS}/groups`, { ...(await membershipChoices(ctx.knex, access.customerId)), errors: {} });
  });

  router.post('/', async (req, res) => {
    const access = await accessFor(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    let changes: number;
    try {
      const groupIds = tickedIds(body.groups, 'groups', 'Choose groups from the list.');
      const segmentIds = tickedIds(body.segments, 'segments', 'Choose segments from the list.');
      ({ changes } = await setCustomerMemberships(ctx.knex, req.staff!, access.customerId, { groupIds, segmentIds }, requestId(req)));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return show(req, res, access, `${MODALS}/groups`, { ...(await membershipChoices(ctx.knex, access.customerId)), errors: error.fields, message: error.message }, 422);
    }
    // A tax-exempt group changes the information widget's badge (F-CUST-5).
    await saved(req, res, access, { message: changes ? 'The groups and segments were saved.' : 'Nothing was changed.', widget: 'groups', refresh: ['info'] });
  });

  return router;
}
