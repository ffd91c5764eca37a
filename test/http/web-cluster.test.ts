import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * `npm run start:web` with WEB_CONCURRENCY=2: a Node cluster whose web processes share one port,
 * and which stops them all on SIGTERM.
 */
describe('the web process as a cluster', () => {
  let db: TestDatabase;
  let primary: ChildProcess;
  const listening: Array<{ pid: number; port: number }> = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    primary = spawn(process.execPath, ['--import', 'tsx', 'app/main.ts'], {
      env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: db.url, REDIS_URL: '', PORT: '0', WEB_CONCURRENCY: '2', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: primary.stdout! });
    let started = false;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the web processes did not start within 30 s')), 30_000);
      primary.once('exit', (code) => reject(new Error(`the primary exited with ${code}`)));
      lines.on('line', (line) => {
        const entry = JSON.parse(line) as { msg?: string; pid: number; port: number };
        if (entry.msg === 'web listening') listening.push({ pid: entry.pid, port: entry.port });
        if (listening.length === 2 && !started) {
          started = true;
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }, 40_000);
  afterAll(async () => {
    if (primary?.exitCode === null) primary.kill('SIGKILL');
    await db?.drop();
  });

  it('runs two web processes on one port, both answering', async () => {
    const [a, b] = listening;
    expect(a!.pid).not.toBe(b!.pid);
    expect(a!.port).toBe(b!.port);
    expect(a!.port).toBeGreaterThan(0);
    const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`http://127.0.0.1:${a!.port}/healthz`).then((res) => res.text())));
    expect(answers).toEqual(Array(10).fill('ok'));
  });

  it('replaces a web process that dies', async () => {
    const victim = listening[0]!;
    process.kill(victim.pid, 'SIGKILL');
    const deadline = Date.now() + 15_000;
    while (listening.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const replacement = listening[2];
    expect(replacement, 'a new web process').toBeDefined();
    expect(replacement!.pid).not.toBe(victim.pid);
    expect(replacement!.port).toBe(victim.port);
    expect(await fetch(`http://127.0.0.1:${victim.port}/healthz`).then((res) => res.text())).toBe('ok');
    listening.splice(0, 1);
  }, 20_000);

  it('stops every web process on SIGTERM and exits cleanly', async () => {
    const exited = once(primary, 'exit');
    primary.kill('SIGTERM');
    const [code] = (await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error('no exit within 15 s')), 15_000))])) as [number];
    expect(code).toBe(0);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(listening.filter(({ pid }) => alive(pid))).toEqual([]);
  }, 20_000);
});

describe('a web cluster whose processes cannot start', () => {
  it('gives up after a few quick exits, with exit code 1, so a process manager sees it', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const db = await createTestDatabase();
    try {
      const primary = spawn(process.execPath, ['--import', 'tsx', 'app/main.ts'], {
        env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: db.url, REDIS_URL: '', PORT: String(port), WEB_CONCURRENCY: '2', LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const output: string[] = [];
      createInterface({ input: primary.stdout! }).on('line', (line) => output.push(line));
      const exited = once(primary, 'exit');
      // Five starts that each fail at listen, a second apart: about 30 s alone, longer while the
      // rest of the suite (other spawned processes among it) shares the two cores.
      const [code] = (await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error('still running after 90 s')), 90_000))])) as [number];
      expect(code).toBe(1);
      expect(output.some((line) => line.includes('giving up'))).toBe(true);
    } finally {
      taken.close();
      await db.drop();
    }
  }, 100_000);
});
