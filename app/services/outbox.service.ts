import type { Knex } from 'knex';
import type { ModelObject } from 'objection';
import { renderMail, type MailTemplate } from '../mail/mail-templates.js';
import type { MailTransport } from '../mail/mail-transport.js';
import { MailOutbox } from '../models/mail-outbox.model.js';
import type { ShopScope } from '../models/staff-user.model.js';

export interface MailToQueue {
  shopId: number | null;
  customerId: number | null;
  to: string;
  template: MailTemplate;
  data: Record<string, unknown>;
}

/**
 * Writes the e-mail into the outbox inside the caller's transaction, so the mail exists exactly
 * when the change that causes it is committed. Delivery happens later, in the worker.
 */
export async function queueMail(trx: Knex.Transaction, mail: MailToQueue): Promise<number> {
  const rendered = renderMail(mail.template, mail.data);
  const [row] = await trx('mailOutbox')
    .insert({
      shopId: mail.shopId,
      customerId: mail.customerId,
      template: mail.template,
      toAddress: mail.to,
      subject: rendered.subject,
      textBody: rendered.text,
      htmlBody: rendered.html,
    })
    .returning('id');
  return (row as { id: number }).id;
}

/**
 * queueMail for the customers of one chunk of a bulk operation, in one statement: each e-mail
 * names the operation, whose worker hands them to the mail queue when it ends
 * (pendingBulkOperationMail). Answers each customer's outbox id.
 */
export async function queueBulkOperationMail(
  trx: Knex.Transaction,
  input: { operationId: number; shopId: number; template: MailTemplate; mails: Array<{ customerId: number; to: string; data: Record<string, unknown> }> },
): Promise<Map<number, number>> {
  const rendered = input.mails.map((mail) => renderMail(input.template, mail.data));
  const result = await trx.raw(
    `INSERT INTO mail_outbox (shop_id, customer_id, template, to_address, subject, text_body, html_body, bulk_operation_id)
     SELECT ?, m.customer_id, ?, m.to_address, m.subject, m.text_body, m.html_body, ?
       FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[]) AS m(customer_id, to_address, subject, text_body, html_body)
     RETURNING id, customer_id`,
    [
      input.shopId, input.template, input.operationId,
      input.mails.map((mail) => mail.customerId), input.mails.map((mail) => mail.to), rendered.map((m) => m.subject), rendered.map((m) => m.text), rendered.map((m) => m.html),
    ],
  );
  return new Map((result.rows as Array<{ id: number; customer_id: number }>).map((row) => [Number(row.customer_id), Number(row.id)]));
}

const CLAIM_SECONDS = 120;

export type DeliveryOutcome = 'sent' | 'skipped';

/**
 * Sends one outbox row at most once: the row is claimed with a conditional update (a second relay
 * of the same row finds nothing to claim), and a claim that outlives a crashed worker expires.
 */
export async function deliverOutboxMail(
  knex: Knex,
  transport: MailTransport,
  from: string,
  outboxId: number,
  isLastAttempt: boolean,
): Promise<DeliveryOutcome> {
  const [claimed] = (await knex('mailOutbox')
    .where({ id: outboxId })
    .andWhere((q) => q.where('status', 'pending').orWhere((q2) => q2.where('status', 'sending').andWhere('claimedUntil', '<', knex.fn.now())))
    .update({ status: 'sending', claimedUntil: knex.raw(`now() + interval '${CLAIM_SECONDS} seconds'`), attempts: knex.raw('attempts + 1') })
    .returning('*')) as MailOutbox[];
  if (!claimed) return 'skipped';

  const messageId = `<outbox-${claimed.id}.${claimed.createdAt.getTime()}@customer-portal>`;
  try {
    await transport.send({ from, to: claimed.toAddress, subject: claimed.subject, text: claimed.textBody, html: claimed.htmlBody, messageId });
  } catch (error) {
    await knex('mailOutbox')
      .where({ id: outboxId })
      .update({ status: isLastAttempt ? 'failed' : 'pending', claimedUntil: null, lastError: String((error as Error).message ?? error).slice(0, 500) });
    throw error;
  }
  await knex('mailOutbox').where({ id: outboxId }).update({ status: 'sent', sentAt: knex.fn.now(), claimedUntil: null, messageId, lastError: null });
  return 'sent';
}

/** The e-mails a bulk operation wrote that are still waiting: the worker hands them to the mail queue. */
export async function pendingBulkOperationMail(knex: Knex, operationId: number): Promise<number[]> {
  const rows = await knex('mailOutbox').where({ bulkOperationId: operationId, status: 'pending' }).orderBy('id').select('id');
  return rows.map((row: { id: number }) => Number(row.id));
}

/** Rows still waiting after a grace period: their enqueue was lost (queue down) or never happened. */
export async function findStrandedOutboxIds(knex: Knex, graceSeconds: number, limit = 500): Promise<number[]> {
  const rows = await knex('mailOutbox')
    .select('id')
    .whereIn('status', ['pending', 'sending'])
    .andWhere('createdAt', '<', knex.raw(`now() - make_interval(secs => ?)`, [graceSeconds]))
    .andWhere((q) => q.whereNull('claimedUntil').orWhere('claimedUntil', '<', knex.fn.now()))
    .orderBy('createdAt')
    .limit(limit);
  return rows.map((row: { id: number }) => row.id);
}

export async function markOutboxFailed(knex: Knex, outboxId: number, reason: string): Promise<void> {
  await knex('mailOutbox').where({ id: outboxId }).whereNot('status', 'sent').update({ status: 'failed', claimedUntil: null, lastError: reason.slice(0, 500) });
}

export async function retryOutboxMail(knex: Knex, scope: ShopScope, outboxId: number): Promise<boolean> {
  const updated = await scopedOutbox(knex, scope).where('mailOutbox.id', outboxId).where('status', 'failed').update({ status: 'pending', lastError: null });
  return updated > 0;
}

export async function listOutbox(knex: Knex, scope: ShopScope, options: { limit: number; beforeId?: number }): Promise<MailOutbox[]> {
  const query = scopedOutbox(knex, scope)
    .leftJoin('shops', 'shops.id', 'mailOutbox.shopId')
    .select('mailOutbox.id', 'mailOutbox.toAddress', 'mailOutbox.subject', 'mailOutbox.template', 'mailOutbox.status', 'mailOutbox.attempts', 'mailOutbox.lastError', 'mailOutbox.createdAt', 'mailOutbox.sentAt', 'shops.name as shopName')
    .orderBy('mailOutbox.id', 'desc')
    .limit(options.limit);
  if (options.beforeId) query.where('mailOutbox.id', '<', options.beforeId);
  return query;
}

/**
 * Mail whose body carries a link that logs someone in or sets a password: staff see that it was
 * sent, never the link (whoever reads it could take over the account).
 */
export const SECRET_LINK_TEMPLATES: readonly string[] = ['invitation'];

export async function findOutboxMail(knex: Knex, scope: ShopScope, outboxId: number): Promise<(ModelObject<MailOutbox> & { bodyWithheld: boolean }) | undefined> {
  const mail = (await scopedOutbox(knex, scope).where('mailOutbox.id', outboxId).first('mailOutbox.*')) as ModelObject<MailOutbox> | undefined;
  if (!mail) return undefined;
  const bodyWithheld = SECRET_LINK_TEMPLATES.includes(mail.template);
  return { ...mail, textBody: bodyWithheld ? '' : mail.textBody, htmlBody: bodyWithheld ? '' : mail.htmlBody, bodyWithheld };
}

/** Staff limited to some shops see those shops' mail only; platform mail (no shop) needs all shops. */
function scopedOutbox(knex: Knex, scope: ShopScope) {
  const query = knex('mailOutbox');
  if (scope !== 'all') query.whereIn('mailOutbox.shopId', scope);
  return query;
}
