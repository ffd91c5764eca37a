import net from 'node:net';
import { performance } from 'node:perf_hooks';

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * Keep-alive connections that ask for one page again and again, for the throughput measurement.
 * The load runs on the same two cores as the web processes it measures, so it is kept as lean as
 * an HTTP/1.1 client can be: the request is written once as bytes, and of each response only the
 * status line and Content-Length are read. (Node's http client took about a sixth of a core at
 * 1,000 pages/s, taken from the web processes.) A response that is not a 200 with a length stops
 * the measurement with an error: a page that failed must not count.
 */
export async function loadPages(options: { port: number; host: string; path: string; headers: Record<string, string>; connections: number; seconds: number }): Promise<number> {
  const request = Buffer.from(
    [`GET ${options.path} HTTP/1.1`, `Host: ${options.host}`, ...Object.entries(options.headers).map(([name, value]) => `${name}: ${value}`), '', ''].join('\r\n'),
  );
  const until = performance.now() + options.seconds * 1000;
  const sockets: net.Socket[] = [];
  try {
    const counts = await Promise.all(Array.from({ length: options.connections }, () => askUntil(options.port, request, until, sockets)));
    return counts.reduce((sum, n) => sum + n, 0);
  } finally {
    // After a failure, the other connections stop too.
    for (const socket of sockets) socket.destroy();
  }
}

function askUntil(port: number, request: Buffer, until: number, sockets: net.Socket[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    sockets.push(socket);
    let pages = 0;
    let done = false;
    let buffered: Buffer = Buffer.alloc(0);
    let bodyLeft = -1;
    const fail = (error: Error) => {
      done = true;
      socket.destroy();
      reject(error);
    };
    const next = () => {
      if (performance.now() >= until) {
        done = true;
        socket.end();
        resolve(pages);
      } else socket.write(request);
    };
    socket.on('connect', next);
    socket.on('error', fail);
    socket.on('close', () => {
      if (!done) fail(new Error('the server closed a connection before the measurement ended'));
    });
    socket.on('data', (chunk: Buffer) => {
      if (bodyLeft >= 0) {
        bodyLeft -= chunk.length;
      } else {
        buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
        const end = buffered.indexOf(HEADER_END);
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
        const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
        if (status !== '200' || length === undefined) return fail(new Error(`the page answered ${status ?? 'no status'}${length === undefined ? ' without a Content-Length' : ''}`));
        bodyLeft = Number(length) - (buffered.length - end - HEADER_END.length);
        buffered = Buffer.alloc(0);
      }
      if (bodyLeft > 0) return;
      if (bodyLeft < 0) return fail(new Error('more bytes than one response: a pipelining error'));
      pages++;
      bodyLeft = -1;
      next();
    });
  });
}
