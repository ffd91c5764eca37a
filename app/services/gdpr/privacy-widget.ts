import type { Knex } from 'knex';
import type { CustomerAccess } from '../customer-access.service.js';
import { erasurePreview } from './gdpr-erasure.service.js';

// The dashboard's "Privacy (GDPR)" widget: export the customer's data, erase it, or why not.
// Registered with the other core widgets in customer-dashboard.service.ts.

export async function loadPrivacy(knex: Knex, access: CustomerAccess) {
  return erasurePreview(knex, access);
}
