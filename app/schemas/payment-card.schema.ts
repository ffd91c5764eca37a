import { z } from 'zod';
import { brandLengths, cardBrand, cardExpired, CARD_BRAND_LABELS, luhnValid } from '../lib/payment-card.js';
import { requiredText } from './form.js';

// F-DASH-7: the card forms. The number is turned into brand + last 4 digits right here, so what a
// parse returns (and anything built from it) never holds the number. Messages never repeat it.

const month = z
  .string({ error: 'Enter the expiry month.' })
  .trim()
  .regex(/^\d{1,2}$/, 'Enter the expiry month as a number from 1 to 12.')
  .transform(Number)
  .refine((m) => m >= 1 && m <= 12, 'Enter the expiry month as a number from 1 to 12.');

const year = z
  .string({ error: 'Enter the expiry year.' })
  .trim()
  .regex(/^(\d{2}|\d{4})$/, 'Enter the expiry year, like 2029.')
  .transform((y) => (y.length === 2 ? 2000 + Number(y) : Number(y)))
  .refine((y) => y >= 2000 && y <= 2100, 'Enter the expiry year, like 2029.');

const cardNumber = z
  .string({ error: 'Enter the card number.' })
  .max(40, 'A card number has 13 to 19 digits.')
  .transform((value, issue) => {
    const digits = value.replace(/[\s-]/g, '');
    const fail = (message: string) => {
      issue.addIssue({ code: 'custom', message });
      return z.NEVER;
    };
    if (digits === '') return fail('Enter the card number.');
    if (!/^\d+$/.test(digits)) return fail('A card number has digits only (spaces and dashes between groups are fine).');
    if (digits.length < 13 || digits.length > 19) return fail(`A card number has 13 to 19 digits; this one has ${digits.length}.`);
    if (!luhnValid(digits)) return fail('This is not a valid card number (the check digit does not match). Please check it for typos.');
    const brand = cardBrand(digits);
    if (!brandLengths(brand).includes(digits.length)) return fail(`A ${CARD_BRAND_LABELS[brand]} number has ${brandLengths(brand).join(' or ')} digits; this one has ${digits.length}.`);
    return { brand, last4: digits.slice(-4) };
  });

const holderName = requiredText('Cardholder name', 100);

/** A card that expired before the current month is refused, with the message on the year. */
function notExpired(value: { expMonth: number; expYear: number }, ctx: z.RefinementCtx) {
  if (cardExpired(value.expMonth, value.expYear)) {
    ctx.addIssue({ code: 'custom', path: ['expYear'], message: `This card expired at the end of ${String(value.expMonth).padStart(2, '0')}/${value.expYear}. Enter a card that is still valid.` });
  }
}

export const cardAddSchema = z.object({ holderName, number: cardNumber, expMonth: month, expYear: year }).superRefine(notExpired);
export type CardAddInput = z.infer<typeof cardAddSchema>;

/** Editing changes the holder and the expiry only; a number sent along is ignored. */
export const cardEditSchema = z.object({ holderName, expMonth: month, expYear: year }).superRefine(notExpired);
export type CardEditInput = z.infer<typeof cardEditSchema>;
