import path from 'node:path';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { createClient } from 'redis';
import type { Config } from './config/index.js';
import { bindModels, createKnex } from './db/knex.js';
import { BULK_QUEUE, type BulkJobData } from './queues/bulk.queue.js';
import { EXPORT_QUEUE, type ExportJobData } from './queues/export.queue.js';
import { GROUP_QUEUE, type GroupJobData } from './queues/group.queue.js';
import { IMPORT_QUEUE, type ImportJobData } from './queues/import.queue.js';
import { INVITATION_QUEUE, type InvitationJobData } from './queues/invitation.queue.js';
import { MAIL_QUEUE, type MailJobData } from './queues/mail.queue.js';
import { UPLOAD_QUEUE, type UploadJobData } from './queues/upload.queue.js';
import { createQueueBackend, type JobQueue, type QueueBackend } from './queues/queue-backend.js';
import { createShopResolver } from './services/shop.service.js';
import { createLocalFileStorage, type FileStorage } from './storage/file-storage.js';

export type RedisClient = ReturnType<typeof createClient>;

/** The long-lived parts a web or worker process shares: one of each per process. */
export interface AppContext {
  config: Config;
  logger: Logger;
  databaseUrl: string;
  knex: Knex;
  /** Sessions and rate limits, when REDIS_URL is set. */
  redis: RedisClient | null;
  queueBackend: QueueBackend;
  queues: { mail: JobQueue<MailJobData>; bulk: JobQueue<BulkJobData>; imports: JobQueue<ImportJobData>; exports: JobQueue<ExportJobData>; uploads: JobQueue<UploadJobData>; invitations: JobQueue<InvitationJobData>; groups: JobQueue<GroupJobData> };
  /** Uploaded files (F-FILE), under DATA_DIR/files. */
  files: FileStorage;
  resolveShop: ReturnType<typeof createShopResolver>;
  close(): Promise<void>;
}

export async function createContext(config: Config, logger: Logger, databaseUrl: string): Promise<AppContext> {
  const knex = createKnex(databaseUrl);
  bindModels(knex);

  let redis: RedisClient | null = null;
  if (config.redisUrl) {
    // Commands fail at once while Redis is away instead of queueing up behind a dead socket.
    redis = createClient({ url: config.redisUrl, disableOfflineQueue: true });
    redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection problem'));
    // Wait until Redis is ready, or until the first connection error: a process must start while
    // Redis is away (the client keeps reconnecting; /readyz answers 503 meanwhile) instead of hanging.
    const client = redis;
    const firstError = new Promise<void>((resolve) => client.once('error', () => resolve()));
    await Promise.race([client.connect().then(() => undefined, () => undefined), firstError]);
  }

  const queueBackend = createQueueBackend({ redisUrl: config.redisUrl, databaseUrl, prefix: config.queuePrefix });
  const queues = {
    mail: queueBackend.createQueue<MailJobData>(MAIL_QUEUE),
    bulk: queueBackend.createQueue<BulkJobData>(BULK_QUEUE),
    imports: queueBackend.createQueue<ImportJobData>(IMPORT_QUEUE),
    groups: queueBackend.createQueue<GroupJobData>(GROUP_QUEUE),
    exports: queueBackend.createQueue<ExportJobData>(EXPORT_QUEUE),
    uploads: queueBackend.createQueue<UploadJobData>(UPLOAD_QUEUE),
    invitations: queueBackend.createQueue<InvitationJobData>(INVITATION_QUEUE),
  };
  for (const [name, queue] of Object.entries(queues)) {
    queue.on('error', (err: Error) => logger.warn({ err: err.message, queue: name }, 'queue connection problem'));
  }

  return {
    config,
    logger,
    databaseUrl,
    knex,
    redis,
    queueBackend,
    queues,
    files: createLocalFileStorage(path.join(config.dataDir, 'files')),
    resolveShop: createShopResolver(knex),
    async close() {
      await Promise.allSettled(Object.values(queues).map((queue) => queue.close()));
      // QUIT waits for a connection that may never come back: only a ready client says goodbye.
      if (redis?.isReady) await redis.quit().catch(() => redis?.destroy());
      else if (redis?.isOpen) redis.destroy();
      await knex.destroy();
    },
  };
}
