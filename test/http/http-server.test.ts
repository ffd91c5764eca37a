import { once } from 'node:events';
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../app/http/http-server.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

async function listening(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** One request with the Host header given (fetch may not set it). */
function send(port: number, options: { host: string; path: string; method?: string; body?: string }): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: options.host };
    if (options.body !== undefined) Object.assign(headers, { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': String(Buffer.byteLength(options.body)) });
    const req = httpRequest({ host: '127.0.0.1', port, path: options.path, method: options.method ?? 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('the HTTP server of an Express app', () => {
  it("builds every request and response with the app's prototypes, before Express sees them", async () => {
    const app = express();
    app.get('/echo', (req, res) => {
      res.set('X-Seen-Host', req.hostname).json({ path: req.path, query: req.query });
    });
    const prototypes: boolean[] = [];
    // Before Express's own listener: whether Node built them with the app's prototypes.
    const recordPrototypes = (server: Server) => server.prependListener('request', (req, res) => prototypes.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response));
    const server = createHttpServer(app);
    recordPrototypes(server);
    const port = await listening(server);
    try {
      for (const path of ['/echo?a=1', '/echo?a=2']) {
        const res = await send(port, { host: 'shop.localhost', path });
        expect(res.status).toBe(200);
        expect(res.headers['x-seen-host']).toBe('shop.localhost');
        expect(JSON.parse(res.body)).toEqual({ path: '/echo', query: { a: path.slice(-1) } });
      }
      expect(prototypes).toEqual([true, true]);
      // A second server for the same app builds the same way (the app's prototypes are replaced once).
      const second = createHttpServer(app);
      recordPrototypes(second);
      const secondPort = await listening(second);
      try {
        expect((await send(secondPort, { host: 'shop.localhost', path: '/echo?a=3' })).status).toBe(200);
        expect(prototypes).toEqual([true, true, true]);
      } finally {
        second.close();
        second.closeAllConnections();
      }
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});

describe('the product app on that server', () => {
  let t: TestApp;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    t = await createTestApp();
    server = createHttpServer(t.app);
    port = await listening(server);
  });

  afterAll(async () => {
    server.close();
    server.closeAllConnections();
    await t?.close();
  });

  it('answers pages with their headers, reads form bodies and refuses a post without its CSRF token', async () => {
    const health = await send(port, { host: 'admin.localhost', path: '/healthz' });
    expect(health.status).toBe(200);
    expect(health.body).toBe('ok');

    const login = await send(port, { host: 'admin.localhost', path: '/admin/login' });
    expect(login.status).toBe(200);
    expect(login.headers['content-security-policy']).toContain("default-src 'self'");
    expect(login.body).toContain('<form');

    const forged = await send(port, { host: 'admin.localhost', path: '/admin/login', method: 'POST', body: 'email=a%40example.test&password=x' });
    expect(forged.status).toBe(403);

    const unknown = await send(port, { host: 'nowhere.localhost', path: '/' });
    expect(unknown.status).toBe(404);
  });
});
