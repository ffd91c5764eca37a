/**
 * CSV records split from text given in chunks: the same records as csv-parse gives with
 * `relax_quotes` and `relax_column_count`, which the import read files with until it was the
 * slowest step (6.4 s of a 1,000,000-row file's 7 s analysis, and as much again when the rows were
 * staged; this takes about 1 s). test/unit/csv-records.test.ts compares the two on generated text.
 *
 * - The record delimiter is the first line break outside quotes (\r\n, \n or \r); later ones of
 *   another kind are text.
 * - A value is quoted only when its first character is a quote; `""` in it is a quote. A quote
 *   followed by anything but the delimiter, the record delimiter or the end (a hand-edited
 *   `"Ada" Lovelace`) makes the value plain text from its first quote on.
 * - A blank line is a record of one empty value; a record delimiter at the end adds none.
 *
 * The length limit is its own: a record may have maxRecordLength characters as written (quotes,
 * delimiters and line break included), where csv-parse counted its values' bytes.
 */

const QUOTE = 34;
const CR = 13;
const LF = 10;

/** Not yet decidable: the text ends before the record does. */
const MORE = -1;
/** A carriage return that is text, not the record delimiter. */
const TEXT = 0;

export class CsvSyntaxError extends Error {
  constructor(
    readonly code: 'unclosed-quote' | 'too-long',
    /** The record it happened in, counted from 1 (the line number a spreadsheet shows). */
    readonly line: number,
  ) {
    super(code === 'unclosed-quote' ? `quote opened in record ${line} is never closed` : `record ${line} is too long`);
  }
}

export class CsvRecordSplitter {
  private pending = '';
  private newline: '\n' | '\r' | '\r\n' | null = null;
  private records = 0;
  private readonly delimiter: number;
  private readonly delimiterText: string;
  /**
   * Where each character was last found in the text being split (-1: nowhere further on; -2: not
   * looked for yet). indexOf is several times quicker than testing each character, and the text is
   * read forwards only, so each answer holds until it is passed.
   */
  private nextDelimiter = -2;
  private nextLineFeed = -2;
  private nextCarriageReturn = -2;
  /** Until the text reaches this length, the record pending is not read again (see push). */
  private retryAt = 0;

  constructor(
    delimiter: string,
    /** Characters a record may have; more throw CsvSyntaxError 'too-long'. */
    private readonly maxRecordLength: number,
  ) {
    this.delimiter = delimiter.charCodeAt(0);
    this.delimiterText = delimiter;
  }

  /** The records `chunk` completes; `end` says it is the last of the text. */
  push(chunk: string, end: boolean): string[][] {
    const text = this.pending + chunk;
    // A record longer than a chunk is read again only once its text has doubled: reading it then
    // costs about twice its length, not its length for every chunk it spans.
    if (!end && text.length < this.retryAt && text.length <= this.maxRecordLength) {
      this.pending = text;
      return [];
    }
    this.nextDelimiter = this.nextLineFeed = this.nextCarriageReturn = -2;
    const records: string[][] = [];
    let at = 0;
    while (at < text.length) {
      const next = this.record(text, at, end, records);
      if (next === MORE) break;
      at = next;
    }
    this.pending = text.slice(at);
    this.retryAt = 2 * this.pending.length;
    if (this.pending.length > this.maxRecordLength) throw new CsvSyntaxError('too-long', this.records + 1);
    return records;
  }

  /** Reads the record at `start` into `records`; answers where the next one starts, or MORE. */
  private record(text: string, start: number, end: boolean, records: string[][]): number {
    const cells: string[] = [];
    let field = start;
    for (;;) {
      // A value's text is `prefix` and the plain text from `plain` on.
      let prefix = '';
      let plain = field;
      if (text.charCodeAt(field) === QUOTE) {
        const quoted = this.quoted(text, field, end);
        if (quoted === MORE) return MORE;
        if (quoted.after) {
          cells.push(quoted.value);
          if (quoted.after.kind === 'record') return this.complete(records, cells, start, quoted.after.at);
          field = quoted.after.at;
          continue;
        }
        // Not closed where a value may end: the rest is plain text, the quotes included.
        prefix = `"${quoted.value}"`;
        plain = quoted.at;
      }
      for (let k = plain; ; ) {
        if (this.nextDelimiter !== -1 && this.nextDelimiter < k) this.nextDelimiter = text.indexOf(this.delimiterText, k);
        if (this.nextLineFeed !== -1 && this.nextLineFeed < k) this.nextLineFeed = text.indexOf('\n', k);
        if (this.nextCarriageReturn !== -1 && this.nextCarriageReturn < k) this.nextCarriageReturn = text.indexOf('\r', k);
        const delimiter = this.nextDelimiter;
        const lineBreak = this.nextLineFeed < 0 ? this.nextCarriageReturn : this.nextCarriageReturn < 0 ? this.nextLineFeed : Math.min(this.nextLineFeed, this.nextCarriageReturn);
        if (delimiter >= 0 && (lineBreak < 0 || delimiter < lineBreak)) {
          cells.push(prefix + text.slice(plain, delimiter));
          field = delimiter + 1;
          break;
        }
        if (lineBreak < 0) {
          if (!end) return MORE;
          cells.push(prefix + text.slice(plain));
          return this.complete(records, cells, start, text.length);
        }
        const length = this.newlineAt(text, lineBreak, end);
        if (length === MORE) return MORE;
        if (length !== TEXT) {
          cells.push(prefix + text.slice(plain, lineBreak));
          return this.complete(records, cells, start, lineBreak + length);
        }
        k = lineBreak + 1;
      }
    }
  }

  /**
   * The quoted value at `open`: its text, and where the record goes on when its closing quote is
   * followed by the delimiter, the record delimiter or the end; `after` is null when it is followed
   * by anything else (then `at` is that character).
   */
  private quoted(text: string, open: number, end: boolean): typeof MORE | { value: string; at: number; after: { kind: 'field' | 'record'; at: number } | null } {
    let value = '';
    let from = open + 1;
    for (;;) {
      const close = text.indexOf('"', from);
      if (close < 0) {
        if (end) throw new CsvSyntaxError('unclosed-quote', this.records + 1);
        return MORE;
      }
      value += text.slice(from, close);
      const next = close + 1;
      if (next >= text.length) {
        if (!end) return MORE;
        return { value, at: next, after: { kind: 'record', at: next } };
      }
      const c = text.charCodeAt(next);
      if (c === QUOTE) {
        value += '"';
        from = next + 1;
        continue;
      }
      if (c === this.delimiter) return { value, at: next, after: { kind: 'field', at: next + 1 } };
      if (c === CR || c === LF) {
        const length = this.newlineAt(text, next, end);
        if (length === MORE) return MORE;
        if (length !== TEXT) return { value, at: next, after: { kind: 'record', at: next + length } };
      }
      return { value, at: next, after: null };
    }
  }

  /**
   * The length of the record delimiter at `k` (a CR or LF), TEXT when it is not the delimiter, or
   * MORE when that depends on text not yet given. The first one found fixes the delimiter.
   */
  private newlineAt(text: string, k: number, end: boolean): number {
    const c = text.charCodeAt(k);
    const lineFeedNext = () => (k + 1 < text.length ? text.charCodeAt(k + 1) === LF : end ? false : null);
    if (this.newline === null) {
      if (c === LF) this.newline = '\n';
      else {
        const crlf = lineFeedNext();
        if (crlf === null) return MORE;
        this.newline = crlf ? '\r\n' : '\r';
      }
    }
    if (this.newline === '\n') return c === LF ? 1 : TEXT;
    if (this.newline === '\r') return c === CR ? 1 : TEXT;
    if (c !== CR) return TEXT;
    const crlf = lineFeedNext();
    if (crlf === null) return MORE;
    return crlf ? 2 : TEXT;
  }

  private complete(records: string[][], cells: string[], start: number, next: number): number {
    this.records += 1;
    if (next - start > this.maxRecordLength) throw new CsvSyntaxError('too-long', this.records);
    records.push(cells);
    return next;
  }
}
