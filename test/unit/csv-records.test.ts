import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { CsvRecordSplitter, CsvSyntaxError } from '../../app/services/imports/csv-records.js';
import { readImportRows } from '../../app/services/imports/import-file.js';
import type { FileStorage } from '../../app/storage/file-storage.js';

/** The records of `text` given in chunks of `size` characters, or the error's code and line. */
function split(text: string, size = text.length || 1, delimiter = ',', maxRecordLength = 1_000_000): string[][] | string {
  const splitter = new CsvRecordSplitter(delimiter, maxRecordLength);
  const records: string[][] = [];
  try {
    for (let at = 0; at < text.length; at += size) records.push(...splitter.push(text.slice(at, at + size), false));
    records.push(...splitter.push('', true));
    return records;
  } catch (error) {
    if (error instanceof CsvSyntaxError) return `${error.code} at ${error.line}`;
    throw error;
  }
}

/** What the import read files with before: csv-parse with the same relaxations. */
function csvParse(text: string, delimiter: string): string[][] | string {
  try {
    return parse(text, { delimiter, relax_column_count: true, relax_quotes: true, skip_empty_lines: false }) as string[][];
  } catch (error) {
    return (error as { code?: string }).code === 'CSV_QUOTE_NOT_CLOSED' ? 'unclosed-quote' : `csv-parse: ${(error as Error).message}`;
  }
}

describe('CSV records', () => {
  it('reads quoted values with delimiters, line breaks and doubled quotes, and ragged rows', () => {
    expect(split('Email,Name\n"a@example.com","Lovelace, Ada"\n"b@example.com","Line one\r\nline two","say ""hi"""\nc@example.com\n')).toEqual([
      ['Email', 'Name'],
      ['a@example.com', 'Lovelace, Ada'],
      ['b@example.com', 'Line one\r\nline two', 'say "hi"'],
      ['c@example.com'],
    ]);
  });

  it('keeps a quote after a quoted value, as a hand-edited file has it, as part of the value', () => {
    expect(split('"Ada" Lovelace,x\n"a,b" c,d\nab"c,"",\n')).toEqual([
      ['"Ada" Lovelace', 'x'],
      ['"a,b" c', 'd'],
      ['ab"c', '', ''],
    ]);
  });

  it('takes the first line break as the record delimiter, keeps blank lines as records and adds none for a final one', () => {
    expect(split('a;b\r\n\r\nc;d\ne\r\n', undefined, ';')).toEqual([['a', 'b'], [''], ['c', 'd\ne']]);
    expect(split('a\rb\rc')).toEqual([['a'], ['b'], ['c']]);
    expect(split('')).toEqual([]);
  });

  it('gives the same records whichever way the text is cut, even inside a \\r\\n', () => {
    const text = 'x,y\r\n"1\r\n2",3\r\n"4""5"\r\n';
    for (const size of [1, 2, 3, 5, 8]) expect(split(text, size)).toEqual([['x', 'y'], ['1\r\n2', '3'], ['4"5']]);
  });

  it('says in which record a quote is never closed, and stops a record that outgrows the limit', () => {
    expect(split('Email,First Name\nok@example.com,Okay\nopen@example.com,"Never closed\nnext@example.com,Next\n')).toBe('unclosed-quote at 3');
    expect(split(`a\n"${'x'.repeat(200)}`, 16, ',', 100)).toBe('too-long at 2');
    expect(split(`a\n${'x'.repeat(200)}\n`, 1_000, ',', 100)).toBe('too-long at 2');
  });

  it('splits generated text as csv-parse does, cut into chunks of several sizes', () => {
    // A fixed seed: the same texts on every run.
    let seed = 20_261_124;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff) / 0x7fffffff;
    const differences: Array<{ text: string; delimiter: string; size: number; got: unknown; expected: unknown }> = [];
    let compared = 0;
    for (const [delimiter, texts] of [[',', 15_000], [';', 2_500], ['\t', 2_500]] as const) {
      const parts = ['a', 'b', ',', ';', '\t', '"', '""', '\n', '\r', '\r\n', ' ', 'é', '😀'];
      for (let n = 0; n < texts; n++) {
        let text = '';
        for (let length = Math.floor(random() * 30); length > 0; length--) text += parts[Math.floor(random() * parts.length)];
        const expected = csvParse(text, delimiter);
        for (const size of [1, 2, 7, 1_000]) {
          const records = split(text, size, delimiter);
          // csv-parse counts the line of an unclosed quote differently (see the test above).
          const got = typeof records === 'string' ? records.replace(/ at \d+$/, '') : records;
          if (JSON.stringify(got) !== JSON.stringify(expected)) differences.push({ text, delimiter, size, got, expected });
          compared += 1;
        }
      }
    }
    expect(differences.slice(0, 5)).toEqual([]);
    expect(compared).toBe(80_000);
  });
});

describe('reading an import file that is not valid CSV', () => {
  /** The message the import shows for `text`, given in chunks of 64 KiB as a file is read. */
  async function problemOf(text: string): Promise<string> {
    const bytes = Buffer.from(text);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 65_536) }, (_, i) => bytes.subarray(i * 65_536, (i + 1) * 65_536));
    const files = { open: () => Readable.from(chunks) } as unknown as FileStorage;
    try {
      for await (const row of readImportRows(files, 'import.csv', { format: 'csv', delimiter: ',' })) void row;
    } catch (error) {
      return (error as Error).message;
    }
    return 'read';
  }

  it('names the line and the problem', async () => {
    expect(await problemOf('Email\na@example.com\n"b@example.com\n')).toBe(
      'The CSV file could not be read near line 3: a quoted value is never closed. Check the file in a spreadsheet program and save it again as CSV UTF-8.',
    );
    expect(await problemOf(`Email,Note\na@example.com,"${'x'.repeat(1_200_000)}`)).toBe(
      'The CSV file could not be read near line 2: a row has more than 1,000,000 characters. Check the file in a spreadsheet program and save it again as CSV UTF-8.',
    );
    expect(await problemOf(`\uFEFFEmail\n"a@example.com"\n`)).toBe('read');
  });
});
