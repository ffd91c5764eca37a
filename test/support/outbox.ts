import type { Express } from 'express';
import type { Knex } from 'knex';
import type { ParsedMail } from 'mailparser';
import type { JobQueue } from '../../app/queues/queue-backend.js';
import type { MailOutbox, OutboxStatus } from '../../app/models/mail-outbox.model.js';
import { queueMail } from '../../app/services/outbox.service.js';
import { agentFor, csrfFrom } from './agents.js';
import { PASSWORD } from './factories.js';

/** Polls `probe` until it returns something other than undefined/false, or throws after `timeoutMs`. */
export async function waitUntil<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 15_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export type OutboxRow = MailOutbox & { claimedUntil: Date | null };

export async function outboxRow(knex: Knex, id: number): Promise<OutboxRow> {
  const row = (await knex('mailOutbox').where({ id }).first()) as OutboxRow | undefined;
  if (!row) throw new Error(`no outbox row ${id}`);
  return row;
}

/** Waits until the row has `status` (and, optionally, satisfies `also`); returns it. */
export function waitForOutboxStatus(knex: Knex, id: number, status: OutboxStatus, timeoutMs = 15_000, also: (row: OutboxRow) => boolean = () => true): Promise<OutboxRow> {
  return waitUntil(
    async () => {
      const row = await outboxRow(knex, id);
      return row.status === status && also(row) ? row : undefined;
    },
    `outbox row ${id} to be ${status}`,
    timeoutMs,
  );
}

/** Waits until the queue holds no job that could still run (nothing waiting, delayed or active). */
export function waitForQueueIdle<T>(queue: JobQueue<T>, timeoutMs = 15_000): Promise<true> {
  return waitUntil(
    async () => {
      const counts = await queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'waiting-children');
      return Object.values(counts).every((n) => n === 0);
    },
    'the queue to be idle',
    timeoutMs,
  );
}

/** A welcome e-mail written into the outbox the way the app does it (in a transaction), not enqueued. */
export async function writeWelcomeMail(knex: Knex, shop: { id: number; name: string }, to: string, loginUrl = 'http://north.localhost/account/login'): Promise<number> {
  return knex.transaction((trx) => queueMail(trx, { shopId: shop.id, customerId: null, to, template: 'welcome', data: { firstName: 'Test', shopName: shop.name, loginUrl } }));
}

/** The messages the sink got for one recipient. */
export function messagesTo(messages: ParsedMail[], address: string): ParsedMail[] {
  return messages.filter((mail) => {
    const to = Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : [];
    return to.some((group) => group.value.some((entry) => entry.address?.toLowerCase() === address.toLowerCase()));
  });
}

/** Registers through the storefront form (GET for the CSRF token, then POST) on `host`. */
export async function registerThroughStorefront(
  app: Express,
  host: string,
  fields: { email: string; firstname?: string; lastname?: string; customertype?: string },
  headers: Record<string, string> = {},
) {
  const agent = agentFor(app, host);
  const page = await agent.get('/account/register').set(headers);
  if (page.status !== 200) throw new Error(`GET /account/register answered ${page.status}`);
  const response = await agent
    .post('/account/register')
    .set(headers)
    .type('form')
    .send({ firstname: 'Nora', lastname: 'North', customertype: 'B2C', password: PASSWORD, confirmPassword: PASSWORD, ...fields, _csrf: csrfFrom(page.text) });
  return { agent, response };
}

/** The id of the newest outbox row for `to`. */
export async function outboxIdFor(knex: Knex, to: string): Promise<number> {
  const row = (await knex('mailOutbox').where({ toAddress: to }).orderBy('id', 'desc').first('id')) as { id: number } | undefined;
  if (!row) throw new Error(`no outbox row for ${to}`);
  return row.id;
}
