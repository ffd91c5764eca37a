import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../../context.js';
import { displayFileName } from '../../lib/document-file-name.js';
import { BadRequestError, ForbiddenError, NotFoundError, ValidationError, type FieldErrors } from '../../lib/errors.js';
import { enqueueDocumentCheck } from '../../queues/upload.queue.js';
import { documentUploadSchema, documentVisibilitySchema, type DocumentUploadInput } from '../../schemas/customer-document.schema.js';
import { parseForm } from '../../schemas/form.js';
import { scopedShop, type CustomerAccess } from '../../services/customer-access.service.js';
import { loadWidget } from '../../services/customer-dashboard.service.js';
import {
  createDocument,
  deleteDocument,
  DOCUMENT_NOT_FOUND,
  findDocument,
  mayManageDocuments,
  registerDocumentsWidget,
  setDocumentVisibility,
  type CustomerDocument,
} from '../../services/customer-document.service.js';
import { downloadName, sendStoredFile } from '../document-download.js';
import { csrfTokenMatches } from '../middleware/csrf.js';
import { receiveMultipart } from '../middleware/multipart-upload.js';
import { render, wantsFragment } from '../render.js';
import { dashboardActions, MODALS, numericParam } from './dashboard-actions.js';

// Customer documents (F-DASH-8, F-FILE) under /admin/customers/:customerId/documents: upload
// (streamed into quarantine with a size limit, then checked by the `uploads` job), download and
// thumbnail (ready documents only, as attachments with the sniffed type), visibility, delete.
// The widget (views/partials/admin/dashboard/documents.eta) polls itself while a check is running.

const EXPIRED = 'Your form has expired. Please reload the page and try again.';

export function customerDocumentsRouter(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });
  const { accessFor, baseOf, requestId, saved, show } = dashboardActions(ctx);
  const maxBytes = ctx.config.documentMaxBytes;
  const maxMb = Math.round(maxBytes / (1024 * 1024));
  registerDocumentsWidget(maxBytes);

  const documentOf = async (req: Request, access: CustomerAccess) => findDocument(ctx.knex, access, numericParam(req.params.documentId, DOCUMENT_NOT_FOUND));
  const requireManager = (access: CustomerAccess) => {
    if (!mayManageDocuments(access.staff)) throw new ForbiddenError('Support staff may view and download documents, but not upload, change or delete them.');
  };
  const uploadLocals = (access: CustomerAccess, values: Record<string, unknown>, errors: FieldErrors = {}, message?: string) => ({
    values,
    errors,
    message,
    maxMb,
    shops: access.shops.map((s) => ({ shopId: s.shopId, shopName: s.shopName })),
  });

  /** A refused upload: htmx gets the widget with the form's messages, a plain form the upload page. */
  async function refuseUpload(req: Request, res: Response, access: CustomerAccess, values: Record<string, unknown>, errors: FieldErrors, status: number) {
    const message = status === 413 ? errors.file : 'The document was not uploaded. Please correct the highlighted fields.';
    if (wantsFragment(req)) {
      const widget = await loadWidget(ctx.knex, access, 'documents');
      res.set({ 'HX-Retarget': '#w-documents', 'HX-Reswap': 'outerHTML' });
      return render(req, res, widget.template, { ...widget.locals, upload: uploadLocals(access, values, errors, message) }, { status });
    }
    return show(req, res, access, `${MODALS}/document-upload`, uploadLocals(access, values, errors, message), status);
  }

  // The widget's list alone: what it reloads every 2 s while a document is being checked.
  router.get('/list', async (req, res) => {
    const access = await accessFor(req);
    if (!wantsFragment(req)) return res.redirect(303, `${baseOf(req)}#w-documents`);
    const widget = await loadWidget(ctx.knex, access, 'documents');
    render(req, res, 'partials/admin/dashboard/document-list', widget.locals);
  });

  router.get('/upload', async (req, res) => {
    const access = await accessFor(req);
    requireManager(access);
    await show(req, res, access, `${MODALS}/document-upload`, uploadLocals(access, { shopId: access.shopIds[0] }));
  });

  router.post('/', async (req, res) => {
    const access = await accessFor(req);
    requireManager(access);
    if (!req.is('multipart/form-data')) throw new BadRequestError('Send the file with the upload form.');
    let input: DocumentUploadInput | undefined;
    // Runs before a byte of the file is stored: the token (first field of a form sent without
    // JavaScript, see csrf.ts), the fields, and that the shop is one of the customer's in scope.
    const check = (fields: Record<string, string>) => {
      if (res.locals.csrfCheckedByRoute && !csrfTokenMatches(req, fields._csrf)) throw new ForbiddenError(EXPIRED);
      input = parseForm(documentUploadSchema, fields);
      scopedShop(access, input.shopId);
    };
    const upload = await receiveMultipart(req, { files: ctx.files, maxBytes, fileField: 'file', accept: check });
    const values = { shopId: upload.fields.shopId, visible: upload.fields.visible === 'on' };
    let documentId: number;
    let name: string;
    try {
      if (upload.refused) throw upload.refused;
      if (!upload.file) {
        check(upload.fields);
        throw new ValidationError({ file: 'Choose a file to upload.' });
      }
      const file = upload.file;
      if (file.truncated) {
        await ctx.files.remove(file.key);
        return await refuseUpload(req, res, access, values, { file: `The file is larger than ${maxMb} MB, the largest document accepted. Nothing was stored.` }, 413);
      }
      if (file.bytes === 0) throw new ValidationError({ file: file.originalName ? 'The file is empty.' : 'Choose a file to upload.' });
      // Browsers send a quote in a file name as %22 (HTML's multipart encoding); busboy leaves it so.
      name = displayFileName(file.originalName.replace(/%22/g, '"'));
      documentId = await createDocument(ctx.knex, req.staff!, access.customerId, { shopId: input!.shopId, originalName: name, storageKey: file.key, byteSize: file.bytes, visibleToCustomer: input!.visible }, requestId(req));
    } catch (error) {
      if (upload.file) await ctx.files.remove(upload.file.key);
      if (!(error instanceof ValidationError)) throw error;
      return await refuseUpload(req, res, access, values, error.fields, 422);
    }
    try {
      await enqueueDocumentCheck(ctx.queues.uploads, documentId);
    } catch (error) {
      // The document stays pending; the workers' sweep hands it to the queue once it is back.
      req.log.warn({ err: (error as Error).message, documentId }, 'could not enqueue the document check; the sweep will');
    }
    await saved(req, res, access, { message: `“${name}” was uploaded and is being checked.`, widget: 'documents' });
  });

  router.get('/:documentId/download', async (req, res) => {
    const access = await accessFor(req);
    const document = await documentOf(req, access);
    if (document.status !== 'ready' || !document.storageKey) throw new NotFoundError(readyOnly(document));
    await sendStoredFile(ctx, res, { key: document.storageKey, contentType: document.contentType!, name: downloadName(document.originalName, document.extension) });
  });

  router.get('/:documentId/thumbnail', async (req, res) => {
    const access = await accessFor(req);
    const document = await documentOf(req, access);
    if (document.status !== 'ready' || !document.thumbnailKey) throw new NotFoundError('This document has no preview.');
    await sendStoredFile(ctx, res, { key: document.thumbnailKey, contentType: 'image/webp', name: null });
  });

  router.post('/:documentId/visibility', async (req, res) => {
    const access = await accessFor(req);
    requireManager(access);
    const document = await documentOf(req, access);
    const { visible } = parseForm(documentVisibilitySchema, req.body);
    const outcome = await setDocumentVisibility(ctx.knex, req.staff!, access.customerId, document.id, visible, requestId(req));
    const message = !outcome.changed
      ? `Nothing changed: “${document.originalName}” was already ${visible ? 'visible to' : 'hidden from'} the customer.`
      : visible
        ? `“${document.originalName}” is now visible to the customer${document.status === 'ready' ? '' : ' once it has been checked'}.`
        : `“${document.originalName}” is now hidden from the customer.`;
    await saved(req, res, access, { message, widget: 'documents' });
  });

  router.get('/:documentId/delete', async (req, res) => {
    const access = await accessFor(req);
    requireManager(access);
    await show(req, res, access, `${MODALS}/document-delete`, { document: await documentOf(req, access) });
  });

  router.post('/:documentId/delete', async (req, res) => {
    const access = await accessFor(req);
    requireManager(access);
    const document = await deleteDocument(ctx.knex, ctx.files, req.staff!, access.customerId, numericParam(req.params.documentId, DOCUMENT_NOT_FOUND), requestId(req));
    await saved(req, res, access, { message: `“${document.originalName}” was deleted.`, widget: 'documents', back: baseOf(req) });
  });

  return router;
}

function readyOnly(document: CustomerDocument): string {
  return document.status === 'pending' ? 'This document is still being checked. Try again in a moment.' : 'This document was rejected, so it cannot be downloaded.';
}
