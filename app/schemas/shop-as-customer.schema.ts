import { z } from 'zod';

// F-SAC-1: the form that starts Shop As Customer. The shop is chosen from the customer's active
// assignments in the staff member's scope (checked again by the service); the reason is required.

export const startShopAsCustomerSchema = z.object({
  shopId: z
    .string({ error: 'Choose a shop.' })
    .trim()
    .regex(/^\d{1,18}$/, 'Choose a shop from the list.')
    .transform(Number),
  reason: z
    .string({ error: 'Give a reason.' })
    .trim()
    .min(1, 'Give a reason: it is shown on the customer’s timeline.')
    .max(500, 'The reason must be at most 500 characters.'),
});

export type StartShopAsCustomerInput = z.infer<typeof startShopAsCustomerSchema>;

/** My Account: the customer's consent to remote shopping assistance (a checkbox: "on" or absent). */
export const remoteAssistanceSchema = z.object({ allow: z.literal('on', { error: 'Tick the box or leave it empty.' }).optional() });
