import { z } from 'zod';
import { ValidationError, type FieldErrors } from '../../lib/errors.js';
import { isCalendarDate } from '../../schemas/calendar-date.js';

// The Quotes module's forms. Prices are not fields: the server takes them from the products.

export const MAX_QUOTE_LINES = 10;
export const MAX_LINE_QUANTITY = 9999;
export const QUOTE_ACTIONS = { send: 'sent', accept: 'accepted', decline: 'declined' } as const;
export type QuoteAction = keyof typeof QUOTE_ACTIONS;

const optionalString = z.string().default('');
const lineFields: Record<string, typeof optionalString> = {};
for (let i = 1; i <= MAX_QUOTE_LINES; i++) {
  lineFields[`product${i}`] = optionalString;
  lineFields[`quantity${i}`] = optionalString;
}

/** The create form: a shop, up to MAX_QUOTE_LINES rows of product + quantity, validity and a note. */
export const quoteFormSchema = z.object({
  shopId: z.string({ error: 'Choose the shop.' }).regex(/^\d{1,18}$/, 'Choose the shop.').transform(Number),
  validUntil: z.string({ error: 'Enter the date the quote is valid until.' }).trim().refine(isCalendarDate, 'Enter the date as YYYY-MM-DD.'),
  note: z
    .string()
    .default('')
    .transform((value) => value.trim())
    .pipe(
      z
        .string()
        .max(2000, 'The note can be at most 2000 characters.')
        // eslint-disable-next-line no-control-regex -- line breaks and tabs are fine in a note; other control characters are not
        .regex(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/, 'The note cannot contain control characters.'),
    ),
  ...lineFields,
});

export interface QuoteLineInput {
  /** 1-based row of the form, for field messages. */
  row: number;
  productId: number;
  quantity: number;
}

export interface QuoteInput {
  shopId: number;
  validUntil: string;
  note: string;
  lines: QuoteLineInput[];
}

/** The form's rows as lines: empty rows are skipped; a half-filled or wrong row is a field message. */
export function quoteInput(form: z.infer<typeof quoteFormSchema>): QuoteInput {
  const values = form as unknown as Record<string, string>;
  const errors: FieldErrors = {};
  const lines: QuoteLineInput[] = [];
  for (let row = 1; row <= MAX_QUOTE_LINES; row++) {
    const product = values[`product${row}`]!.trim();
    const quantity = values[`quantity${row}`]!.trim();
    if (product === '' && quantity === '') continue;
    const productId = /^\d{1,18}$/.test(product) ? Number(product) : 0;
    if (!productId) errors[`product${row}`] = 'Choose a product from the list.';
    const amount = /^\d{1,4}$/.test(quantity) ? Number(quantity) : 0;
    if (amount < 1 || amount > MAX_LINE_QUANTITY) errors[`quantity${row}`] = `Enter a whole number from 1 to ${MAX_LINE_QUANTITY}.`;
    lines.push({ row, productId, quantity: amount });
  }
  if (lines.length === 0) errors.product1 = 'Add at least one product.';
  if (Object.keys(errors).length) throw new ValidationError(errors);
  return { shopId: form.shopId, validUntil: form.validUntil, note: form.note, lines };
}

export const quoteStatusSchema = z.object({
  action: z.enum(Object.keys(QUOTE_ACTIONS) as [QuoteAction, ...QuoteAction[]], { error: 'Choose send, accept or decline.' }),
});
