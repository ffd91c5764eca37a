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
