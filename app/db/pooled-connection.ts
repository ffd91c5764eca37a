import net from 'node:net';
import type { Knex } from 'knex';
import type pg from 'pg';

/** PostgreSQL's error code for a statement cancelled (here: past its statement_timeout). */
export const QUERY_CANCELED = '57014';

/** pg's client, with its backend's id and cancel key (pg keeps both from connecting; its types leave them out). */
export type PooledConnection = pg.Client & { processID: number; secretKey: number };

/**
 * Runs `use` with one of knex's pooled connections to itself, as pg's client, and gives it back
 * after: for what knex's query builder cannot do (COPY streams, a backend to cancel, a migrator
 * that takes a client).
 */
export async function withPooledConnection<T>(knex: Knex, use: (connection: PooledConnection) => Promise<T>): Promise<T> {
  const connection = (await knex.client.acquireConnection()) as PooledConnection;
  try {
    return await use(connection);
  } finally {
    await knex.client.releaseConnection(connection);
  }
}

/** The protocol's CancelRequest code (PostgreSQL's frontend/backend protocol, "Canceling Requests in Progress"). */
const CANCEL_REQUEST_CODE = 80877102;
/** A server that neither takes nor refuses the request within this is not waited for. */
const CANCEL_TIMEOUT_MS = 5_000;

/**
 * Cancels what the connection's backend is running, by the protocol's CancelRequest on a socket of
 * its own, as psql's Ctrl-C does. `pg_cancel_backend` would need a pooled connection, and with every
 * one held by reads waiting to be cancelled it would wait for itself. Resolves once the server has
 * closed the socket, which it does after signalling the backend (it sends no reply); a backend
 * that is idle by then ignores the signal, so the connection's next query is not hit.
 */
export function cancelRunningQuery(connection: PooledConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connection.host.startsWith('/') ? net.connect(`${connection.host}/.s.PGSQL.${connection.port}`) : net.connect(connection.port, connection.host);
    socket.setTimeout(CANCEL_TIMEOUT_MS, () => socket.destroy(new Error(`The database server did not take the cancel request within ${CANCEL_TIMEOUT_MS} ms.`)));
    socket.once('connect', () => {
      const request = Buffer.alloc(16);
      request.writeInt32BE(16, 0);
      request.writeInt32BE(CANCEL_REQUEST_CODE, 4);
      request.writeInt32BE(connection.processID, 8);
      request.writeInt32BE(connection.secretKey, 12);
      socket.end(request);
    });
    socket.once('error', reject);
    socket.once('close', (hadError) => hadError || resolve());
    socket.resume();
  });
}
