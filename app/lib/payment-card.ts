import { randomBytes } from 'node:crypto';

// Pure helpers for card numbers (F-DASH-7). A number only ever lives in the request that carries
// it: it is checked here, reduced to brand + last 4 digits, and dropped. Nothing here logs or keeps it.

export const CARD_BRANDS = ['visa', 'mastercard', 'amex', 'discover', 'maestro', 'diners', 'jcb', 'unionpay', 'other'] as const;
export type CardBrand = (typeof CARD_BRANDS)[number];

export const CARD_BRAND_LABELS: Record<CardBrand, string> = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  amex: 'American Express',
  discover: 'Discover',
  maestro: 'Maestro',
  diners: 'Diners Club',
  jcb: 'JCB',
  unionpay: 'UnionPay',
  other: 'Card',
};

/** The Luhn (mod 10) check digit test over a string of digits. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

const inRange = (prefix: string, length: number, from: number, to: number) => {
  const n = Number(prefix.slice(0, length));
  return prefix.length >= length && n >= from && n <= to;
};

/**
 * The brand from the issuer identification number (the leading digits), after the published
 * ranges of the networks. Ranges are checked from the most specific to the broadest.
 */
export function cardBrand(digits: string): CardBrand {
  if (/^3[47]/.test(digits)) return 'amex';
  if (/^3(0[0-5]|095|[689])/.test(digits)) return 'diners';
  if (inRange(digits, 4, 3528, 3589)) return 'jcb';
  if (/^(6011|64[4-9]|65)/.test(digits) || inRange(digits, 6, 622126, 622925)) return 'discover';
  if (/^62/.test(digits)) return 'unionpay';
  if (inRange(digits, 2, 51, 55) || inRange(digits, 4, 2221, 2720)) return 'mastercard';
  if (/^(50|5[6-9]|6)/.test(digits)) return 'maestro';
  if (/^4/.test(digits)) return 'visa';
  return 'other';
}

/** How many digits a number of this brand has (Maestro and the rest vary: 12–19). */
export function brandLengths(brand: CardBrand): number[] {
  switch (brand) {
    case 'amex':
      return [15];
    case 'visa':
      return [13, 16, 19];
    case 'mastercard':
      return [16];
    case 'discover':
    case 'jcb':
    case 'unionpay':
      return [16, 17, 18, 19];
    case 'diners':
      return [14, 15, 16, 17, 18, 19];
    default:
      return [13, 14, 15, 16, 17, 18, 19];
  }
}

/**
 * The opaque reference kept instead of the number. It stands for the payment vault's reference
 * to the card until a payment gateway is wired in; the gateway's token will take its place.
 */
export function newCardToken(): string {
  return `card_${randomBytes(24).toString('base64url')}`;
}

/** Whether a card valid through the end of month/year has expired by `now` (UTC). */
export function cardExpired(expMonth: number, expYear: number, now = new Date()): boolean {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth() + 1;
  return expYear < year || (expYear === year && expMonth < month);
}

/** "MM/YYYY" for people and the timeline. */
export function cardExpiry(expMonth: number, expYear: number): string {
  return `${String(expMonth).padStart(2, '0')}/${expYear}`;
}
