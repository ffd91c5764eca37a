/** Items as a sentence lists them: "EUR", "EUR and GBP", "CHF, EUR and GBP". */
export function andList(items: readonly string[]): string {
  return items.length > 1 ? `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}` : (items[0] ?? '');
}
