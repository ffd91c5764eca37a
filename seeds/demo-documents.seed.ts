import { Readable } from 'node:stream';
import type { Knex } from 'knex';
import sharp from 'sharp';
import type { FileStorage } from '../app/storage/file-storage.js';

/**
 * Demo customer documents (F-DASH-8, F-ACC-4): alice@example.test and the next active customer of
 * the north shop get a few documents as the `uploads` job leaves them: ready ones (a PDF visible
 * to the customer, a hidden one, an image with its thumbnail) and one rejected program. The files
 * are written through the file storage (DATA_DIR/files/documents), so downloads work.
 */
export async function seedDemoDocuments(trx: Knex.Transaction, files: FileStorage): Promise<void> {
  const shop = (await trx('shops').where({ code: 'north' }).first('id', 'name')) as { id: number; name: string } | undefined;
  if (!shop) return;
  const owner = (await trx('staffUsers').where({ role: 'owner' }).orderBy('id').first('id', 'name', 'email')) as { id: number; name: string; email: string } | undefined;
  const customers = (await trx('customers')
    .join('customerShops', 'customerShops.customerId', 'customers.id')
    .where({ 'customerShops.shopId': shop.id, 'customerShops.status': 'active', 'customers.state': 'active' })
    .orderByRaw("customers.email = 'alice@example.test' DESC, customers.id")
    .limit(2)
    .select('customers.id')) as Array<{ id: number }>;
  if (!customers.length) return;

  const image = await sharp({ create: { width: 480, height: 320, channels: 3, background: '#2f6f9f' } }).png().toBuffer();
  const thumbnail = await sharp(image).resize(160, 160, { fit: 'inside' }).webp({ quality: 70 }).toBuffer();
  const store = async (content: Buffer) => (await files.receive(Readable.from([content]), 'documents')).key;
  const uploadedBy = { uploadedByStaffId: owner?.id ?? null, uploadedByName: owner ? owner.name || owner.email : 'Demo' };

  for (const [i, { id: customerId }] of customers.entries()) {
    const documents = [
      { originalName: `Welcome to ${shop.name}.pdf`, content: pdf(`Welcome to ${shop.name}`), contentType: 'application/pdf', extension: 'pdf', visibleToCustomer: true, daysAgo: 30 },
      { originalName: 'Framework agreement (signed).pdf', content: pdf('Framework agreement'), contentType: 'application/pdf', extension: 'pdf', visibleToCustomer: i === 0, daysAgo: 12 },
      ...(i === 0 ? [{ originalName: 'Shop front.png', content: image, contentType: 'image/png', extension: 'png', visibleToCustomer: false, daysAgo: 3 }] : []),
    ];
    for (const document of documents) {
      const at = new Date(Date.now() - document.daysAgo * 86_400_000);
      const [row] = (await trx('customerDocuments')
        .insert({
          customerId,
          shopId: shop.id,
          originalName: document.originalName,
          storageKey: await store(document.content),
          thumbnailKey: document.extension === 'png' ? await store(thumbnail) : null,
          byteSize: document.content.length,
          contentType: document.contentType,
          extension: document.extension,
          status: 'ready',
          visibleToCustomer: document.visibleToCustomer,
          ...uploadedBy,
          createdAt: at,
          updatedAt: at,
          processedAt: at,
        })
        .returning('id')) as Array<{ id: number }>;
      await trx('auditLog').insert([
        { occurredAt: at, actorType: 'staff', actorId: owner?.id ?? null, shopId: shop.id, customerId, action: 'document.uploaded', changes: JSON.stringify({ documentId: row!.id, name: document.originalName, bytes: document.content.length, visibleToCustomer: document.visibleToCustomer }) },
        { occurredAt: at, actorType: 'system', actorId: null, shopId: shop.id, customerId, action: 'document.ready', changes: JSON.stringify({ documentId: row!.id, name: document.originalName, type: document.extension }) },
      ]);
    }
  }
  // What a refused upload looks like: the file is gone, the reason stays.
  const reason = 'This file is a program (an executable). Programs are not accepted, whatever the file is called.';
  const at = new Date(Date.now() - 86_400_000);
  const [rejected] = (await trx('customerDocuments')
    .insert({ customerId: customers[0]!.id, shopId: shop.id, originalName: 'invoice.pdf', storageKey: null, byteSize: 48_640, status: 'rejected', reason, ...uploadedBy, createdAt: at, updatedAt: at, processedAt: at })
    .returning('id')) as Array<{ id: number }>;
  await trx('auditLog').insert({ occurredAt: at, actorType: 'system', actorId: null, shopId: shop.id, customerId: customers[0]!.id, action: 'document.rejected', changes: JSON.stringify({ documentId: rejected!.id, name: 'invoice.pdf', reason }) });
}

/** A one-page PDF showing `title`, with a correct cross-reference table. */
function pdf(title: string): Buffer {
  const text = title.replace(/[\\()]/g, (c) => `\\${c}`);
  const stream = `BT /F1 24 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}
