import { BaseModel } from './base.model.js';

export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed';

export class MailOutbox extends BaseModel {
  static override tableName = 'mailOutbox';

  id!: number;
  shopId!: number | null;
  customerId!: number | null;
  template!: string;
  toAddress!: string;
  subject!: string;
  textBody!: string;
  htmlBody!: string;
  status!: OutboxStatus;
  attempts!: number;
  lastError!: string | null;
  messageId!: string | null;
  createdAt!: Date;
  sentAt!: Date | null;
}
