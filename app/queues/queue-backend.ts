import { Queue, Worker, createPostgresBackend, withBackend, type IQueueBackend, type JobProgress, type Processor, type WorkerOptions } from 'bullmq';
import { BULLMQ_SCHEMA } from '../db/migrate.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the connection type differs per backend
type AnyConnection = any;
export type JobQueue<T> = Queue<T, unknown, string, T, unknown, string, IQueueBackend, AnyConnection>;
export type JobWorker<T> = Worker<T, unknown, string, IQueueBackend, JobProgress, AnyConnection>;
export type WorkerSettings = Omit<WorkerOptions, 'connection' | 'prefix'>;

/** Where BullMQ keeps its jobs: Redis when configured, otherwise BullMQ's PostgreSQL backend on our database. */
export interface QueueBackend {
  kind: 'redis' | 'postgres';
  createQueue<T>(name: string): JobQueue<T>;
  createWorker<T>(name: string, processor: Processor<T, unknown, string>, settings?: WorkerSettings): JobWorker<T>;
}

export function createQueueBackend(options: { redisUrl?: string; databaseUrl: string; prefix: string }): QueueBackend {
  return options.redisUrl ? redisBackend(options.redisUrl, options.prefix) : postgresBackend(options.databaseUrl);
}

function redisBackend(redisUrl: string, prefix: string): QueueBackend {
  // Reconnect within 2 s once Redis is back (BullMQ's own default backs off to 20 s).
  const retryStrategy = (times: number) => Math.min(times * 50, 2_000);
  return {
    kind: 'redis',
    createQueue<T>(name: string) {
      // Producers fail fast while Redis is down; the outbox sweep enqueues what was missed.
      // Connection options, not a client: BullMQ closes only the clients it created itself.
      const connection = { url: redisUrl, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy };
      return new Queue<T>(name, { connection, prefix }) as unknown as JobQueue<T>;
    },
    createWorker<T>(name: string, processor: Processor<T, unknown, string>, settings: WorkerSettings = {}) {
      const connection = { url: redisUrl, maxRetriesPerRequest: null, retryStrategy };
      return new Worker<T>(name, processor, { ...settings, connection, prefix }) as unknown as JobWorker<T>;
    },
  };
}

function postgresBackend(databaseUrl: string): QueueBackend {
  const { Queue: PgQueue, Worker: PgWorker } = withBackend(createPostgresBackend);
  // Migrations ran with the app's own (see migrateDatabase), so no process migrates on first use.
  const connection = () => ({ connectionString: databaseUrl, schema: BULLMQ_SCHEMA, max: 4 });
  return {
    kind: 'postgres',
    createQueue<T>(name: string) {
      return new PgQueue<T>(name, { connection: connection() }) as unknown as JobQueue<T>;
    },
    createWorker<T>(name: string, processor: Processor<T, unknown, string>, settings: WorkerSettings = {}) {
      return new PgWorker<T>(name, processor, { ...settings, connection: connection() }) as unknown as JobWorker<T>;
    },
  };
}
