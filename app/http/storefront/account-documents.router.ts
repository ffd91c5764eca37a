import { Router } from 'express';
import type { AppContext } from '../../context.js';
import { documentTypeLabel, DOCUMENT_NOT_FOUND, findVisibleDocument, formatBytes, listVisibleDocuments } from '../../services/customer-document.service.js';
import { numericParam } from '../admin/dashboard-actions.js';
import { downloadName, sendStoredFile } from '../document-download.js';
import { render } from '../render.js';

/**
 * My Account documents (F-ACC-4) on a shop host, for the logged-in customer: the ready documents
 * of this shop that the merchant marked visible, and their downloads. Any other id (another
 * customer's, another shop's, hidden, still being checked, rejected) is a 404.
 */
export function accountDocumentsRouter(ctx: AppContext): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const documents = await listVisibleDocuments(ctx.knex, req.shop!.id, req.customer!.id);
    render(req, res, 'pages/storefront/documents', {
      documents: documents.map((d) => ({ ...d, size: formatBytes(d.byteSize), typeLabel: documentTypeLabel(d.extension) })),
    });
  });

  router.get('/:documentId/download', async (req, res) => {
    const document = await findVisibleDocument(ctx.knex, req.shop!.id, req.customer!.id, numericParam(req.params.documentId, DOCUMENT_NOT_FOUND));
    await sendStoredFile(ctx, res, { key: document.storageKey, contentType: document.contentType, name: downloadName(document.originalName, document.extension) });
  });

  return router;
}
