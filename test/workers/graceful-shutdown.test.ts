import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueMailDelivery } from '../../app/queues/mail.queue.js';
import { startMailWorker, type RunningWorker } from '../../workers/mail.worker.js';
import { makeShop } from '../support/factories.js';
import { messagesTo, outboxRow, waitUntil, writeWelcomeMail } from '../support/outbox.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const SMTP_DELAY_MS = 1_500;

describe.each(['redis', 'postgres'] as const)('worker shutdown on the %s queue backend', (backend) => {
  let sink: SmtpSink;
  let t: TestApp;
  let north: { id: number; name: string };
  let worker: RunningWorker | undefined;

  beforeAll(async () => {
    sink = await startSmtpSink({ delayMs: SMTP_DELAY_MS }); // a slow SMTP server
    t = await createTestApp({ backend, env: { SMTP_URL: sink.url } });
    north = await makeShop(t.ctx.knex, { code: 'north', name: 'North Outfitters', hostname: 'north.localhost' });
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
    await sink?.close();
  });

  it('lets the job in progress finish when the worker is closed: the row ends sent, not stuck in sending', async () => {
    const email = `shutdown.${backend}@example.test`;
    const id = await writeWelcomeMail(t.ctx.knex, north, email);
    worker = await startMailWorker(t.ctx, { sweepEveryMs: 60_000 });
    await enqueueMailDelivery(t.ctx.queues.mail, id);

    // The job is mid-send: the row is claimed and the SMTP server is holding the message.
    await waitUntil(async () => sink.receiving >= 1 && (await outboxRow(t.ctx.knex, id)).status === 'sending', 'the message to be in flight');
    expect(sink.messages).toHaveLength(0);

    const closing = Date.now();
    await worker.close();
    const closeTook = Date.now() - closing;
    worker = undefined;

    const row = await outboxRow(t.ctx.knex, id);
    expect(row.status).toBe('sent');
    expect(row.claimedUntil).toBeNull();
    expect(row.sentAt).toBeInstanceOf(Date);
    expect(row.attempts).toBe(1);
    expect(messagesTo(sink.messages, email)).toHaveLength(1);
    expect(closeTook).toBeGreaterThan(SMTP_DELAY_MS / 3); // it did wait for the send
    expect(closeTook).toBeLessThan(SMTP_DELAY_MS + 10_000);
    expect(await (await t.ctx.queues.mail.getJob(`outbox-${id}`))?.getState()).toBe('completed');
  });
});
