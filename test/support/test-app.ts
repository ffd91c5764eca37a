import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import type { Express } from 'express';
import { loadConfig } from '../../app/config/index.js';
import { createContext, type AppContext } from '../../app/context.js';
import { createLogger } from '../../app/lib/logger.js';
import { MAIL_QUEUE, type MailJobData } from '../../app/queues/mail.queue.js';
import { createQueueBackend } from '../../app/queues/queue-backend.js';
import { createApp } from '../../app/server.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { TEST_REDIS_URL } from './env.js';

export interface TestApp {
  ctx: AppContext;
  app: Express;
  db: TestDatabase;
  dataDir: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Queues, sessions and rate limits on Redis (default) or on PostgreSQL only. */
  backend?: 'redis' | 'postgres';
  env?: Record<string, string>;
  redisUrl?: string;
  /**
   * Puts the queues on this Redis while sessions and rate limits stay where `backend` puts them, so
   * a test can take the queue's Redis away and still make web requests.
   */
  queueRedisUrl?: string;
}

/**
 * A real app on a database of its own and, for the Redis backend, a key prefix of its own, so
 * test files never see each other's data.
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'cp-test-'));
  const backend = options.backend ?? 'redis';
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    ...(backend === 'redis' ? { REDIS_URL: options.redisUrl ?? TEST_REDIS_URL } : {}),
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SESSION_SECRET: randomBytes(32).toString('hex'),
    QUEUE_PREFIX: `cpt-${inject('runId')}-${randomBytes(3).toString('hex')}`,
    PORT: '0',
    ...options.env,
  });
  const ctx = await createContext(config, createLogger(config.logLevel), db.url);
  if (options.queueRedisUrl) {
    await ctx.queues.mail.close();
    ctx.queueBackend = createQueueBackend({ redisUrl: options.queueRedisUrl, databaseUrl: db.url, prefix: config.queuePrefix });
    // Same object that ctx.close() closes.
    ctx.queues.mail = ctx.queueBackend.createQueue<MailJobData>(MAIL_QUEUE);
    ctx.queues.mail.on('error', (err: Error) => ctx.logger.warn({ err: err.message, queue: MAIL_QUEUE }, 'queue connection problem'));
  }
  const web = createApp(ctx);
  return {
    ctx,
    app: web.app,
    db,
    dataDir,
    async close() {
      await web.close();
      await ctx.close();
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A second web app on the test app's services whose every log line (debug and up) is kept, for
 * tests that prove a secret never reaches the logs. Close it with `web.close()`.
 */
export function appLoggingTo(ctx: AppContext): { web: ReturnType<typeof createApp>; logged(): string } {
  const lines: string[] = [];
  const web = createApp({ ...ctx, logger: createLogger('debug', { write: (line: string) => void lines.push(line) }) });
  return { web, logged: () => lines.join('\n') };
}
