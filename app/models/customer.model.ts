import type { Knex } from 'knex';
import { BaseModel } from './base.model.js';
import type { CustomerType } from '../schemas/shop-settings.schema.js';

export type CustomerState = 'guest' | 'invited' | 'active' | 'disabled';
export type AssignmentStatus = 'pending_approval' | 'active' | 'disabled';

const lowered = (column: string) => `lower(${column}::text)`;

/**
 * What customers' e-mail addresses are unique by: the address lowercased as citext compares it,
 * compared byte by byte (the index customers_email_key, migration 26). A look-up by e-mail uses
 * this expression, or it reads the whole table.
 */
export const emailKeyOf = (column = 'email') => `(${lowered(column)} COLLATE "C")`;

/** The index as INSERT … ON CONFLICT names it: its collation belongs to the index column, not to the expression. */
export const EMAIL_CONFLICT_TARGET = `((${lowered('email')}) COLLATE "C")`;

/** The condition "this customer's e-mail is `email`", in any case: `.where(sameEmail(db, email))`. */
export const sameEmail = (db: Knex | Knex.Transaction, email: string, column = 'email') => db.raw(`${emailKeyOf(column)} = lower(?::text)`, [email]);

export class Customer extends BaseModel {
  static override tableName = 'customers';

  id!: number;
  email!: string;
  passwordHash!: string | null;
  state!: CustomerState;
  salutation!: string;
  firstName!: string;
  middleName!: string;
  lastName!: string;
  phone!: string;
  customerType!: CustomerType;
  companyName1!: string;
  taxExempt!: boolean;
  wholesale!: boolean;
  businessAccountId!: number | null;
  sessionVersion!: number;
  createdAt!: Date;
  updatedAt!: Date;
  lastLoginAt!: Date | null;
  passwordChangedAt!: Date | null;
}
