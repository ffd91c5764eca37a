import { describe, expect, it } from 'vitest';
import { createViewEngine, escapeHtml } from '../../app/http/views.js';

const isLatin1 = (text: string) => [...text].every((character) => character.codePointAt(0)! <= 0xff);

describe('escaping in views', () => {
  it('escapes markup as Eta does and writes symbols as character references', () => {
    expect(escapeHtml(`<b>Tom & Jerry's "shop"</b>`)).toBe('&lt;b&gt;Tom &amp; Jerry&#39;s &quot;shop&quot;&lt;/b&gt;');
    expect(escapeHtml('€12.50 – “Gold” …')).toBe('&#8364;12.50 &#8211; &#8220;Gold&#8221; &#8230;');
    // One reference for a character outside the BMP, not one per UTF-16 half.
    expect(escapeHtml('Thanks 🙂')).toBe('Thanks &#128578;');
    // An emoji's variation selector is a mark, but no letter's: it goes too, or the page would not be Latin-1.
    expect(escapeHtml('Love ❤️')).toBe('Love &#10084;&#65039;');
    expect(escapeHtml(null)).toBe('null');
    expect(escapeHtml(42)).toBe('42');
  });

  it('leaves letters of every script as they are, with their combining marks', () => {
    for (const name of ['Łukasz Wąsowski', 'Đorđe Petrović', 'Müller-Lüdenscheidt', 'Ἀθηνᾶ', 'Дмитрий', '山田 太郎', 'e\u0301clair']) expect(escapeHtml(name)).toBe(name);
  });

  it('writes symbols in the templates’ text as references, prints code once escaped, and keeps a Latin-1 page one byte a character', () => {
    const views = createViewEngine(false);
    const html = views.renderString(`<p>Name ↕ <%= it.price %> … <%= '—' %></p><%/* a comment’s symbol */%>`, { price: '€5' });
    expect(html).toBe('<p>Name &#8597; &#8364;5 &#8230; &#8212;</p>');
    expect(isLatin1(html)).toBe(true);
  });
});
