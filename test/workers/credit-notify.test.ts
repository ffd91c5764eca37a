import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMailWorker, type RunningWorker } from '../../workers/mail.worker.js';
import { loginStaff } from '../support/agents.js';
import { postForm } from '../support/dashboard.js';
import { makeCustomer, makeShop, makeStaff } from '../support/factories.js';
import { messagesTo } from '../support/outbox.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** F-DASH-5 "notify customer": the credit e-mail goes from the dashboard through the outbox and the worker to SMTP, once. */
describe.each(['redis', 'postgres'] as const)('credit notification e-mail (%s backend)', (backend) => {
  let t: TestApp;
  let sink: SmtpSink;
  let worker: RunningWorker;

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await createTestApp({ backend, env: { SMTP_URL: sink.url, PUBLIC_PORT: '' } });
    worker = await startMailWorker(t.ctx, { sweepEveryMs: 200 });
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
    await sink?.close();
  });

  it('delivers one message with the amount, the reason and the new balance', async () => {
    const knex = t.ctx.knex;
    const shop = await makeShop(knex, { code: `notify-${backend}`, name: 'Notify Shop', hostname: `notify-${backend}.localhost` });
    const customer = await makeCustomer(knex, [shop.id], { email: `cora-${backend}@example.test`, firstName: 'Cora' });
    const owner = await loginStaff(t.app, (await makeStaff(knex, { role: 'owner' })).email);

    const key = `notify-key-${backend}-0123456789abcdef`;
    const fields = { key, shopId: String(shop.id), amount: '12.50', reason: 'Late delivery', reference: 'TICKET-9', notify: 'on' };
    expect((await postForm(owner, `/admin/customers/${customer.id}/credit/adjust`, fields)).status).toBeLessThan(400);
    // The same submission again (a double click) books and mails nothing more.
    await postForm(owner, `/admin/customers/${customer.id}/credit/adjust`, fields);

    await sink.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [message, ...more] = messagesTo(sink.messages, customer.email);
    expect(more).toHaveLength(0);
    expect(message!.subject).toBe('Your store credit at Notify Shop has changed');
    expect(message!.text).toContain('€12.50');
    expect(message!.text).toContain('Reason: Late delivery');
    expect(message!.text).toContain('Your store credit balance is now €12.50.');
    expect(message!.text).toContain(`http://notify-${backend}.localhost`);
    const row = await knex('mailOutbox').where({ customerId: customer.id, template: 'credit-adjusted' }).first();
    expect(row).toMatchObject({ status: 'sent', attempts: 1 });
  });
});
