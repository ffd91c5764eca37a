import { z } from 'zod';
import { parseMoney } from '../lib/money.js';
import { isCalendarDate } from './calendar-date.js';

// F-LIMIT-1: the purchase limit form. A limit runs over a fixed window (start … end date) or a
// recurring one (monthly, quarterly, yearly from the start date), never both.

export const LIMIT_PERIODS = ['monthly', 'quarterly', 'yearly'] as const;
export type LimitPeriod = (typeof LIMIT_PERIODS)[number];

const dateField = (label: string) =>
  z
    .string()
    .trim()
    .default('')
    .refine((value) => value === '' || isCalendarDate(value), `Enter the ${label} as YYYY-MM-DD.`);

export const purchaseLimitSchema = z
  .object({
    shopId: z.string({ error: 'Choose the shop.' }).regex(/^\d{1,18}$/, 'Choose the shop.').transform(Number),
    amount: z.string({ error: 'Enter the amount.' }).transform((value, issue) => {
      const amount = parseMoney(value);
      if (amount === null || amount <= 0) {
        issue.addIssue({ code: 'custom', message: 'Enter an amount above zero, like 500 or 1250.50.' });
        return z.NEVER;
      }
      return amount;
    }),
    period: z.enum(['fixed', ...LIMIT_PERIODS], { error: 'Choose fixed dates or a recurring period.' }),
    startDate: dateField('start date').refine((value) => value !== '', 'Enter the start date.'),
    endDate: dateField('end date'),
  })
  .superRefine((value, ctx) => {
    if (value.period === 'fixed' && value.endDate === '') ctx.addIssue({ code: 'custom', path: ['endDate'], message: 'Enter the end date of the fixed window (or choose a recurring period).' });
    if (value.period === 'fixed' && value.endDate !== '' && value.endDate < value.startDate) ctx.addIssue({ code: 'custom', path: ['endDate'], message: 'The end date cannot be before the start date.' });
    if (value.period !== 'fixed' && value.endDate !== '') ctx.addIssue({ code: 'custom', path: ['endDate'], message: 'A recurring limit has no end date: leave it empty, or choose fixed dates.' });
  });
export type PurchaseLimitInput = z.infer<typeof purchaseLimitSchema>;
