import { z } from 'zod';

// F-DASH-4: the product-subscription forms of the customer dashboard. The shop comes from the form
// but is checked against the customer's assignments in the staff member's scope by the service.

export const SUBSCRIPTION_INTERVALS = ['weekly', 'monthly', 'quarterly', 'yearly'] as const;
export type SubscriptionInterval = (typeof SUBSCRIPTION_INTERVALS)[number];

export const SUBSCRIPTION_ACTIONS = { pause: 'paused', resume: 'active', cancel: 'cancelled' } as const;
export type SubscriptionAction = keyof typeof SUBSCRIPTION_ACTIONS;

const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** A calendar day typed as YYYY-MM-DD that exists (2026-02-30 does not). */
function isDay(value: string): boolean {
  if (!DAY.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

const id = (message: string) => z.string({ error: message }).trim().regex(/^\d{1,18}$/, message).transform(Number);

export const subscriptionSchema = z.object({
  shopId: id('Choose the shop.'),
  productId: id('Choose a product from the list.'),
  quantity: z
    .string({ error: 'Enter the quantity.' })
    .trim()
    .regex(/^\d{1,3}$/, 'Enter a whole number from 1 to 999.')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 999, 'Enter a whole number from 1 to 999.'),
  interval: z.enum(SUBSCRIPTION_INTERVALS, { error: 'Choose how often it is delivered.' }),
  firstDelivery: z
    .string({ error: 'Enter the day of the first delivery.' })
    .trim()
    .refine(isDay, 'Enter the date as YYYY-MM-DD.'),
});
export type SubscriptionInput = z.infer<typeof subscriptionSchema>;

export const subscriptionStatusSchema = z.object({
  action: z.enum(Object.keys(SUBSCRIPTION_ACTIONS) as [SubscriptionAction, ...SubscriptionAction[]], { error: 'Choose pause, resume or cancel.' }),
});
