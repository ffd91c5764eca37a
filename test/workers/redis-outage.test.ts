import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startMailWorker, type RunningWorker } from '../../workers/mail.worker.js';
import { agentFor, csrfToken } from '../support/agents.js';
import { makeShop, PASSWORD } from '../support/factories.js';
import { messagesTo, outboxIdFor, outboxRow, registerThroughStorefront, waitForOutboxStatus, waitForQueueIdle, waitUntil } from '../support/outbox.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** Waits for `promise` at most `ms`, so cleanup goes on (and spawned processes get killed) even if a close hangs. */
async function atMost(ms: number, promise: Promise<unknown> | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise?.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/**
 * After a restart, waits until the app's queue has reconnected: a BullMQ queue closed while its
 * client is still reconnecting leaves that client retrying for ever (and failing once Redis is gone).
 */
async function queueAnswers(t: TestApp | undefined): Promise<void> {
  if (!t) return;
  await waitUntil(() => t.ctx.queues.mail.getJobCounts('waiting').then(() => true, () => false), 'the queue to reconnect', 10_000, 100);
}

describe('mail while the queue’s Redis is down', () => {
  let redis: RedisServer | undefined;
  let sink: SmtpSink | undefined;
  let t: TestApp | undefined;
  let worker: RunningWorker | undefined;

  beforeAll(async () => {
    redis = await startRedisServer();
    sink = await startSmtpSink();
    // Sessions stay on the suite's Redis: only the queue's Redis goes away, and the web can still take requests.
    t = await createTestApp({ backend: 'redis', queueRedisUrl: redis.url, env: { SMTP_URL: sink.url } });
    await makeShop(t.ctx.knex, { code: 'north', name: 'North Outfitters', hostname: 'north.localhost' });
  });
  afterAll(async () => {
    try {
      // Closing BullMQ clients waits for a Redis that is away: bring it back first.
      await atMost(10_000, redis?.start());
      await atMost(10_000, queueAnswers(t));
      await atMost(10_000, worker?.close());
      await atMost(10_000, t?.close());
      await atMost(5_000, sink?.close());
    } finally {
      await redis?.stop();
    }
  });

  it('keeps the mail in the outbox while Redis is down and delivers it through the sweep once Redis is back', async () => {
    const app = t!;
    const warn = vi.spyOn(app.ctx.logger, 'warn');
    worker = await startMailWorker(app.ctx, { sweepEveryMs: 200, strandedAfterSeconds: 1 });

    // Baseline: with Redis up, mail goes out through the queue.
    const before = 'before.outage@example.test';
    expect((await registerThroughStorefront(app.app, 'north.localhost', { email: before })).response.status).toBe(303);
    await waitForOutboxStatus(app.ctx.knex, await outboxIdFor(app.ctx.knex, before), 'sent');

    await redis!.stop();

    const email = 'during.outage@example.test';
    const started = Date.now();
    const { response } = await registerThroughStorefront(app.app, 'north.localhost', { email });
    const took = Date.now() - started;
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/account');
    expect(took).toBeLessThan(2_000);
    const id = await outboxIdFor(app.ctx.knex, email);
    // The web request's own enqueue failed fast...
    await waitUntil(() => warn.mock.calls.some(([fields, message]) => message === 'mail enqueue failed; the outbox sweep will deliver it' && (fields as { outboxId?: number }).outboxId === id), 'the failed enqueue to be logged', 5_000);
    // ...and the sweep's too, for as long as Redis is away: the row waits, nothing is lost.
    await waitUntil(() => warn.mock.calls.some(([, message]) => message === 'outbox sweep failed; will try again'), 'a sweep to fail', 5_000);
    const waiting = await outboxRow(app.ctx.knex, id);
    expect(waiting.status).toBe('pending');
    expect(waiting.attempts).toBe(0);
    expect(messagesTo(sink!.messages, email)).toHaveLength(0);

    // Redis comes back empty (no persistence): the sweep enqueues the row again and the worker sends it.
    await redis!.start();
    const sent = await waitForOutboxStatus(app.ctx.knex, id, 'sent', 20_000);
    await waitForQueueIdle(app.ctx.queues.mail);
    expect(sent.attempts).toBe(1);
    expect(messagesTo(sink!.messages, email)).toHaveLength(1);
    expect(messagesTo(sink!.messages, before)).toHaveLength(1);
    expect(sink!.messages).toHaveLength(2);
  });
});

describe('registration while the only Redis (sessions and queue) is down', () => {
  let redis: RedisServer | undefined;
  let t: TestApp | undefined;

  beforeAll(async () => {
    redis = await startRedisServer();
    t = await createTestApp({ backend: 'redis', redisUrl: redis.url });
    await makeShop(t.ctx.knex, { code: 'north', name: 'North Outfitters', hostname: 'north.localhost' });
  });
  afterAll(async () => {
    try {
      await atMost(10_000, redis?.start());
      await atMost(10_000, queueAnswers(t));
      await atMost(10_000, t?.close());
    } finally {
      await redis?.stop();
    }
  });

  it('answers at once with an error and leaves no account or e-mail half-made', async () => {
    const agent = agentFor(t!.app, 'north.localhost');
    const token = await csrfToken(agent, '/account/register');
    await redis!.stop();

    const started = Date.now();
    const email = 'no.sessions@example.test';
    const response = await agent
      .post('/account/register')
      .type('form')
      .send({ email, firstname: 'Nora', lastname: 'North', customertype: 'B2C', password: PASSWORD, confirmPassword: PASSWORD, _csrf: token });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(await t!.ctx.knex('customers').where({ email }).first()).toBeUndefined();
    expect(await t!.ctx.knex('mailOutbox').where({ toAddress: email }).first()).toBeUndefined();
  });
});
