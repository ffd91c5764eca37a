// What the benchmarks share: the large database, the bench staff login, the app's configuration.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig } from '../app/config/index.js';
import { createKnex } from '../app/db/knex.js';
import { migrateDatabase } from '../app/db/migrate.js';
import { createStaff } from '../app/services/staff.service.js';
import { databaseIsEmpty, seedDemoData } from '../seeds/demo.seed.js';
import { seedLargeData } from '../seeds/large.seed.js';

export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/cp_bench';
export const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 1_000_000);
export const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 60);
export const STAFF = { email: 'bench-owner@example.test', password: 'bench-owner-password-1' };
/** Shared by the in-process web app and the worker processes, so a worker finds the web side's files. */
export const BENCH_DATA_DIR = process.env.BENCH_DATA_DIR ?? path.resolve('.data/bench');

export const benchEnv = (databaseUrl = DATABASE_URL) => ({
  ...process.env,
  NODE_ENV: 'production',
  SESSION_SECRET: 'bench-session-secret-bench-session-secret',
  DATABASE_URL: databaseUrl,
  DATA_DIR: BENCH_DATA_DIR,
  LOG_LEVEL: 'warn',
  PORT: '0',
});

export const benchConfig = (databaseUrl = DATABASE_URL) => loadConfig(benchEnv(databaseUrl));

/** Creates the database when missing and migrates it. */
export async function createDatabase(databaseUrl: string, options: { fresh?: boolean } = {}): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1).replace(/"/g, '');
  url.pathname = '/postgres';
  const admin = createKnex(url.toString());
  if (options.fresh) await admin.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  const exists = await admin.raw('SELECT 1 FROM pg_database WHERE datname = ?', [name]);
  if (exists.rowCount === 0) await admin.raw(`CREATE DATABASE "${name}"`);
  await admin.destroy();
  const knex = createKnex(databaseUrl);
  await migrateDatabase(knex);
  await knex.destroy();
}

/** The demo data, `customers` customers in all (the large set above the demo), and the bench owner. */
export async function ensureBenchDatabase(databaseUrl = DATABASE_URL, customers = CUSTOMERS): Promise<void> {
  await createDatabase(databaseUrl);
  const knex = createKnex(databaseUrl);
  if (await databaseIsEmpty(knex)) await seedDemoData(knex);
  const have = Number((await knex('customers').count('* as n').first())?.n ?? 0);
  if (have < customers) {
    console.log(`seeding ${customers - have} customers (have ${have}) …`);
    const report = await seedLargeData(knex, customers - have, (line) => console.log(`  ${line}`));
    console.log(`seeded in ${report.seconds} s`);
  }
  if (!(await knex('staffUsers').where({ email: STAFF.email }).first('id'))) await createStaff(knex, { ...STAFF, role: 'owner' });
  await knex.destroy();
}

/**
 * `npm run start:worker` as its own process, so its memory can be measured apart from the web side.
 * Resolves once the worker says it is running (starting one compiles TypeScript: seconds, not part of any job).
 */
export async function spawnWorker(databaseUrl = DATABASE_URL): Promise<{ peakRssMb(): Promise<number>; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/index.ts'], { env: { ...benchEnv(databaseUrl), LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the worker exited with ${code}`)));
    lines.on('line', (line) => {
      if (line.includes('"worker running"')) resolve();
      else if (/"level":(4|5)\d/.test(line)) console.error(line);
    });
  });
  return {
    async peakRssMb() {
      // VmHWM: the most resident memory the process has had since it started.
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Polls `check` every 100 ms until it answers a value (bounded by `timeoutMs`). */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
