import { Readable } from 'node:stream';
import { analyseImport } from '../../app/services/imports/import-analysis.service.js';
import { createImport, startImportRun, type CustomerImport } from '../../app/services/imports/import.service.js';
import { loadStaffPrincipal } from '../../app/services/staff.service.js';
import { makeShop, makeStaff } from './factories.js';
import type { TestApp } from './test-app.js';

/**
 * An import of the CSV `file` into a new shop by a new owner, analysed and started with its proposed
 * mapping as the web side starts one; running it (runImport) is left to the test, as the imports
 * worker would run it.
 */
export async function startedImport(t: TestApp, file: Buffer, shopCode: string): Promise<{ importId: number; shopId: number }> {
  const knex = t.ctx.knex;
  const shopId = (await makeShop(knex, { code: shopCode })).id;
  const staff = (await loadStaffPrincipal(knex, (await makeStaff(knex, { role: 'owner' })).id))!;
  const stored = await t.ctx.files.receive(Readable.from([file]));
  const importId = await createImport(knex, { staffId: staff.id, shopId, originalName: `${shopCode}.csv`, storageKey: stored.key, byteSize: stored.bytes, format: 'csv', tag: null });
  await analyseImport(t.ctx, importId);
  const analysed = (await knex('customerImports').where({ id: importId }).first()) as CustomerImport;
  if (analysed.status !== 'ready') throw new Error(`the import was not analysed: ${analysed.status}`);
  await startImportRun(knex, staff, importId, { mapping: analysed.mapping, tag: null, mode: 'import' });
  return { importId, shopId };
}
