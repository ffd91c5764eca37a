import { spawn, type ChildProcess } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';

const REDIS_SERVER = process.env.TEST_REDIS_SERVER_BIN ?? '/usr/bin/redis-server';

/** Every redis-server this process spawned and has not seen exit: killed on exit as a last resort. */
const alive = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of alive) child.kill('SIGKILL');
});

export interface RedisServer {
  port: number;
  url: string;
  /** Starts (again) on the same port and resolves once it answers PING. */
  start(): Promise<void>;
  /** Kills the process (SIGKILL: no goodbye to clients, like a crash) and waits for it to exit. */
  stop(): Promise<void>;
}

/** A throw-away redis-server on 127.0.0.1, no persistence: a restart comes back empty, like a lost Redis. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | null = null;

  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (child) return;
      const stderr: string[] = [];
      const spawned = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      spawned.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
      alive.add(spawned);
      spawned.once('exit', () => {
        alive.delete(spawned);
        if (child === spawned) child = null;
      });
      child = spawned;
      try {
        await waitForPing(port, spawned, 10_000);
      } catch (error) {
        await server.stop();
        throw new Error(`redis-server on port ${port} did not start: ${(error as Error).message} ${stderr.join('')}`, { cause: error });
      }
    },
    async stop() {
      const running = child;
      if (!running) return;
      child = null;
      if (running.exitCode === null && running.signalCode === null) {
        const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
        running.kill('SIGKILL');
        await exited;
      }
      alive.delete(running);
    },
  };
  await server.start();
  return server;
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function waitForPing(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited with ${child.exitCode ?? child.signalCode}`);
    if (await ping(port)) return;
    if (Date.now() > deadline) throw new Error(`no PONG within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}
