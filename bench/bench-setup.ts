// What the benchmarks share: the large database, the bench staff login, the app's configuration.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
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

export interface BenchProcess {
  /** The most resident memory the process (a cluster's primary) has had since it started. */
  peakRssMb(): Promise<number>;
  /** CPU seconds (user and system) the process and the processes it started have used so far. */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A TypeScript entry point as its own process, so its memory and CPU are apart from the bench's;
 * resolved once `ready` answers (starting one compiles TypeScript: seconds, not part of any
 * measurement).
 */
async function spawnBenchProcess(script: string, env: NodeJS.ProcessEnv, ready: (child: ChildProcess) => Promise<void>): Promise<BenchProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`))));
  try {
    await Promise.race([ready(child), exited]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    child.removeAllListeners('exit');
  }
  return {
    async peakRssMb() {
      // VmHWM: the most resident memory the process has had since it started.
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
    },
    cpuSeconds: () => treeCpuSeconds(child.pid!),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** CPU seconds of a process and its descendants (a cluster's workers), from /proc. */
async function treeCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100 a second).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const own = (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
  const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')).split(' ').filter(Boolean).map(Number);
  const theirs = await Promise.all(children.map(treeCpuSeconds));
  return theirs.reduce((sum, seconds) => sum + seconds, own);
}

/** `npm run start:worker`, so a job's memory can be measured apart from the web side; ready when it says it is running. */
export const spawnWorker = (databaseUrl = DATABASE_URL) =>
  spawnBenchProcess('workers/index.ts', { ...benchEnv(databaseUrl), LOG_LEVEL: 'info' }, (child) => {
    const lines = createInterface({ input: child.stdout! });
    return new Promise<void>((resolve) =>
      lines.on('line', (line) => {
        if (line.includes('"worker running"')) resolve();
        else if (/"level":(4|5)\d/.test(line)) console.error(line);
      }),
    );
  });

/**
 * `npm run start:web` with `processes` web processes (a Node cluster) on `port`, as production runs
 * it, logging at the bench's level (warn: no line per request). Ready when /readyz answers, and a
 * few seconds more for the cluster's other processes, which start alongside the first.
 */
export async function spawnWeb(port: number, processes: number): Promise<BenchProcess & { port: number }> {
  const web = await spawnBenchProcess('app/main.ts', { ...benchEnv(), PORT: String(port), WEB_CONCURRENCY: String(processes) }, async (child) => {
    child.stdout!.resume();
    await waitFor(() => fetch(`http://127.0.0.1:${port}/readyz`).then((res) => (res.ok ? true : undefined), () => undefined), 60_000, 'the web processes');
    if (processes > 1) await new Promise((resolve) => setTimeout(resolve, 3_000));
  });
  return { ...web, port };
}

/** A port nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
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
