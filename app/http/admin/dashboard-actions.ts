import type { Request, Response } from 'express';
import type { AppContext } from '../../context.js';
import { NotFoundError } from '../../lib/errors.js';
import { customerAccess, type CustomerAccess } from '../../services/customer-access.service.js';
import { customerRecord } from '../../services/customer-details.service.js';
import { loadWidget } from '../../services/customer-dashboard.service.js';
import { redirect } from '../login-handler.js';
import { flash, render, wantsFragment } from '../render.js';

// What every router under /admin/customers/:customerId shares (the dashboard's own and those of
// its features and modules): the scope check, opening an action as a modal or a page, and the
// answer to a save. See views/partials/admin/dashboard/CONTEXT.md for how an action flows.

export const MODALS = 'partials/admin/dashboard/modals';
const SECTION_PAGE = 'pages/admin/customer-section';

/** A positive integer path parameter, or the 404 `message`. */
export function numericParam(raw: unknown, message: string): number {
  const id = typeof raw === 'string' && /^\d{1,18}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id) || id <= 0) throw new NotFoundError(message);
  return id;
}

/** What a save answers. */
export interface Saved {
  message: string;
  /** Where a plain form goes back to (default: the dashboard). */
  back?: string;
  /** The widget that replaces itself with the answer; the modal closes. */
  widget?: string;
  /** Or: the modal that stays open with this content (e.g. the address book after a change). */
  modal?: { partial: string; locals: object };
  /** Other widgets to reload (the timeline always is). */
  refresh?: string[];
}

/** Scope checks a guard made ahead of the route, waiting for the route's first accessFor. */
const checked = new WeakMap<Request, Promise<CustomerAccess>>();

export function dashboardActions(ctx: AppContext) {
  const customerIdOf = (req: Request) => Number(req.params.customerId);
  const baseOf = (req: Request) => `/admin/customers/${customerIdOf(req)}`;

  return {
    baseOf,
    requestId: (req: Request) => String(req.id),
    links: () => ({ scheme: ctx.config.publicScheme, port: ctx.config.publicPort }),
    /**
     * The scope check every route starts with: another shop's or team's customer is a 404. A
     * check the dashboard's guard already made for this request is used once; after that (a route
     * reading the assignments again after a change) it is made afresh.
     */
    accessFor(req: Request): Promise<CustomerAccess> {
      const guarded = checked.get(req);
      checked.delete(req);
      return guarded ?? customerAccess(ctx.knex, req.staff!, customerIdOf(req));
    },
    /** The scope check made ahead of the route (by a guard), handed to the route's first accessFor. */
    checkAhead(req: Request): Promise<CustomerAccess> {
      const access = customerAccess(ctx.knex, req.staff!, customerIdOf(req));
      checked.set(req, access);
      return access;
    },

    /** A modal's content: a fragment for htmx, inside the section page for a plain request. */
    async show(req: Request, res: Response, access: CustomerAccess, partial: string, locals: object, status = 200) {
      const asModal = wantsFragment(req);
      const customer = asModal ? null : await customerRecord(ctx.knex, access.customerId);
      render(req, res, SECTION_PAGE, { ...locals, partial, asModal, customerId: access.customerId, customer, base: baseOf(req) }, { fragment: partial, status });
    },

    /**
     * A save's answer: a plain form is redirected with a flash; htmx gets the changed widget
     * (HX-Retarget) or the modal that stays open, a toast, and `NAMEChanged` events for the
     * other widgets to reload themselves.
     */
    async saved(req: Request, res: Response, access: CustomerAccess, outcome: Saved) {
      if (!wantsFragment(req)) {
        flash(req, 'success', outcome.message);
        return redirect(req, res, outcome.back ?? baseOf(req));
      }
      const events: Record<string, { target: string }> = {};
      for (const name of new Set([...(outcome.refresh ?? []), 'timeline'])) if (name !== outcome.widget) events[`${name}Changed`] = { target: 'body' };
      if (outcome.widget) {
        events.closeModal = { target: 'body' };
        const widget = await loadWidget(ctx.knex, access, outcome.widget);
        res.set({ 'HX-Retarget': `#w-${outcome.widget}`, 'HX-Reswap': 'outerHTML', 'HX-Trigger': JSON.stringify(events) });
        return render(req, res, 'partials/admin/dashboard/saved', { ...widget.locals, inner: widget.template, message: outcome.message });
      }
      res.set('HX-Trigger', JSON.stringify(events));
      const modal = outcome.modal!;
      render(req, res, 'partials/admin/dashboard/saved', { ...modal.locals, inner: modal.partial, asModal: true, customerId: access.customerId, base: baseOf(req), message: outcome.message });
    },
  };
}

export type DashboardActions = ReturnType<typeof dashboardActions>;
