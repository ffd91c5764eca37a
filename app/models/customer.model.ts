import { BaseModel } from './base.model.js';
import type { CustomerType } from '../schemas/shop-settings.schema.js';

export type CustomerState = 'guest' | 'invited' | 'active' | 'disabled';
export type AssignmentStatus = 'pending_approval' | 'active' | 'disabled';

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
