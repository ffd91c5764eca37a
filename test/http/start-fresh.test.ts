import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKnex } from '../../app/db/knex.js';
import { TEST_DATABASE_URL, databaseUrl } from '../support/env.js';

/**
 * `npm start` on an empty database (as the README's first command runs it): it migrates, seeds the
 * demo data and starts the web server and the workers, whose queues (BullMQ on PostgreSQL here)
 * must work from the first start, not only after a restart.
 */
describe('npm start on an empty database', () => {
  const name = `cp_t_start_${randomBytes(4).toString('hex')}`;
  let dataDir: string;
  let app: ChildProcess;
  const lines: string[] = [];

  beforeAll(async () => {
    const admin = createKnex(TEST_DATABASE_URL);
    await admin.raw(`CREATE DATABASE ${name}`);
    await admin.destroy();
    dataDir = await mkdtemp(path.join(tmpdir(), 'cp-start-'));
    app = spawn(process.execPath, ['--import', 'tsx', 'app/cli/start.ts'], {
      env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: databaseUrl(name), REDIS_URL: '', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('npm start was not ready within 90 s')), 90_000);
      app.once('exit', (code) => reject(new Error(`npm start exited with ${code}`)));
      createInterface({ input: app.stdout! }).on('line', (line) => {
        lines.push(line);
        if (line.includes('"msg":"ready"')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }, 100_000);
  afterAll(async () => {
    if (app?.exitCode === null) {
      app.kill('SIGTERM');
      await new Promise((resolve) => app.once('exit', resolve));
    }
    const admin = createKnex(TEST_DATABASE_URL);
    await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.destroy();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('schedules its recurring jobs on the first start, with no queue left unusable', async () => {
    expect(lines.filter((line) => /could not schedule|not initialized/.test(line))).toEqual([]);
    const knex = createKnex(databaseUrl(name));
    try {
      const schedulers = (await knex.raw('SELECT queue, scheduler_id FROM bullmq.scheduler ORDER BY queue')).rows;
      expect(schedulers).toEqual([
        { queue: 'groups', scheduler_id: 'groups-nightly' },
        { queue: 'invitations', scheduler_id: 'expire-invitations' },
      ]);
    } finally {
      await knex.destroy();
    }
  });
});
