import type { Knex } from 'knex';
import { ForbiddenError, NotFoundError } from '../lib/errors.js';
import type { FileStorage } from '../storage/file-storage.js';
import { recordAudit } from './audit.service.js';
import { customerAccess, scopedShop, staffActor, type CustomerAccess } from './customer-access.service.js';
import { registerWidget } from './dashboard-widgets.js';
import type { StaffPrincipal } from './staff.service.js';

// Customer documents (F-DASH-8, F-FILE, F-ACC-4). A document belongs to a customer in one shop:
// staff see the documents of the customer's shops in their scope, and the customer sees, on that
// shop's host, the ready ones marked visible. The upload lands in quarantine as `pending`; the
// `uploads` job (document-check.service.ts) decides `ready` or `rejected`. Who does what:
// every staff member who may see the customer may list and download; owners, managers and
// sales reps may upload, change visibility and delete; support only reads.

type Db = Knex | Knex.Transaction;

export type DocumentStatus = 'pending' | 'ready' | 'rejected';

export interface CustomerDocument {
  id: number;
  customerId: number;
  shopId: number;
  shopName: string;
  originalName: string;
  storageKey: string | null;
  thumbnailKey: string | null;
  byteSize: number;
  contentType: string | null;
  extension: string | null;
  status: DocumentStatus;
  reason: string | null;
  visibleToCustomer: boolean;
  uploadedByName: string;
  createdAt: Date;
  processedAt: Date | null;
}

export const DOCUMENT_NOT_FOUND = 'We could not find that document.';
const COLUMNS = [
  'd.id',
  'd.customerId',
  'd.shopId',
  'shops.name as shopName',
  'd.originalName',
  'd.storageKey',
  'd.thumbnailKey',
  'd.byteSize',
  'd.contentType',
  'd.extension',
  'd.status',
  'd.reason',
  'd.visibleToCustomer',
  'd.uploadedByName',
  'd.createdAt',
  'd.processedAt',
];

const withNumbers = (row: CustomerDocument): CustomerDocument => ({ ...row, id: Number(row.id), customerId: Number(row.customerId), shopId: Number(row.shopId), byteSize: Number(row.byteSize) });

/** Owners, managers and sales reps upload, change and delete documents; support staff only read them. */
export function mayManageDocuments(staff: Pick<StaffPrincipal, 'role'>): boolean {
  return staff.role === 'owner' || staff.role === 'manager' || staff.role === 'sales_rep';
}

function requireManager(staff: StaffPrincipal): void {
  if (!mayManageDocuments(staff)) throw new ForbiddenError('Support staff may view and download documents, but not upload, change or delete them.');
}

function documentsOf(db: Db, access: CustomerAccess) {
  return db('customerDocuments as d').join('shops', 'shops.id', 'd.shopId').where('d.customerId', access.customerId).whereIn('d.shopId', access.shopIds);
}

/** The customer's documents in the staff member's shops, newest first. */
export async function listDocuments(db: Db, access: CustomerAccess, options: { limit: number }): Promise<CustomerDocument[]> {
  const rows = (await documentsOf(db, access)
    .select(COLUMNS)
    .orderBy([{ column: 'd.createdAt', order: 'desc' }, { column: 'd.id', order: 'desc' }])
    .limit(options.limit)) as CustomerDocument[];
  return rows.map(withNumbers);
}

export async function countDocuments(db: Db, access: CustomerAccess): Promise<number> {
  const row = (await documentsOf(db, access).count({ n: '*' }).first()) as { n: string | number };
  return Number(row.n);
}

/** One document of the customer in the staff member's scope; anything else is a 404. */
export async function findDocument(db: Db, access: CustomerAccess, documentId: number, options: { lock?: boolean } = {}): Promise<CustomerDocument> {
  const query = documentsOf(db, access).where('d.id', documentId).first(COLUMNS);
  if (options.lock) query.forUpdate('d');
  const row = (await query) as CustomerDocument | undefined;
  if (!row) throw new NotFoundError(DOCUMENT_NOT_FOUND);
  return withNumbers(row);
}

export interface NewDocument {
  shopId: number;
  originalName: string;
  storageKey: string;
  byteSize: number;
  visibleToCustomer: boolean;
}

/** Records an upload (in quarantine, pending its check) with its timeline entry; answers its id. */
export async function createDocument(knex: Knex, staff: StaffPrincipal, customerId: number, input: NewDocument, requestId?: string): Promise<number> {
  requireManager(staff);
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId);
    const shop = scopedShop(access, input.shopId);
    const [row] = (await trx('customerDocuments')
      .insert({
        customerId,
        shopId: shop.shopId,
        originalName: input.originalName,
        storageKey: input.storageKey,
        byteSize: input.byteSize,
        visibleToCustomer: input.visibleToCustomer,
        uploadedByStaffId: staff.id,
        uploadedByName: staff.name || staff.email,
      })
      .returning('id')) as Array<{ id: number }>;
    const id = Number(row!.id);
    await recordAudit(trx, {
      ...staffActor(access, requestId),
      shopId: shop.shopId,
      action: 'document.uploaded',
      changes: { documentId: id, name: input.originalName, bytes: input.byteSize, visibleToCustomer: input.visibleToCustomer },
    });
    return id;
  });
}

/** Shows or hides a document on the customer's My Account; answers whether anything changed. */
export async function setDocumentVisibility(knex: Knex, staff: StaffPrincipal, customerId: number, documentId: number, visible: boolean, requestId?: string) {
  requireManager(staff);
  return knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId);
    const document = await findDocument(trx, access, documentId, { lock: true });
    if (document.visibleToCustomer === visible) return { changed: false, document };
    await trx('customerDocuments').where({ id: document.id }).update({ visibleToCustomer: visible, updatedAt: trx.fn.now() });
    await recordAudit(trx, {
      ...staffActor(access, requestId),
      shopId: document.shopId,
      action: 'document.visibility_changed',
      changes: { documentId: document.id, name: document.originalName, fields: { 'visible to customer': { from: document.visibleToCustomer, to: visible } } },
    });
    return { changed: true, document: { ...document, visibleToCustomer: visible } };
  });
}

/** Deletes a document and, once that is committed, its files (a pending one's quarantine file too). */
export async function deleteDocument(knex: Knex, files: FileStorage, staff: StaffPrincipal, customerId: number, documentId: number, requestId?: string): Promise<CustomerDocument> {
  requireManager(staff);
  const document = await knex.transaction(async (trx) => {
    const access = await customerAccess(trx, staff, customerId);
    const found = await findDocument(trx, access, documentId, { lock: true });
    await trx('customerDocuments').where({ id: found.id }).delete();
    await recordAudit(trx, {
      ...staffActor(access, requestId),
      shopId: found.shopId,
      action: 'document.deleted',
      changes: { documentId: found.id, name: found.originalName, status: found.status },
    });
    return found;
  });
  await removeFiles(files, [document.storageKey, document.thumbnailKey, document.storageKey?.replace(/^quarantine\//, 'documents/')]);
  return document;
}

/** Removes what may exist; a file already gone is fine. */
export async function removeFiles(files: FileStorage, keys: Array<string | null | undefined>): Promise<void> {
  for (const key of new Set(keys)) if (key) await files.remove(key).catch(() => undefined);
}

// ---- the storefront (F-ACC-4) ------------------------------------------------------------------

export interface VisibleDocument {
  id: number;
  originalName: string;
  byteSize: number;
  contentType: string;
  extension: string | null;
  storageKey: string;
  createdAt: Date;
}

const VISIBLE_COLUMNS = ['id', 'originalName', 'byteSize', 'contentType', 'extension', 'storageKey', 'createdAt'];

function visibleDocuments(db: Db, shopId: number, customerId: number) {
  return db('customerDocuments').where({ shopId, customerId, status: 'ready', visibleToCustomer: true });
}

/** The customer's ready documents in this shop that the merchant marked visible, newest first. */
export async function listVisibleDocuments(db: Db, shopId: number, customerId: number): Promise<VisibleDocument[]> {
  const rows = (await visibleDocuments(db, shopId, customerId)
    .select(VISIBLE_COLUMNS)
    .orderBy([{ column: 'createdAt', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(200)) as VisibleDocument[];
  return rows.map((row) => ({ ...row, id: Number(row.id), byteSize: Number(row.byteSize) }));
}

/** One of them, or 404: another customer's, another shop's, hidden or not ready all look the same. */
export async function findVisibleDocument(db: Db, shopId: number, customerId: number, documentId: number): Promise<VisibleDocument> {
  const row = (await visibleDocuments(db, shopId, customerId).where({ id: documentId }).first(VISIBLE_COLUMNS)) as VisibleDocument | undefined;
  if (!row) throw new NotFoundError(DOCUMENT_NOT_FOUND);
  return { ...row, id: Number(row.id), byteSize: Number(row.byteSize) };
}

// ---- for display -------------------------------------------------------------------------------

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

const TYPE_LABELS: Record<string, string> = {
  pdf: 'PDF',
  png: 'PNG image',
  jpg: 'JPEG image',
  gif: 'GIF image',
  webp: 'WebP image',
  docx: 'Word document',
  xlsx: 'Excel workbook',
  pptx: 'PowerPoint',
  odt: 'OpenDocument text',
  ods: 'OpenDocument spreadsheet',
  odp: 'OpenDocument presentation',
  txt: 'Text',
  csv: 'CSV',
};

/** The sniffed type in words ("PDF", "PNG image"); null while it is not known. */
export function documentTypeLabel(extension: string | null): string | null {
  return extension ? (TYPE_LABELS[extension] ?? extension.toUpperCase()) : null;
}

// ---- the dashboard widget ----------------------------------------------------------------------

export const DOCUMENTS_SHOWN = 20;

export interface DocumentsWidget {
  documents: Array<CustomerDocument & { size: string; typeLabel: string | null }>;
  count: number;
  pending: boolean;
  mayManage: boolean;
  shops: Array<{ shopId: number; shopName: string }>;
  maxMb: number;
}

/**
 * Registers the `documents` widget (side column). Called by the documents router, which knows the
 * configured size limit that the upload form mentions.
 */
export function registerDocumentsWidget(maxBytes: number): void {
  registerWidget({
    name: 'documents',
    template: 'partials/admin/dashboard/documents',
    column: 'side',
    order: 50,
    async load(knex, access): Promise<DocumentsWidget> {
      const [documents, count] = await Promise.all([listDocuments(knex, access, { limit: DOCUMENTS_SHOWN }), countDocuments(knex, access)]);
      return {
        documents: documents.map((d) => ({ ...d, size: formatBytes(d.byteSize), typeLabel: documentTypeLabel(d.extension) })),
        count,
        pending: documents.some((d) => d.status === 'pending'),
        mayManage: mayManageDocuments(access.staff),
        shops: access.shops.map((s) => ({ shopId: s.shopId, shopName: s.shopName })),
        maxMb: Math.round(maxBytes / (1024 * 1024)),
      };
    },
  });
}
