import type { Knex } from 'knex';
import { readShopSettings, type ShopSettings } from '../schemas/shop-settings.schema.js';

export interface ShopContext {
  id: number;
  code: string;
  name: string;
  currency: string;
  locale: string;
  timeZone: string;
  parentId: number | null;
  hostname: string;
  settings: ShopSettings;
}

const CACHE_MS = 10_000;

/**
 * Resolves a shop from a request's host name. Lookups are cached briefly per process: shop domains
 * change rarely, and every storefront request needs one.
 */
export function createShopResolver(knex: Knex) {
  const cache = new Map<string, { shop: ShopContext | null; expires: number }>();
  return async function resolveShop(hostname: string): Promise<ShopContext | null> {
    const key = hostname.toLowerCase();
    const hit = cache.get(key);
    if (hit && hit.expires > Date.now()) return hit.shop;
    const row = await knex('shopDomains')
      .join('shops', 'shops.id', 'shopDomains.shopId')
      .where('shopDomains.hostname', key)
      .first('shops.*');
    const shop = row ? { ...toShopContext(row), hostname: await primaryHostname(knex, row.id) } : null;
    if (cache.size > 10_000) cache.clear();
    cache.set(key, { shop, expires: Date.now() + CACHE_MS });
    return shop;
  };
}

/** The currencies the shops sell in, sorted. */
export async function shopCurrencies(knex: Knex | Knex.Transaction): Promise<string[]> {
  return (await knex('shops').distinct('currency').orderBy('currency')).map((row: { currency: string }) => row.currency);
}

/** The configured hostname used for links in e-mails: never the request's Host header. */
export async function primaryHostname(knex: Knex, shopId: number): Promise<string> {
  const row = await knex('shopDomains').where({ shopId }).orderBy([{ column: 'isPrimary', order: 'desc' }, { column: 'id' }]).first('hostname');
  return row?.hostname ?? '';
}

/** A shop as the admin's menus name it. */
export interface ShopOption {
  id: number;
  code: string;
  name: string;
  currency: string;
}

export interface NewShop {
  code: string;
  name: string;
  hostname: string;
  parentCode?: string;
  currency?: string;
  settings?: Partial<ShopSettings>;
}

export async function createShop(knex: Knex, input: NewShop): Promise<number> {
  return knex.transaction(async (trx) => {
    let parentId: number | null = null;
    if (input.parentCode) {
      const parent = await trx('shops').where({ code: input.parentCode }).first('id');
      if (!parent) throw new Error(`No shop with code "${input.parentCode}".`);
      parentId = parent.id;
    }
    const [shop] = await trx('shops')
      .insert({ code: input.code, name: input.name, parentId, currency: input.currency ?? 'EUR', settings: JSON.stringify(input.settings ?? {}) })
      .returning('id');
    await trx('shopDomains').insert({ shopId: shop.id, hostname: input.hostname.toLowerCase(), isPrimary: true });
    return shop.id as number;
  });
}

function toShopContext(row: Record<string, unknown>): Omit<ShopContext, 'hostname'> {
  return {
    id: row.id as number,
    code: row.code as string,
    name: row.name as string,
    currency: row.currency as string,
    locale: row.locale as string,
    timeZone: row.timeZone as string,
    parentId: (row.parentId as number | null) ?? null,
    settings: readShopSettings(row.settings),
  };
}
