import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { readXlsxRows, XLSX_READ_ATTEMPTS } from '../../app/services/imports/import-file.js';

/**
 * exceljs's streaming reader now and then loses a zip's last entry (exceljs#3064); a workbook
 * written by exceljs keeps its workbook part (xl/workbook.xml) last, and the read then fails before
 * its first row with "Cannot read properties of undefined (reading 'sheets')" (or, about 1 read in
 * 100, unzipper's FILE_ENDED). Here that loss is made certain: the file is cut before the local
 * header of its last entry.
 */
describe('reading a workbook whose last zip entry is lost', () => {
  async function workbookFile(): Promise<{ whole: Buffer; withoutLastEntry: Buffer }> {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Kunden');
    sheet.addRow(['E-Mail', 'Vorname']);
    sheet.addRow(['one@example.com', 'Xenia']);
    const whole = Buffer.from(await workbook.xlsx.writeBuffer());
    // A local file header: its signature, 26 bytes of fields, then the entry's name.
    const last = whole.lastIndexOf('PK\u0003\u0004', whole.indexOf('xl/workbook.xml'), 'latin1');
    expect(whole.subarray(last + 30, last + 45).toString('latin1')).toBe('xl/workbook.xml');
    return { whole, withoutLastEntry: whole.subarray(0, last) };
  }

  /** Reads the rows, each open of the file giving the next of `files` (the last one again and again). */
  function reader(files: Buffer[]) {
    const state = { opened: 0, rows: [] as string[][] };
    const read = async () => {
      for await (const row of readXlsxRows(() => Readable.from([files[Math.min(state.opened++, files.length - 1)]!]))) state.rows.push(row.cells);
    };
    return { state, read };
  }

  it('reads the file again, and gives every row once', async () => {
    const { whole, withoutLastEntry } = await workbookFile();
    const { state, read } = reader([withoutLastEntry, whole]);
    await read();
    expect(state).toEqual({ opened: 2, rows: [['E-Mail', 'Vorname'], ['one@example.com', 'Xenia']] });
  });

  it(`gives up after ${XLSX_READ_ATTEMPTS} reads`, async () => {
    const { withoutLastEntry } = await workbookFile();
    const { state, read } = reader([withoutLastEntry]);
    // Either way of losing it (see lostWorkbookPart), whichever the last read met.
    await expect(read()).rejects.toThrow(/Cannot read properties of undefined \(reading 'sheets'\)|^FILE_ENDED$/);
    expect(state).toEqual({ opened: XLSX_READ_ATTEMPTS, rows: [] });
  });
});
