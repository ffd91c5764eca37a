import { existsSync } from 'node:fs';
import net from 'node:net';
import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { createKnex } from '../../app/db/knex.js';
import { cancelRunningQuery, type PooledConnection, withPooledConnection } from '../../app/db/pooled-connection.js';
import { useDatabase } from '../support/database.js';

/** PostgreSQL's own socket directory on Debian (where the test machine's server listens besides TCP). */
const SOCKET_DIRECTORY = '/var/run/postgresql';

/** Cancelling a pooled connection's query by the protocol, without a connection from the pool. */
describe('cancelRunningQuery', () => {
  let knex: Knex;
  let databaseName: string;
  // Two connections: the tests hold both, so a cancel that took one from the pool would wait for ever.
  useDatabase((db) => {
    ({ knex, name: databaseName } = db);
  }, { max: 2 });

  it('cancels a running query while every pooled connection is held, and the connection goes on working', async () => {
    await withPooledConnection(knex, (other) =>
      withPooledConnection(knex, async (sleeper) => {
        expect(other.processID).not.toBe(sleeper.processID);
        // Its error is taken at once: the cancel makes it fail before the expectation below is reached.
        const sleeping = sleeper.query('SELECT pg_sleep(30)').then(() => 'slept', (error: unknown) => error);
        await untilActive(other, sleeper.processID);
        const started = Date.now();
        await cancelRunningQuery(sleeper);
        expect(await sleeping).toMatchObject({ code: '57014', message: 'canceling statement due to user request' });
        expect(Date.now() - started).toBeLessThan(5_000);
        expect((await sleeper.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      }),
    );
  });

  it.skipIf(!existsSync(`${SOCKET_DIRECTORY}/.s.PGSQL.5432`))('cancels over a Unix socket as well (a host given as a directory)', async () => {
    const overSocket = createKnex(`postgres://postgres@/${databaseName}?host=${SOCKET_DIRECTORY}`, { max: 1 });
    try {
      await withPooledConnection(overSocket, async (sleeper) => {
        expect(sleeper.host).toBe(SOCKET_DIRECTORY);
        const sleeping = sleeper.query('SELECT pg_sleep(30)').then(() => 'slept', (error: unknown) => error);
        await withPooledConnection(knex, (observer) => untilActive(observer, sleeper.processID));
        await cancelRunningQuery(sleeper);
        expect(await sleeping).toMatchObject({ code: '57014' });
      });
    } finally {
      await overSocket.destroy();
    }
  });

  it('leaves an idle connection and its next query alone', async () => {
    await withPooledConnection(knex, async (idle) => {
      await cancelRunningQuery(idle);
      expect((await idle.query('SELECT pg_sleep(0.3), 2 AS two')).rows[0].two).toBe(2);
    });
  });

  it('cancels nothing without the backend\'s key', async () => {
    await withPooledConnection(knex, (other) =>
      withPooledConnection(knex, async (sleeper) => {
        const sleeping = sleeper.query('SELECT pg_sleep(0.5), 3 AS three');
        await untilActive(other, sleeper.processID);
        await cancelRunningQuery({ host: sleeper.host, port: sleeper.port, processID: sleeper.processID, secretKey: sleeper.secretKey ^ 1 } as PooledConnection);
        expect((await sleeping).rows[0].three).toBe(3);
      }),
    );
  });

  it('fails when the server cannot be reached', async () => {
    const closedPort = await freePort();
    const unreachable = { host: '127.0.0.1', port: closedPort, processID: 1, secretKey: 1 } as PooledConnection;
    await expect(cancelRunningQuery(unreachable)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

/** Waits (at most 5 s) until the backend runs a query, seen from another connection. */
async function untilActive(observer: PooledConnection, pid: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const { rows } = await observer.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", [pid]);
    if (rows.length) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Backend ${pid} never ran its query`);
}

/** A port on 127.0.0.1 nothing listens on (it was free a moment ago). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
