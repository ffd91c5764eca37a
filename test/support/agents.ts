import type { Express } from 'express';
import request from 'supertest';
import { PASSWORD } from './factories.js';

export type Agent = ReturnType<typeof request.agent>;

/** A cookie-keeping client that talks to the app (or a server, or a URL) as if it were served on `host`. */
export function agentFor(app: Parameters<typeof request.agent>[0], host: string): Agent {
  return request.agent(app).host(host);
}

export function csrfFrom(html: string): string {
  const match = /<meta name="csrf-token" content="([^"]+)"/.exec(html);
  if (!match) throw new Error('page has no csrf-token meta tag');
  return match[1]!;
}

/** GETs a page and returns its CSRF token. */
export async function csrfToken(agent: Agent, path: string): Promise<string> {
  const page = await agent.get(path);
  return csrfFrom(page.text);
}

export async function loginStaff(app: Express, email: string, password = PASSWORD, host = 'admin.localhost'): Promise<Agent> {
  const agent = agentFor(app, host);
  const token = await csrfToken(agent, '/admin/login');
  const response = await agent.post('/admin/login').type('form').send({ email, password, _csrf: token });
  if (response.status !== 303) throw new Error(`staff login failed with ${response.status}`);
  return agent;
}

export async function loginCustomer(app: Express, host: string, email: string, password = PASSWORD): Promise<Agent> {
  const agent = agentFor(app, host);
  const token = await csrfToken(agent, '/account/login');
  const response = await agent.post('/account/login').type('form').send({ email, password, _csrf: token });
  if (response.status !== 303) throw new Error(`customer login failed with ${response.status}`);
  return agent;
}

/**
 * GETs the login page at `path` for its token, then posts the credentials with `headers` on both
 * requests; returns the POST's response (status, Set-Cookie, page) for the test to inspect.
 */
export async function postLogin(agent: Agent, path: '/admin/login' | '/account/login', email: string, password = PASSWORD, headers: Record<string, string> = {}) {
  const page = await agent.get(path).set(headers);
  const token = csrfFrom(page.text);
  return agent.post(path).set(headers).type('form').send({ email, password, _csrf: token });
}
