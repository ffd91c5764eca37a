import { z } from 'zod';
import { isCalendarDate } from './calendar-date.js';

// F-DASH-4: the product-subscription forms of the customer dashboard. The shop comes from the form
// but is checked against the customer's assignments in the staff member's scope by the service.

export const SUBSCRIPTION_INTERVALS = ['weekly', 'monthly', 'quarterly', 'yearly'] as const;
export type SubscriptionInterval = (typeof SUBSCRIPTION_INTERVALS)[number];

export const SUBSCRIPTION_ACTIONS = { pause: 'paused', resume: 'active', cancel: 'cancelled' } as const;
export type SubscriptionAction = keyof typeof SUBSCRIPTION_ACTIONS;

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
    .refine(isCalendarDate, 'Enter the date as YYYY-MM-DD.'),
});
export type SubscriptionInput = z.infer<typeof subscriptionSchema>;

export const subscriptionStatusSchema = z.object({
  action: z.enum(Object.keys(SUBSCRIPTION_ACTIONS) as [SubscriptionAction, ...SubscriptionAction[]], { error: 'Choose pause, resume or cancel.' }),
});
