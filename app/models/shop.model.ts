import type { Modifiers } from 'objection';
import { BaseModel } from './base.model.js';
import type { ShopSettings } from '../schemas/shop-settings.schema.js';

export class Shop extends BaseModel {
  static override tableName = 'shops';

  id!: number;
  code!: string;
  name!: string;
  currency!: string;
  locale!: string;
  timeZone!: string;
  parentId!: number | null;
  settings!: ShopSettings;
  createdAt!: Date;
  updatedAt!: Date;

  static override modifiers: Modifiers = {
    visibleTo(query, shopIds: number[] | 'all') {
      if (shopIds !== 'all') query.whereIn('shops.id', shopIds);
    },
  };
}

export class ShopDomain extends BaseModel {
  static override tableName = 'shopDomains';

  id!: number;
  shopId!: number;
  hostname!: string;
  isPrimary!: boolean;
}
