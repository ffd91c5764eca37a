import type { Knex } from 'knex';
import { csrfToken, type Agent } from './agents.js';
import { textOf } from './html.js';

/** Headers of an htmx request that targets part of the page (a modal or a widget). */
export const HTMX = { 'HX-Request': 'true', 'HX-Request-Type': 'partial' } as const;

const tokens = new WeakMap<Agent, string>();

/** The agent's CSRF token (one per session), read once from the customer list. */
export async function tokenOf(agent: Agent): Promise<string> {
  let token = tokens.get(agent);
  if (!token) {
    token = await csrfToken(agent, '/admin/customers');
    tokens.set(agent, token);
  }
  return token;
}

/** POSTs a form as a browser without JavaScript would (token in `_csrf`), or as htmx (token in the header). */
export async function postForm(agent: Agent, path: string, fields: Record<string, string | string[]>, options: { htmx?: boolean } = {}) {
  const token = await tokenOf(agent);
  if (options.htmx) return agent.post(path).set({ ...HTMX, 'X-CSRF-Token': token }).type('form').send(fields);
  return agent.post(path).type('form').send({ ...fields, _csrf: token });
}

export function getHtmx(agent: Agent, path: string) {
  return agent.get(path).set(HTMX);
}

/** The HX-Trigger header of a response as an object (event name → detail). */
export function triggers(response: { headers: Record<string, unknown> }): Record<string, unknown> {
  const header = response.headers['hx-trigger'];
  return typeof header === 'string' ? (JSON.parse(header) as Record<string, unknown>) : {};
}

/** The visible text of the element with this id (up to its matching close tag of the same name). */
export function sectionText(html: string, id: string): string {
  const start = html.indexOf(`id="${id}"`);
  if (start < 0) throw new Error(`no element with id ${id}`);
  const open = html.lastIndexOf('<', start);
  const tag = /^<([a-z0-9]+)/i.exec(html.slice(open))![1]!;
  let depth = 0;
  const pattern = new RegExp(`<(/?)${tag}\\b[^>]*>`, 'gi');
  pattern.lastIndex = open;
  for (let m = pattern.exec(html); m; m = pattern.exec(html)) {
    depth += m[1] ? -1 : 1;
    if (depth === 0) return textOf(html.slice(open, m.index + m[0].length));
  }
  throw new Error(`element ${id} is not closed`);
}

/** The newest audit rows of a customer, newest first. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read back from audit_log, for the tests to inspect freely
export async function auditOf(knex: Knex, customerId: number): Promise<Array<{ action: string; actorId: number; shopId: number | null; changes: Record<string, any> }>> {
  return knex('auditLog').where({ customerId }).orderBy('id', 'desc').select('action', 'actorId', 'shopId', 'changes');
}
