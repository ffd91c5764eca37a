import type { Job } from 'bullmq';
import type { Knex } from 'knex';
import type { MailTransport } from '../../app/mail/mail-transport.js';
import { deliverOutboxMail } from '../../app/services/outbox.service.js';

export interface DeliverMailDeps {
  knex: Knex;
  transport: MailTransport;
  from: string;
}

/** Sends one outbox row; a throw lets BullMQ retry with backoff, the last failure marks the row failed. */
export function deliverMailProcessor(deps: DeliverMailDeps) {
  return async (job: Job<{ outboxId: number }>) => {
    const isLastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    return deliverOutboxMail(deps.knex, deps.transport, deps.from, job.data.outboxId, isLastAttempt);
  };
}
