import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../../context.js';
import { BadRequestError, ForbiddenError, NotFoundError, ValidationError, type FieldErrors } from '../../lib/errors.js';
import { enqueueImportAnalysis, enqueueImportRun } from '../../queues/import.queue.js';
import { importUploadSchema, parseImportRunForm } from '../../schemas/import.schema.js';
import { parseForm } from '../../schemas/form.js';
import { IMPORT_FIELDS, IMPORT_FIELD_GROUPS, fieldLabel, notImportedHint, type Mapping } from '../../services/imports/import-fields.js';
import { ImportFileError, sniffImportFile } from '../../services/imports/import-file.js';
import {
  BUSY_STATUSES,
  createImport,
  getImport,
  listRecentImports,
  markImportFailed,
  mayImportCustomers,
  rejectedRowsCsv,
  startImportRun,
  type CustomerImport,
} from '../../services/imports/import.service.js';
import { recordAudit } from '../../services/audit.service.js';
import { redirect } from '../login-handler.js';
import { csrfTokenMatches } from '../middleware/csrf.js';
import { receiveMultipart } from '../middleware/multipart-upload.js';
import { render } from '../render.js';

const BASE = '/admin/customers/import';

/** The choices of each column's select, grouped as on the page. */
const FIELD_GROUPS = IMPORT_FIELD_GROUPS.map((group) => ({
  group,
  // Address and limit fields say so in their own text too: a closed select does not show its group.
  fields: IMPORT_FIELDS.filter((field) => field.group === group).map((field) => ({ key: field.key, label: fieldLabel(field.key) })),
}));

function importIdOf(req: Request): number {
  const id = Number(req.params.importId);
  if (!Number.isSafeInteger(id) || id <= 0) throw new NotFoundError('We could not find that import.');
  return id;
}

/** Customer import (F-LIST-6): upload → analysis (worker) → preview and mapping → dry run / import (worker) → report. */
export function importRouter(ctx: AppContext): Router {
  const router = Router();
  const maxMb = Math.round(ctx.config.importMaxBytes / (1024 * 1024));

  router.use((req, _res, next) => {
    if (!mayImportCustomers(req.staff!)) return next(new ForbiddenError('Only owners and managers may import customers.'));
    next();
  });

  async function renderUpload(req: Request, res: Response, extra: { errors?: FieldErrors; values?: { shop?: string; tag?: string }; status?: number } = {}) {
    const staff = req.staff!;
    const recent = await listRecentImports(ctx.knex, staff);
    render(req, res, 'pages/admin/import-upload', { shops: staff.shops, recent, maxMb, errors: extra.errors ?? {}, values: extra.values ?? {} }, { status: extra.status });
  }

  router.get('/', async (req, res) => {
    await renderUpload(req, res);
  });

  router.post('/', async (req, res) => {
    const staff = req.staff!;
    if (!req.is('multipart/form-data')) throw new BadRequestError('Send the file with the upload form.');
    const shops = staff.shops;
    let input: { shop: number; tag: string | null } | undefined;
    // Runs before a byte of the file is stored: the token (for a form without JavaScript it is the
    // first field of the body, see csrf.ts), the fields, and that the shop is one of the staff member's.
    const check = (fields: Record<string, string>) => {
      if (res.locals.csrfCheckedByRoute && !csrfTokenMatches(req, fields._csrf)) throw new ForbiddenError('Your form has expired. Please reload the page and try again.');
      input = parseForm(importUploadSchema, fields);
      if (!shops.some((shop) => shop.id === input!.shop)) throw new NotFoundError('We could not find that shop.');
    };
    const upload = await receiveMultipart(req, { files: ctx.files, maxBytes: ctx.config.importMaxBytes, fileField: 'file', accept: check });
    const values = { shop: upload.fields.shop, tag: upload.fields.tag };
    // Whatever was stored is removed before answering, unless an import now owns it.
    const discard = async () => {
      if (upload.file) await ctx.files.remove(upload.file.key);
    };
    let importId: number | undefined;
    try {
      if (upload.refused) throw upload.refused;
      if (!upload.file) {
        check(upload.fields);
        throw new ValidationError({ file: 'Choose a CSV or Excel file to import.' });
      }
      const file = upload.file;
      if (file.truncated) {
        await discard();
        return await renderUpload(req, res, { errors: { file: `The file is larger than ${maxMb} MB. Split it into smaller files.` }, values, status: 413 });
      }
      if (file.bytes === 0) throw new ValidationError({ file: file.originalName ? 'The file is empty.' : 'Choose a CSV or Excel file to import.' });
      let format;
      try {
        format = (await sniffImportFile(ctx.files, file.key)).format;
      } catch (error) {
        if (error instanceof ImportFileError) throw new ValidationError({ file: error.message });
        throw error;
      }
      importId = await createImport(ctx.knex, { staffId: staff.id, shopId: input!.shop, originalName: file.originalName, storageKey: file.key, byteSize: file.bytes, format, tag: input!.tag });
    } catch (error) {
      await discard();
      if (!(error instanceof ValidationError)) throw error;
      return await renderUpload(req, res, { errors: error.fields, values, status: 422 });
    }
    try {
      await enqueueImportAnalysis(ctx.queues.imports, importId);
    } catch (error) {
      req.log.warn({ err: (error as Error).message, importId }, 'could not enqueue the import analysis');
      await discard();
      await markImportFailed(ctx.knex, importId, 'The file could not be handed to a worker just now. Upload it again in a moment.');
    }
    redirect(req, res, `${BASE}/${importId}`);
  });

  async function renderImport(req: Request, res: Response, record: CustomerImport, extra: { errors?: FieldErrors; mapping?: Mapping; tag?: string | null; status?: number } = {}) {
    const shop = req.staff!.shops.find((s) => s.id === record.shopId);
    render(
      req,
      res,
      'pages/admin/import',
      {
        record,
        shop,
        busy: BUSY_STATUSES.includes(record.status),
        fieldGroups: FIELD_GROUPS,
        columns: record.header.map((name, i) => ({
          index: i,
          name,
          examples: record.sampleRows.map((row) => row[i] ?? '').filter((cell) => cell !== ''),
          field: (extra.mapping ?? record.mapping)[i] ?? null,
          hint: notImportedHint(name),
        })),
        mappedLabels: (extra.mapping ?? record.mapping).map((key) => (key ? fieldLabel(key) : null)),
        tag: extra.tag !== undefined ? extra.tag : (record.options?.tag ?? ''),
        errors: extra.errors ?? {},
      },
      { fragment: 'partials/admin/import-view', status: extra.status },
    );
  }

  router.get('/:importId', async (req, res) => {
    const record = await getImport(ctx.knex, req.staff!, importIdOf(req));
    await renderImport(req, res, record);
  });

  router.post('/:importId/run', async (req, res) => {
    const staff = req.staff!;
    const record = await getImport(ctx.knex, staff, importIdOf(req));
    let form: ReturnType<typeof parseImportRunForm> | undefined;
    try {
      form = parseImportRunForm(req.body, record.header.length);
      const run = await startImportRun(ctx.knex, staff, record.id, form);
      try {
        await enqueueImportRun(ctx.queues.imports, record.id, form.mode, run);
      } catch (error) {
        req.log.warn({ err: (error as Error).message, importId: record.id }, 'could not enqueue the import run');
        await markImportFailed(ctx.knex, record.id, 'The run could not be handed to a worker just now. Start it again in a moment.');
      }
      if (form.mode === 'import') {
        await recordAudit(ctx.knex, { actorType: 'staff', actorId: staff.id, shopId: record.shopId, customerId: null, action: 'customers.import_started', changes: { importId: record.id }, requestId: String(req.id) });
      }
      redirect(req, res, `${BASE}/${record.id}`);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      await renderImport(req, res, record, { errors: error.fields, mapping: form?.mapping ?? mappingFromBody(req.body, record.header.length), tag: form?.tag ?? null, status: 422 });
    }
  });

  router.get('/:importId/rejected.csv', async (req, res) => {
    const record = await getImport(ctx.knex, req.staff!, importIdOf(req));
    if (!record.resultOf) throw new NotFoundError('This import has no report yet.');
    res.set({
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="import-${record.id}-rejected-rows.csv"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    await pipeline(Readable.from(rejectedRowsCsv(ctx.knex, record.id)), stringify({ header: true, columns: ['line', 'email', 'reason'], bom: true }), res);
  });

  return router;
}

/** The mapping as posted, for re-showing a refused form (unknown values count as "not imported"). */
function mappingFromBody(body: unknown, columns: number): Mapping {
  const input = (body ?? {}) as Record<string, unknown>;
  const keys = new Set<string>(IMPORT_FIELDS.map((field) => field.key));
  return Array.from({ length: columns }, (_, i) => {
    const value = input[`col_${i}`];
    return typeof value === 'string' && keys.has(value) ? (value as Mapping[number]) : null;
  });
}
