import { BaseModel } from './base.model.js';

export type StaffRole = 'owner' | 'manager' | 'sales_rep' | 'support';
/** The shops a staff member may see: every shop, or these ids. */
export type ShopScope = 'all' | number[];

export class StaffUser extends BaseModel {
  static override tableName = 'staffUsers';

  id!: number;
  email!: string;
  name!: string;
  passwordHash!: string;
  role!: StaffRole;
  allShops!: boolean;
  salesTeamId!: number | null;
  sessionVersion!: number;
  disabledAt!: Date | null;
  lastLoginAt!: Date | null;
  createdAt!: Date;
}
