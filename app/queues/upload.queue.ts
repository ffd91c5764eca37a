import type { JobQueue } from './queue-backend.js';

export const UPLOAD_QUEUE = 'uploads';
export const PROCESS_DOCUMENT = 'process-document';

/** Only the document's id: the job reads the rest (the file's key, who may see it) from the database. */
export interface UploadJobData {
  documentId: number;
}

/**
 * Checks an uploaded customer document (F-FILE). One job per document: the job id makes a second
 * enqueue (a sweep while the first job still waits) harmless, and the job itself does nothing for
 * a document that is no longer pending.
 */
export async function enqueueDocumentCheck(queue: JobQueue<UploadJobData>, documentId: number): Promise<void> {
  await queue.add(
    PROCESS_DOCUMENT,
    { documentId },
    { jobId: `document-${documentId}`, attempts: 3, backoff: { type: 'exponential', delay: 2_000 }, removeOnComplete: { count: 1_000 }, removeOnFail: false },
  );
}
