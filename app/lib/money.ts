// Building an Intl formatter is costly (it dominated the list page's CPU time); keep one per style.
const formatters = new Map<string, Intl.NumberFormat>();

/** Formats integer minor units (cents) for people, in the shop's currency and locale. */
export function formatMoney(minorUnits: number, currency: string, locale = 'en-GB'): string {
  const key = `${locale}|${currency}`;
  let formatter = formatters.get(key);
  if (!formatter) {
    formatter = new Intl.NumberFormat(locale, { style: 'currency', currency });
    formatters.set(key, formatter);
  }
  return formatter.format(minorUnits / 100);
}

// "12", "12.5", "12.50", "-3,99", "+7": a sign, up to 9 whole units and at most 2 decimals
// (a comma is accepted as the decimal mark). Thousands separators are refused, not guessed.
const AMOUNT = /^([+-])?(\d{1,9})(?:[.,](\d{1,2}))?$/;

/** Parses an amount typed by a person into integer minor units, without floating point; null when it is not one. */
export function parseMoney(input: string): number | null {
  const match = AMOUNT.exec(input.replace(/\s+/g, ''));
  if (!match) return null;
  const minor = Number(match[2]) * 100 + Number((match[3] ?? '').padEnd(2, '0'));
  return match[1] === '-' && minor !== 0 ? -minor : minor;
}

/** Minor units as a form field shows them: 1250 → "12.50", -5 → "-0.05". */
export function formatAmountInput(minorUnits: number): string {
  const sign = minorUnits < 0 ? '-' : '';
  const abs = Math.abs(minorUnits);
  return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
