import { z } from 'zod';

export const customerSortColumns = ['name', 'email', 'city', 'country', 'orders', 'last_order', 'total_spent', 'state', 'created'] as const;
export type CustomerSort = (typeof customerSortColumns)[number];

const single = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (Array.isArray(value) ? value[0] : value), schema);

/** Query string of /admin/customers. Unknown or malformed values fall back to defaults rather than erroring, so old links keep working. */
export const customerListQuerySchema = z.object({
  // NUL cannot occur in PostgreSQL text (and would fail the query): drop it.
  q: single(z.string().trim().max(200).transform((value) => value.replaceAll('\u0000', '')).catch('')).default(''),
  sort: single(z.enum(customerSortColumns).catch('created')).default('created'),
  dir: single(z.enum(['asc', 'desc']).catch('desc')).default('desc'),
  page: single(z.coerce.number().int().min(1).max(10_000).catch(1)).default(1),
  shop: single(z.coerce.number().int().positive().optional().catch(undefined)),
});

export type CustomerListQuery = z.infer<typeof customerListQuerySchema>;
