/** Formats integer minor units (cents) for people, in the shop's currency and locale. */
export function formatMoney(minorUnits: number, currency: string, locale = 'en-GB'): string {
  return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(minorUnits / 100);
}
