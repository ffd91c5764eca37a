import type { Modifiers } from 'objection';
import { BaseModel } from './base.model.js';
import type { CustomerType } from '../schemas/shop-settings.schema.js';
import type { ShopScope } from './staff-user.model.js';

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

  static override modifiers: Modifiers = {
    /** Only customers assigned to at least one shop the staff member may see. */
    inScope(query, scope: ShopScope) {
      if (scope === 'all') return;
      query.whereExists((sub) =>
        sub.select(1).from('customerShops as scope').whereRaw('scope.customer_id = customers.id').whereIn('scope.shopId', scope),
      );
    },
  };
}

export class CustomerShop extends BaseModel {
  static override tableName = 'customerShops';
  static override idColumn = ['customerId', 'shopId'];

  customerId!: number;
  shopId!: number;
  status!: AssignmentStatus;
  ordersCount!: number;
  totalSpent!: number;
  lastOrderId!: number | null;
  lastOrderAt!: Date | null;
  createdAt!: Date;

  static override modifiers: Modifiers = {
    forShop(query, shopId: number) {
      query.where('customerShops.shopId', shopId);
    },
  };
}
