import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMailTransport, emlFileName } from '../../app/mail/mail-transport.js';
import { DELIVER_MAIL, enqueueMailDelivery } from '../../app/queues/mail.queue.js';
import { deliverOutboxMail } from '../../app/services/outbox.service.js';
import { startMailWorker, type RunningWorker } from '../../workers/mail.worker.js';
import { makeShop } from '../support/factories.js';
import {
  messagesTo,
  outboxIdFor,
  outboxRow,
  registerThroughStorefront,
  waitForOutboxStatus,
  waitForQueueIdle,
  writeWelcomeMail,
} from '../support/outbox.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const SHOP_NAME = 'North Outfitters';
// Links in e-mails carry PUBLIC_SCHEME/PUBLIC_PORT and the shop's configured hostname.
const LOGIN_LINK = 'http://north.localhost:8080/account/login';

describe.each(['redis', 'postgres'] as const)('mail delivery on the %s queue backend', (backend) => {
  let sink: SmtpSink;
  let t: TestApp;
  let north: { id: number; name: string };
  const workers: RunningWorker[] = [];
  const startWorker = async (options: Parameters<typeof startMailWorker>[1] = {}) => {
    const worker = await startMailWorker(t.ctx, { sweepEveryMs: 60_000, ...options });
    workers.push(worker);
    return worker;
  };
  const stopWorkers = async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.close()));
  };

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await createTestApp({ backend, env: { SMTP_URL: sink.url, PUBLIC_PORT: '8080' } });
    north = await makeShop(t.ctx.knex, { code: 'north', name: SHOP_NAME, hostname: 'north.localhost' });
  });
  beforeEach(async () => {
    // Each test leaves the queue idle, so nothing of one test reaches the sink during the next.
    await stopWorkers();
    sink.messages.length = 0;
  });
  afterAll(async () => {
    await stopWorkers();
    await t?.close();
    await sink?.close();
  });

  it('delivers exactly one welcome e-mail after registration, linking to the configured shop hostname', async () => {
    await startWorker();
    const email = `nora.${backend}@example.test`;
    // A forged proxy header must not leak into the link (TRUST_PROXY is off; the link uses the shop's own hostname anyway).
    const { response } = await registerThroughStorefront(t.app, 'north.localhost', { email, firstname: 'Nora' }, { 'X-Forwarded-Host': 'evil.example' });
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/account');

    const id = await outboxIdFor(t.ctx.knex, email);
    const row = await waitForOutboxStatus(t.ctx.knex, id, 'sent');
    await waitForQueueIdle(t.ctx.queues.mail);

    const received = messagesTo(sink.messages, email);
    expect(received).toHaveLength(1);
    expect(sink.messages).toHaveLength(1);
    const mail = received[0]!;
    expect(mail.subject).toBe(`Welcome to ${SHOP_NAME}`);
    expect(mail.from?.value[0]?.address).toBe('no-reply@portal.localhost');
    expect(mail.text).toContain('Hello Nora,');
    expect(mail.text).toContain(LOGIN_LINK);
    expect(mail.html || '').toContain(`href="${LOGIN_LINK}"`);
    expect(`${mail.text}${String(mail.html)}`).not.toContain('evil.example');

    expect(row.template).toBe('welcome');
    expect(row.shopId).toBe(north.id);
    expect(row.toAddress).toBe(email);
    expect(row.attempts).toBe(1);
    expect(row.lastError).toBeNull();
    expect(row.sentAt).toBeInstanceOf(Date);
    expect(row.messageId).toMatch(/^<outbox-\d+\.\d+@customer-portal>$/);
    expect(mail.messageId).toBe(row.messageId);
  });

  it('links to the primary hostname when the customer registered through another of the shop’s hostnames', async () => {
    await t.ctx.knex('shopDomains').insert({ shopId: north.id, hostname: `alias-${backend}.north.localhost`, isPrimary: false });
    await startWorker();
    const email = `alias.${backend}@example.test`;
    const { response } = await registerThroughStorefront(t.app, `alias-${backend}.north.localhost`, { email });
    expect(response.status).toBe(303);

    await waitForOutboxStatus(t.ctx.knex, await outboxIdFor(t.ctx.knex, email), 'sent');
    const [mail] = messagesTo(sink.messages, email);
    expect(mail?.text).toContain(LOGIN_LINK);
    expect(mail?.text).not.toContain('alias-');
  });

  it('sends a row once when it is relayed twice, one after the other and at the same time', async () => {
    const transport = createMailTransport({ smtpUrl: sink.url, dataDir: t.dataDir });
    try {
      const deliver = (id: number) => deliverOutboxMail(t.ctx.knex, transport, t.ctx.config.mailFrom, id, false);

      const one = await writeWelcomeMail(t.ctx.knex, north, `twice.${backend}@example.test`);
      expect(await deliver(one)).toBe('sent');
      expect(await deliver(one)).toBe('skipped');

      const two = await writeWelcomeMail(t.ctx.knex, north, `together.${backend}@example.test`);
      const outcomes = await Promise.all([deliver(two), deliver(two), deliver(two)]);
      expect(outcomes.sort()).toEqual(['sent', 'skipped', 'skipped']);
      expect(await deliver(two)).toBe('skipped');

      expect(messagesTo(sink.messages, `twice.${backend}@example.test`)).toHaveLength(1);
      expect(messagesTo(sink.messages, `together.${backend}@example.test`)).toHaveLength(1);
      expect(sink.messages).toHaveLength(2);
      for (const id of [one, two]) {
        const row = await outboxRow(t.ctx.knex, id);
        expect(row.status).toBe('sent');
        expect(row.attempts).toBe(1);
      }
    } finally {
      transport.close();
    }
  });

  it('sends each row once when its delivery job is added several times and two workers run at once', async () => {
    const rows = 12;
    const ids: number[] = [];
    for (let i = 0; i < rows; i += 1) ids.push(await writeWelcomeMail(t.ctx.knex, north, `dup${i}.${backend}@example.test`));
    // Enqueued before the workers start, so both find plenty of work at the same moment.
    for (const id of ids) {
      await enqueueMailDelivery(t.ctx.queues.mail, id);
      await enqueueMailDelivery(t.ctx.queues.mail, id); // same job id: collapses onto the first
      // A second, distinct job for the same row (as after a crash between send and ack, or a manual re-add):
      // only the row's claim stops this one.
      await t.ctx.queues.mail.add(DELIVER_MAIL, { outboxId: id }, { jobId: `extra-${id}` });
    }
    await Promise.all([startWorker({ concurrency: 4 }), startWorker({ concurrency: 4 })]);

    for (const id of ids) await waitForOutboxStatus(t.ctx.knex, id, 'sent');
    await waitForQueueIdle(t.ctx.queues.mail);
    await enqueueMailDelivery(t.ctx.queues.mail, ids[0]!); // once more after it was sent
    await waitForQueueIdle(t.ctx.queues.mail);

    expect(sink.messages).toHaveLength(rows);
    for (let i = 0; i < rows; i += 1) expect(messagesTo(sink.messages, `dup${i}.${backend}@example.test`)).toHaveLength(1);
    const claims = await t.ctx.knex('mailOutbox').whereIn('id', ids).pluck('attempts');
    expect(claims).toEqual(ids.map(() => 1));
    expect(new Set(sink.messages.map((mail) => mail.messageId)).size).toBe(rows);
  });

  it('delivers a row whose enqueue was lost, through the outbox sweep', async () => {
    const email = `stranded.${backend}@example.test`;
    const id = await writeWelcomeMail(t.ctx.knex, north, email); // written, never handed to the queue
    await startWorker({ sweepEveryMs: 100, strandedAfterSeconds: 1 });

    const row = await waitForOutboxStatus(t.ctx.knex, id, 'sent');
    await waitForQueueIdle(t.ctx.queues.mail);
    expect(messagesTo(sink.messages, email)).toHaveLength(1);
    expect(row.attempts).toBe(1);
  });

  it('sends a row once its claim expires when the worker holding it died mid-send, even though its job already completed', async () => {
    const email = `crashed.${backend}@example.test`;
    const id = await writeWelcomeMail(t.ctx.knex, north, email);
    // A worker claimed the row and died while sending: the claim is still held...
    await t.ctx.knex('mailOutbox').where({ id }).update({ status: 'sending', attempts: 1, claimedUntil: t.ctx.knex.raw(`now() + interval '1 hour'`) });
    await startWorker({ sweepEveryMs: 100, strandedAfterSeconds: 1 });
    // ...so BullMQ's re-run of the stalled job finds nothing to claim and completes without sending.
    await enqueueMailDelivery(t.ctx.queues.mail, id);
    await waitForQueueIdle(t.ctx.queues.mail);
    expect(await (await t.ctx.queues.mail.getJob(`outbox-${id}`))?.getState()).toBe('completed');
    expect((await outboxRow(t.ctx.knex, id)).status).toBe('sending');

    // The dead worker's claim runs out: the sweep must get the row sent, despite the completed job.
    await t.ctx.knex('mailOutbox').where({ id }).update({ claimedUntil: t.ctx.knex.raw(`now() - interval '1 second'`) });
    const row = await waitForOutboxStatus(t.ctx.knex, id, 'sent', 10_000);
    await waitForQueueIdle(t.ctx.queues.mail);
    expect(messagesTo(sink.messages, email)).toHaveLength(1);
    expect(row.attempts).toBe(2);
  });
});

describe.each(['redis', 'postgres'] as const)('mail without SMTP_URL on the %s queue backend', (backend) => {
  let t: TestApp;
  let worker: RunningWorker | undefined;

  beforeAll(async () => {
    t = await createTestApp({ backend, env: { PUBLIC_PORT: '8080' } });
    await makeShop(t.ctx.knex, { code: 'north', name: SHOP_NAME, hostname: 'north.localhost' });
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  it('writes the e-mail as an .eml file under DATA_DIR/mail', async () => {
    expect(t.ctx.config.smtpUrl).toBeUndefined();
    worker = await startMailWorker(t.ctx, { sweepEveryMs: 60_000 });
    const email = `eml.${backend}@example.test`;
    const { response } = await registerThroughStorefront(t.app, 'north.localhost', { email, firstname: 'Emil' });
    expect(response.status).toBe(303);

    const row = await waitForOutboxStatus(t.ctx.knex, await outboxIdFor(t.ctx.knex, email), 'sent');
    const directory = path.join(t.dataDir, 'mail');
    expect(await readdir(directory)).toEqual([emlFileName(row.messageId!)]);

    const raw = await readFile(path.join(directory, emlFileName(row.messageId!)), 'utf8');
    expect(raw).toContain(`Subject: Welcome to ${SHOP_NAME}`);
    expect(raw).toContain(`To: ${email}`);
    const mail = await simpleParser(raw);
    expect(mail.subject).toBe(`Welcome to ${SHOP_NAME}`);
    expect(mail.messageId).toBe(row.messageId);
    expect(mail.text).toContain('Hello Emil,');
    expect(mail.text).toContain(LOGIN_LINK);
  });
});
