import { z } from 'zod';
import { parseMoney } from '../lib/money.js';
import { isCalendarDate } from './calendar-date.js';
import { checkbox, emailField, requiredText, text } from './form.js';
import { customerTypes } from './shop-settings.schema.js';

// One schema per dashboard form (F-DASH). Field names are the form's input names; fields a staff
// member may not set (state, shop, balance, session version …) are simply not in any schema.

const optionalText = (label: string, max: number) => text(label, max).default('');

/** An id chosen from a select; the empty option means "none". */
const optionalId = (label: string) =>
  z
    .string()
    .default('')
    .transform((value, issue) => {
      if (value.trim() === '') return null;
      const id = Number(value);
      if (!Number.isSafeInteger(id) || id <= 0) {
        issue.addIssue({ code: 'custom', message: `Choose a ${label} from the list.` });
        return z.NEVER;
      }
      return id;
    });

/** An optional, non-negative amount of money in minor units (empty means "no limit"). */
const optionalLimit = (label: string) =>
  z
    .string()
    .default('')
    .transform((value, issue) => {
      if (value.trim() === '') return null;
      const amount = parseMoney(value);
      if (amount === null || amount < 0) {
        issue.addIssue({ code: 'custom', message: `${label} must be an amount like 250 or 99.50.` });
        return z.NEVER;
      }
      return amount;
    });

/** F-CUST-1: the fields staff edit in the "Edit customer" modal. */
export const customerDetailsSchema = z.object({
  email: emailField,
  salutation: optionalText('Salutation', 20),
  firstName: optionalText('First name', 100),
  middleName: optionalText('Middle name', 100),
  lastName: optionalText('Last name', 100),
  phone: optionalText('Phone', 40),
  customerType: z.enum(customerTypes, { error: 'Choose a customer type.' }),
  pricingPolicy: optionalText('Pricing policy', 60),
  companyName1: optionalText('Company', 200),
  companyName2: optionalText('Company (line 2)', 200),
  department: optionalText('Department', 100),
  businessAccountId: optionalId('business account'),
  salesTeamId: optionalId('sales team'),
  marketingOptIn: checkbox,
  taxExempt: checkbox,
  wholesale: checkbox,
  b2bReference: optionalText('B2B reference', 100),
  b2bEmployeeId: optionalText('Employee id', 100),
  b2bChargeId: optionalText('Charge id', 100),
  requireApproval: checkbox,
  requireApprovalOver: optionalLimit('Approval limit'),
  blockCheckout: checkbox,
  blockCheckoutOver: optionalLimit('Checkout limit'),
});
export type CustomerDetailsInput = z.infer<typeof customerDetailsSchema>;

export const passwordSchema = z.object({
  password: z.string({ error: 'Enter the new password.' }).min(1, 'Enter the new password.'),
  confirmPassword: z.string({ error: 'Repeat the new password.' }).default(''),
});

export const addressSchema = z.object({
  firstName: optionalText('First name', 100),
  lastName: optionalText('Last name', 100),
  company: optionalText('Company', 200),
  line1: requiredText('Street and number', 200),
  line2: optionalText('Address line 2', 200),
  postcode: optionalText('Postcode', 20),
  city: requiredText('City', 100),
  region: optionalText('Region', 100),
  countryCode: z
    .string({ error: 'Country is required.' })
    .trim()
    .toUpperCase()
    .regex(/^[A-Z]{2}$/, 'Enter the two-letter country code, like DE or FR.'),
  phone: optionalText('Phone', 40),
  defaultBilling: checkbox,
  defaultShipping: checkbox,
});
export type AddressInput = z.infer<typeof addressSchema>;

export const addressDefaultSchema = z.object({
  kind: z.enum(['billing', 'shipping'], { error: 'Choose billing or shipping.' }),
});

export const noteSchema = z.object({
  body: z
    .string({ error: 'Write the note.' })
    .trim()
    .min(1, 'Write the note.')
    .max(5000, 'A note can be at most 5000 characters.')
    // eslint-disable-next-line no-control-regex -- line breaks and tabs are fine in a note; other control characters are not
    .regex(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/, 'The note cannot contain control characters.'),
});

/** F-DASH-5: one credit adjustment as submitted (the key makes a repeated submission book once). */
export const creditAdjustSchema = z.object({
  key: z.string({ error: 'The form is incomplete. Please reload it.' }).min(16, 'The form is incomplete. Please reload it.').max(100),
  shopId: z.string({ error: 'Choose the shop.' }).regex(/^\d{1,18}$/, 'Choose the shop.').transform(Number),
  amount: z
    .string({ error: 'Enter an amount.' })
    .transform((value, issue) => {
      const amount = parseMoney(value);
      if (amount === null || amount === 0) {
        issue.addIssue({ code: 'custom', message: 'Enter an amount like 25 or -12.50 (negative to deduct).' });
        return z.NEVER;
      }
      return amount;
    }),
  reference: optionalText('Reference', 100),
  reason: requiredText('Reason', 500),
  expiresOn: z
    .string()
    .default('')
    .refine((value) => value === '' || isCalendarDate(value), 'Enter the expiry date as YYYY-MM-DD.'),
  notify: checkbox,
});
export type CreditAdjustInput = z.infer<typeof creditAdjustSchema>;

export const MAX_TAGS = 50;

export const tagsSchema = z.object({
  tags: z
    .string()
    .default('')
    .transform((value, issue) => {
      const tags = [...new Set(value.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean))];
      const bad = tags.find((t) => t.length > 64 || /[\u0000-\u001f\u007f]/.test(t)); // eslint-disable-line no-control-regex
      if (bad) issue.addIssue({ code: 'custom', message: `The tag “${bad.length > 24 ? `${bad.slice(0, 24)}…` : bad}” is too long (at most 64 characters) or contains control characters.` });
      if (tags.length > MAX_TAGS) issue.addIssue({ code: 'custom', message: `At most ${MAX_TAGS} tags.` });
      return tags.sort();
    }),
});
