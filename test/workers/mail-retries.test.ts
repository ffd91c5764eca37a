import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMailTransport } from '../../app/mail/mail-transport.js';
import { DELIVER_MAIL, enqueueMailDelivery } from '../../app/queues/mail.queue.js';
import { deliverOutboxMail } from '../../app/services/outbox.service.js';
import { startMailWorker, type RunningWorker } from '../../workers/mail.worker.js';
import { csrfFrom, loginStaff } from '../support/agents.js';
import { makeShop, makeStaff } from '../support/factories.js';
import { messagesTo, outboxRow, waitForOutboxStatus, waitForQueueIdle, waitUntil, writeWelcomeMail } from '../support/outbox.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** A port on 127.0.0.1 that nothing listens on: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe.each(['redis', 'postgres'] as const)('mail retries on the %s queue backend', (backend) => {
  let sink: SmtpSink;
  let t: TestApp;
  let north: { id: number; name: string };
  let staff: { email: string };
  let worker: RunningWorker | undefined;

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await createTestApp({ backend, env: { SMTP_URL: sink.url } });
    north = await makeShop(t.ctx.knex, { code: 'north', name: 'North Outfitters', hostname: 'north.localhost' });
    staff = await makeStaff(t.ctx.knex, { role: 'owner' });
  });
  beforeEach(async () => {
    await worker?.close();
    worker = undefined;
    sink.rejecting = false;
    sink.messages.length = 0;
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
    await sink?.close();
  });

  it('puts the row back to pending with the error while SMTP refuses, and sends it on a later attempt', async () => {
    sink.rejecting = true;
    const email = `later.${backend}@example.test`;
    const id = await writeWelcomeMail(t.ctx.knex, north, email);
    worker = await startMailWorker(t.ctx, { sweepEveryMs: 60_000 });
    await enqueueMailDelivery(t.ctx.queues.mail, id); // production options: 8 attempts, backoff from 2 s

    const waiting = await waitForOutboxStatus(t.ctx.knex, id, 'pending', 15_000, (row) => row.attempts === 1 && row.lastError !== null);
    expect(waiting.lastError).toMatch(/451|temporarily unavailable/i);
    expect(waiting.sentAt).toBeNull();
    expect(waiting.claimedUntil).toBeNull();
    expect(sink.refused).toBeGreaterThanOrEqual(1);
    // The row is written just before the processor throws; then BullMQ holds the job back (backoff).
    await waitForJobState(t, `outbox-${id}`, 'delayed');

    sink.rejecting = false;
    const sent = await waitForOutboxStatus(t.ctx.knex, id, 'sent', 15_000);
    await waitForQueueIdle(t.ctx.queues.mail);
    expect(sent.attempts).toBe(2);
    expect(sent.lastError).toBeNull();
    expect(messagesTo(sink.messages, email)).toHaveLength(1);
  });

  it('marks the row failed after the last attempt, shows it on the admin outbox with Retry, and sends it once when retried', async () => {
    sink.rejecting = true;
    worker = await startMailWorker(t.ctx, { sweepEveryMs: 60_000 });

    // Row A fails in the worker: the same job id as production, shortened to 2 attempts with a short backoff.
    const viaWorker = `failed-worker.${backend}@example.test`;
    const a = await writeWelcomeMail(t.ctx.knex, north, viaWorker);
    await t.ctx.queues.mail.add(DELIVER_MAIL, { outboxId: a }, { jobId: `outbox-${a}`, attempts: 2, backoff: { type: 'fixed', delay: 50 }, removeOnFail: false });
    const failedA = await waitForOutboxStatus(t.ctx.knex, a, 'failed');
    expect(failedA.attempts).toBe(2);
    expect(failedA.lastError).toMatch(/451|temporarily unavailable/i);
    await waitForJobState(t, `outbox-${a}`, 'failed');

    // Row B fails outside any queue: relayed twice against a closed SMTP port, the second time as the last attempt.
    const viaRelay = `failed-relay.${backend}@example.test`;
    const b = await writeWelcomeMail(t.ctx.knex, north, viaRelay);
    const deadSmtp = createMailTransport({ smtpUrl: `smtp://127.0.0.1:${await closedPort()}`, dataDir: t.dataDir });
    try {
      await expect(deliverOutboxMail(t.ctx.knex, deadSmtp, t.ctx.config.mailFrom, b, false)).rejects.toThrow(/ECONNREFUSED/);
      const pendingB = await outboxRow(t.ctx.knex, b);
      expect(pendingB).toMatchObject({ status: 'pending', attempts: 1 });
      expect(pendingB.lastError).toMatch(/ECONNREFUSED/);
      await expect(deliverOutboxMail(t.ctx.knex, deadSmtp, t.ctx.config.mailFrom, b, true)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      deadSmtp.close();
    }
    const failedB = await outboxRow(t.ctx.knex, b);
    expect(failedB).toMatchObject({ status: 'failed', attempts: 2 });
    expect(sink.messages).toHaveLength(0);

    // The admin sees both as failed, each with a Retry button.
    const admin = await loginStaff(t.app, staff.email);
    const page = await admin.get('/admin/outbox');
    expect(page.status).toBe(200);
    for (const [id, email] of [[a, viaWorker], [b, viaRelay]] as const) {
      const row = rowHtml(page.text, id);
      expect(row).toContain(email);
      expect(row).toContain('badge-mail-failed');
      expect(row).toMatch(/<form method="post" action="\/admin\/outbox\/\d+\/retry"[^>]*>[\s\S]*name="_csrf"[\s\S]*>Retry<\/button>/);
    }
    const detail = await admin.get(`/admin/outbox/${a}`);
    expect(detail.text).toContain('failed');
    expect(detail.text).toMatch(/451|temporarily unavailable/i);

    // Without the CSRF token the retry is refused and changes nothing.
    const forged = await admin.post(`/admin/outbox/${a}/retry`).type('form').send({});
    expect(forged.status).toBe(403);
    expect((await outboxRow(t.ctx.knex, a)).status).toBe('failed');

    // SMTP works again; the admin retries both.
    sink.rejecting = false;
    const token = csrfFrom(page.text);
    for (const id of [a, b]) {
      const retried = await admin.post(`/admin/outbox/${id}/retry`).type('form').send({ _csrf: token });
      expect(retried.status).toBe(303);
      expect(retried.headers.location).toBe('/admin/outbox');
    }
    const sentA = await waitForOutboxStatus(t.ctx.knex, a, 'sent');
    const sentB = await waitForOutboxStatus(t.ctx.knex, b, 'sent');
    await waitForQueueIdle(t.ctx.queues.mail);
    expect(messagesTo(sink.messages, viaWorker)).toHaveLength(1);
    expect(messagesTo(sink.messages, viaRelay)).toHaveLength(1);
    expect(sink.messages).toHaveLength(2);
    for (const row of [sentA, sentB]) {
      expect(row.attempts).toBe(3);
      expect(row.lastError).toBeNull();
      expect(row.sentAt).toBeInstanceOf(Date);
    }

    // Sent now: no Retry button any more, and a second retry is refused.
    const after = await admin.get('/admin/outbox');
    expect(rowHtml(after.text, a)).toContain('badge-mail-sent');
    expect(rowHtml(after.text, a)).not.toContain('Retry');
    const again = await admin.post(`/admin/outbox/${a}/retry`).type('form').send({ _csrf: csrfFrom(after.text) });
    expect(again.status).toBe(404);
    await waitForQueueIdle(t.ctx.queues.mail);
    expect(sink.messages).toHaveLength(2);
  });
});

function waitForJobState(t: TestApp, jobId: string, state: string) {
  return waitUntil(async () => (await (await t.ctx.queues.mail.getJob(jobId))?.getState()) === state, `job ${jobId} to be ${state}`);
}

/** The <tr> of the outbox table that links to message `id`. */
function rowHtml(html: string, id: number): string {
  const rows = html.split('<tr>').slice(1);
  const row = rows.find((r) => r.includes(`href="/admin/outbox/${id}"`));
  if (!row) throw new Error(`outbox page has no row for message ${id}`);
  return row.split('</tr>')[0]!;
}
