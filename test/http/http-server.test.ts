import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../app/http/http-server.js';
import { agentFor } from '../support/agents.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

async function listening(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
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
        const res = await agentFor(`http://127.0.0.1:${port}`, 'shop.localhost').get(path);
        expect(res.status).toBe(200);
        expect(res.headers['x-seen-host']).toBe('shop.localhost');
        expect(res.body).toEqual({ path: '/echo', query: { a: path.slice(-1) } });
      }
      expect(prototypes).toEqual([true, true]);
      // A second server for the same app builds the same way (the app's prototypes are replaced once).
      const second = createHttpServer(app);
      recordPrototypes(second);
      const secondPort = await listening(second);
      try {
        expect((await agentFor(`http://127.0.0.1:${secondPort}`, 'shop.localhost').get('/echo?a=3')).status).toBe(200);
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
    const admin = agentFor(`http://127.0.0.1:${port}`, 'admin.localhost');
    const health = await admin.get('/healthz');
    expect(health.status).toBe(200);
    expect(health.text).toBe('ok');

    const login = await admin.get('/admin/login');
    expect(login.status).toBe(200);
    expect(login.headers['content-security-policy']).toContain("default-src 'self'");
    expect(login.text).toContain('<form');

    const forged = await admin.post('/admin/login').type('form').send({ email: 'a@example.test', password: 'x' });
    expect(forged.status).toBe(403);

    const unknown = await agentFor(`http://127.0.0.1:${port}`, 'nowhere.localhost').get('/');
    expect(unknown.status).toBe(404);
  });
});
