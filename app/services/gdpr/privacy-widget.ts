import type { Knex } from 'knex';
import type { CustomerAccess } from '../customer-access.service.js';
import { registerWidget } from '../dashboard-widgets.js';
import { erasurePreview } from './gdpr-erasure.service.js';

// The dashboard's "Privacy (GDPR)" widget: export the customer's data, erase it, or why not.
// Registered when app/http/admin/customer-gdpr.router.ts is loaded (the dashboard router mounts it).

async function loadPrivacy(knex: Knex, access: CustomerAccess) {
  return erasurePreview(knex, access);
}

registerWidget({ name: 'privacy', template: 'partials/admin/dashboard/privacy', column: 'side', order: 98, load: loadPrivacy });
