/** Small helpers for asserting on rendered HTML the way a reader sees it. */

const MARKUP: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** What the views' escaping turns `text` into (written apart from it, so that tests can catch it out). */
export function escapeHtml(text: string): string {
  return [...text]
    .map((ch) => MARKUP[ch] ?? (ch.codePointAt(0)! > 0xff && (!/[\p{L}\p{M}]/u.test(ch) || /\p{Variation_Selector}/u.test(ch)) ? `&#${ch.codePointAt(0)};` : ch))
    .join('');
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', nbsp: ' ' };

/** Decodes the entities and character references the views' escaping produces. */
export function decodeEntities(text: string): string {
  return text.replace(/&(?:#x([0-9a-f]+)|#(\d+)|(amp|lt|gt|quot|nbsp));/gi, (_m, hex?: string, decimal?: string, name?: string) =>
    hex ? String.fromCodePoint(parseInt(hex, 16)) : decimal ? String.fromCodePoint(Number(decimal)) : NAMED[name!]!,
  );
}

/** The visible text of an HTML snippet: tags removed, entities decoded, whitespace collapsed. */
export function textOf(html: string): string {
  return decodeEntities(html.replace(/<[^>]*>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
}

/** The rows of the first table body in `html`, each as the visible text of its cells. */
export function tableRows(html: string): string[][] {
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? '';
  // The selection checkbox cell (class "pick") holds no text of the row: leave it out.
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1]!.matchAll(/<td([^>]*)>([\s\S]*?)<\/td>/g)].filter((cell) => !/class="pick"/.test(cell[1]!)).map((cell) => textOf(cell[2]!)),
  );
}

/** The href of the first link with this rel, decoded (`&amp;` → `&`), or null. */
export function linkWithRel(html: string, rel: string): string | null {
  const match = new RegExp(`<a[^>]*\\brel="${rel}"[^>]*\\bhref="([^"]*)"`).exec(html);
  return match ? decodeEntities(match[1]!) : null;
}

/** The message shown under a form field (`<p class="field-error" id="e-NAME">`), decoded, or null. */
export function fieldError(html: string, name: string): string | null {
  const match = new RegExp(`<p class="field-error" id="e-${name}">([\\s\\S]*?)</p>`).exec(html);
  return match ? textOf(match[1]!) : null;
}

/** The value attribute of the input named `name`, decoded, or null when there is no such input. */
export function inputValue(html: string, name: string): string | null {
  const match = new RegExp(`<input[^>]*\\bname="${name}"[^>]*>`).exec(html);
  if (!match) return null;
  const value = /\bvalue="([^"]*)"/.exec(match[0]);
  return value ? decodeEntities(value[1]!) : '';
}
