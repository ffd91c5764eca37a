import type { Router } from 'express';
import type { AppContext } from '../context.js';
import { registerWidget, type DashboardWidget } from '../services/dashboard-widgets.js';
import { quotesModule } from './quotes/quotes.module.js';

// Modules (F-DASH-10): optional features that plug into the customer dashboard without the core
// knowing them. A module brings widgets (loader + template + column + order) and, optionally, a
// router for its actions, mounted under /admin/customers/:customerId/<name>. How to write one:
// app/modules/CONTEXT.md.

/** One widget a module adds to the customer dashboard; see DashboardWidget for each field. */
export type ModuleWidget = DashboardWidget;

export interface PortalModule {
  /** Lower-case letters, digits and dashes: the URL segment of the module's router. */
  name: string;
  widgets: ModuleWidget[];
  /**
   * The module's actions, as a `Router({ mergeParams: true })`: it is mounted at
   * /admin/customers/:customerId/<name> inside the dashboard router, so `req.params.customerId`
   * is there and every route starts with `dashboardActions(ctx).accessFor(req)`.
   */
  router?: (ctx: AppContext) => Router;
}

/** The modules this installation runs, in the order they are installed. */
export const MODULES: readonly PortalModule[] = [quotesModule];

/** Registers every module's widgets and mounts its router on the customer dashboard's router. */
export function installModules(ctx: AppContext, dashboardRouter: Router, modules: readonly PortalModule[] = MODULES): void {
  const names = new Set<string>();
  for (const module of modules) {
    if (!/^[a-z][a-z0-9-]{0,39}$/.test(module.name)) throw new Error(`Module name "${module.name}" must be lower-case letters, digits and dashes.`);
    if (names.has(module.name)) throw new Error(`Two modules are named "${module.name}".`);
    names.add(module.name);
    for (const widget of module.widgets) registerWidget(widget);
    if (module.router) dashboardRouter.use(`/${module.name}`, module.router(ctx));
  }
}
