import type { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { Knex } from 'knex';
import yazl from 'yazl';
import { recordAudit } from '../audit.service.js';
import { customerAccess, staffActor } from '../customer-access.service.js';
import { neutraliseFormula } from '../customer-export.service.js';
import type { StaffPrincipal } from '../staff.service.js';
import { assertMayHandlePersonalData } from './gdpr-access.js';
import type { FileStorage } from '../../storage/file-storage.js';
import { GDPR_SECTIONS, type GdprRow, type GdprSection } from './gdpr-sections.js';

// F-CUST-9 export: everything held about one customer, as a zip of `customer.json` (every section)
// and one `<section>.csv` per section. Dates are ISO 8601 (UTC), money stays in integer minor
// units next to its currency, and CSV text cells are neutralised against formula injection the
// same way the customer list export does it.

export interface LoadedSection {
  name: string;
  columns: readonly string[];
  rows: GdprRow[];
  files?: GdprSection['files'];
}

/** Every section's rows, read in one snapshot so the files agree with each other. */
export async function collectCustomerData(knex: Knex, customerId: number): Promise<LoadedSection[]> {
  return knex.transaction(
    async (trx) => {
      const sections: LoadedSection[] = [];
      for (const section of GDPR_SECTIONS) sections.push({ name: section.name, columns: section.columns, rows: await section.load(trx, customerId), files: section.files });
      return sections;
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}

/** One CSV cell: text neutralised (the only thing a person typed), everything else as data. */
function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return neutraliseFormula(value);
  if (typeof value === 'object') return neutraliseFormula(JSON.stringify(value));
  return String(value);
}

export function sectionCsv(section: LoadedSection): string {
  const records = section.rows.map((row) => section.columns.map((column) => csvCell(row[column])));
  return stringify([[...section.columns], ...records], { bom: true });
}

export function exportJson(customerId: number, exportedAt: Date, sections: LoadedSection[]): string {
  const body = {
    customerId,
    exportedAt: exportedAt.toISOString(),
    format: 'Money amounts are integer minor units (cents) of the currency given with them; times are ISO 8601 in UTC.',
    sections: Object.fromEntries(sections.map((s) => [s.name, s.rows.map((row) => Object.fromEntries(s.columns.map((c) => [c, row[c] ?? null])))])),
  };
  return JSON.stringify(body, null, 2);
}

/** A stored file's name inside the zip: `<section>/<id>-<name>`, with nothing that could leave the folder. */
export function zipEntryName(section: string, id: unknown, name: unknown): string {
  const safe = String(name ?? '').normalize('NFC').replace(/[^\p{L}\p{N}._ -]/gu, '_').replace(/^[.\s]+/, '').slice(-120) || 'file';
  return `${section}/${String(id)}-${safe}`;
}

export interface CustomerExport {
  filename: string;
  /** The zip, produced while it is read. */
  stream: NodeJS.ReadableStream;
}

/**
 * Checks the staff member (scope: 404; role or shops outside their scope: 403), reads every
 * section, records "data exported" on the customer's timeline and returns the zip as a stream.
 */
export async function exportCustomerData(knex: Knex, files: FileStorage, staff: StaffPrincipal, customerId: number, requestId?: string): Promise<CustomerExport> {
  const access = await customerAccess(knex, staff, customerId);
  await assertMayHandlePersonalData(knex, access);
  const sections = await collectCustomerData(knex, customerId);
  const exportedAt = new Date();
  await recordAudit(knex, {
    ...staffActor(access, requestId),
    shopId: null,
    action: 'customer.data_exported',
    changes: { sections: Object.fromEntries(sections.map((s) => [s.name, s.rows.length])) },
  });

  const zip = new yazl.ZipFile();
  // A file that cannot be read fails the download (the stream errors) instead of hanging it.
  zip.on('error', (err: Error) => (zip.outputStream as Readable).destroy(err));
  const mtime = exportedAt;
  zip.addBuffer(Buffer.from(exportJson(customerId, exportedAt, sections)), 'customer.json', { mtime });
  for (const section of sections) zip.addBuffer(Buffer.from(sectionCsv(section)), `${section.name}.csv`, { mtime });
  // The stored files themselves (documents …), when the section has any and they are still there.
  for (const section of sections) {
    if (!section.files) continue;
    for (const row of section.rows) {
      // A file still waiting for its check (or rejected by it) is not handed out.
      if (section.files.exportable && !section.files.exportable(row)) continue;
      const key = row[section.files.keys[0]!];
      if (typeof key !== 'string' || !(await files.exists(key))) continue;
      zip.addReadStream(files.open(key), zipEntryName(section.name, row.id ?? row[section.columns[0]!], row[section.files.name]), { mtime });
    }
  }
  zip.end();
  return { filename: `customer-${customerId}-export-${exportedAt.toISOString().slice(0, 10)}.zip`, stream: zip.outputStream };
}
