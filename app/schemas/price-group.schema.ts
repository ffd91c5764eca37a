import { z } from 'zod';
import { parseMoney } from '../lib/money.js';
import { requiredText, text } from './form.js';

// F-PRICE-1, F-DASH-6: the price group forms (admin page) and the assignment forms (dashboard,
// admin page for business accounts).

/** An id chosen from a select. */
export const chosenId = (message: string) =>
  z
    .string({ error: message })
    .trim()
    .regex(/^\d{1,18}$/, message)
    .transform(Number)
    .refine((id) => Number.isSafeInteger(id) && id > 0, message);

export const priceGroupSchema = z.object({
  name: requiredText('Name', 100),
  priority: z
    .string()
    .trim()
    .default('0')
    .transform((value, issue) => {
      if (value === '') return 0;
      if (!/^-?\d{1,6}$/.test(value) || Math.abs(Number(value)) > 100_000) {
        issue.addIssue({ code: 'custom', message: 'Priority must be a whole number between -100000 and 100000 (larger comes first).' });
        return z.NEVER;
      }
      return Number(value);
    }),
  description: text('Description', 1000).default(''),
});
export type PriceGroupInput = z.infer<typeof priceGroupSchema>;

const PERCENT = /^(\d{1,3})(?:[.,](\d{1,2}))?$/;

/** A product's price in a group: a fixed price OR a percentage off the list price. */
export const priceGroupPriceSchema = z
  .object({
    productId: chosenId('Choose a product from the list.'),
    fixedPrice: z
      .string()
      .trim()
      .default('')
      .transform((value, issue) => {
        if (value === '') return null;
        const amount = parseMoney(value);
        if (amount === null || amount < 0) {
          issue.addIssue({ code: 'custom', message: 'Enter the price as an amount like 19.90.' });
          return z.NEVER;
        }
        return amount;
      }),
    percentOff: z
      .string()
      .trim()
      .default('')
      .transform((value, issue) => {
        if (value === '') return null;
        const match = PERCENT.exec(value.replace(/\s*%$/, ''));
        const percent = match ? Number(match[1]) + Number((match[2] ?? '').padEnd(2, '0')) / 100 : NaN;
        if (!(percent > 0 && percent <= 100)) {
          issue.addIssue({ code: 'custom', message: 'Enter a percentage off between 0.01 and 100, like 15 or 12.5.' });
          return z.NEVER;
        }
        return percent;
      }),
  })
  .superRefine((value, ctx) => {
    if (value.fixedPrice !== null && value.percentOff !== null) ctx.addIssue({ code: 'custom', path: ['fixedPrice'], message: 'Enter either a fixed price or a percentage off, not both.' });
    if (value.fixedPrice === null && value.percentOff === null) ctx.addIssue({ code: 'custom', path: ['fixedPrice'], message: 'Enter a fixed price or a percentage off.' });
  });
export type PriceGroupPriceInput = z.infer<typeof priceGroupPriceSchema>;

export const priceGroupAssignSchema = z.object({ priceGroupId: chosenId('Choose a price group from the list.') });

export const businessAccountAssignSchema = z.object({ businessAccountId: chosenId('Choose a business account from the list.') });
