import type { Knex } from 'knex';
import type { CustomerAccess } from './customer-access.service.js';

// The widget registry of the customer dashboard (F-DASH-10). A widget is a partial (template) plus
// a loader that gets the scope-checked access and returns what the partial prints under `w`. The
// core widgets register in customer-dashboard.service.ts; a module (app/modules/) registers its own
// through installModules. The page shows every registered widget, per column, by `order`.

export interface DashboardWidget {
  /** Unique; the widget's element id is `w-NAME` and it reloads on the `NAMEChanged` event. */
  name: string;
  template: string;
  /** The column the widget sits in on wide screens. */
  column: 'main' | 'side';
  /** Position within its column, smallest first. */
  order: number;
  load(knex: Knex, access: CustomerAccess): Promise<object>;
}

const registry = new Map<string, DashboardWidget>();

export function registerWidget(widget: DashboardWidget): void {
  if (!/^[a-z][a-zA-Z0-9]*$/.test(widget.name)) throw new Error(`Widget name "${widget.name}" must be camelCase letters and digits.`);
  const existing = registry.get(widget.name);
  // Re-registering the same definition (a module installed by two app instances in one process) is harmless.
  if (existing && existing.template !== widget.template) throw new Error(`A dashboard widget named "${widget.name}" is already registered.`);
  registry.set(widget.name, widget);
}

export function dashboardWidget(name: string): DashboardWidget | undefined {
  return registry.get(name);
}

export function dashboardWidgets(): DashboardWidget[] {
  return [...registry.values()].sort((a, b) => a.order - b.order);
}
