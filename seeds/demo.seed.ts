import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { hashPassword } from '../app/auth/password.js';
import { seedDemoInvitations } from './demo-invitations.seed.js';
import { seedDemoQuotes } from './demo-quotes.seed.js';
import { seedDemoPricing } from './demo-pricing.seed.js';
import { seedDemoGroups } from './demo-groups.seed.js';
import { seedDemoDocuments } from './demo-documents.seed.js';
import type { FileStorage } from '../app/storage/file-storage.js';

export interface DemoLogins {
  owner: { email: string; password: string };
  salesRep: { email: string; password: string };
  customers: { email: string; password: string };
}

const FIRST_NAMES = ['Alice', 'Bruno', 'Chloé', 'Dmitri', 'Elif', 'Farah', 'Giulia', 'Hannes', 'Ines', 'Jonas', 'Kaito', 'Lena', 'Mateo', 'Nora', 'Oskar', 'Priya', 'Quentin', 'Rosa', 'Søren', 'Tomás', 'Ugo', 'Vera', 'Wiebke', 'Xavier', 'Yara', 'Zoë'];
const LAST_NAMES = ['Andersen', 'Becker', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'García', 'Hansen', 'Ivanova', 'Jansen', 'Kowalski', 'Larsen', 'Müller', 'Novak', "O'Brien", 'Petrov', 'Rossi', 'Schmidt', 'Tanaka', 'Umarov', 'Vogel', 'Weber', 'Yilmaz', 'Zimmermann'];
const CITIES: Array<[string, string, string]> = [['Hamburg', 'DE', '20095'], ['Berlin', 'DE', '10115'], ['Vienna', 'AT', '1010'], ['Zürich', 'CH', '8001'], ['Copenhagen', 'DK', '1050'], ['Amsterdam', 'NL', '1012'], ['Lyon', 'FR', '69001'], ['Milan', 'IT', '20121'], ['Madrid', 'ES', '28001'], ['Oslo', 'NO', '0150']];
const TAGS = ['vip', 'newsletter', 'wholesale-lead', 'friend', 'returns', 'gift-buyer', 'b2b-prospect'];
const STATUSES = ['completed', 'completed', 'completed', 'shipped', 'processing', 'placed', 'cancelled'] as const;

/** A small deterministic generator, so the demo data is the same on every machine. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)), pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]! };
}

const password = () => randomBytes(9).toString('base64url');

/** Demo data of SPEC section 15 (what exists so far). Runs in one transaction on an empty database. */
export async function seedDemoData(knex: Knex, options: { customers?: number; /** Where demo documents' files go; without it none are seeded. */ files?: FileStorage } = {}): Promise<DemoLogins> {
  const logins: DemoLogins = {
    owner: { email: 'owner@example.test', password: password() },
    salesRep: { email: 'rep@example.test', password: password() },
    customers: { email: 'alice@example.test', password: password() },
  };
  const [ownerHash, repHash, customerHash] = await Promise.all([hashPassword(logins.owner.password), hashPassword(logins.salesRep.password), hashPassword(logins.customers.password)]);
  const random = prng(42);

  await knex.transaction(async (trx) => {
    const shop = async (code: string, name: string, settings: object = {}, parentId: number | null = null) => {
      const [row] = await trx('shops').insert({ code, name, currency: 'EUR', parentId, settings: JSON.stringify(settings) }).returning('id');
      await trx('shopDomains').insert({ shopId: row.id, hostname: `${code}.localhost`, isPrimary: true });
      return row.id as number;
    };
    const north = await shop('north', 'North Outfitters');
    const south = await shop('south', 'South Supply Co.', { approvalRequiredFor: ['B2B'] });
    const trade = await shop('trade', 'Trade Hub', { registrationTypes: ['B2B'], approvalRequiredFor: ['B2B'] });
    const tradeEast = await shop('trade-east', 'Trade Hub East', { registrationTypes: ['B2B'] }, trade);
    const tradeWest = await shop('trade-west', 'Trade Hub West', { registrationTypes: ['B2B'] }, trade);
    const shopIds = [north, south, trade, tradeEast, tradeWest];

    const [team] = await trx('salesTeams').insert({ name: 'North team' }).returning('id');
    await trx('staffUsers').insert({ email: logins.owner.email, name: 'Olivia Owner', passwordHash: ownerHash, role: 'owner', allShops: true });
    const [rep] = await trx('staffUsers').insert({ email: logins.salesRep.email, name: 'Sam Sales', passwordHash: repHash, role: 'sales_rep', salesTeamId: team.id }).returning('id');
    await trx('staffShopScopes').insert({ staffUserId: rep.id, shopId: north });

    const businesses = await trx('businessAccounts')
      .insert([{ name: 'Fjord Logistics AS', taxExempt: true }, { name: 'Alpine Hotels GmbH' }, { name: 'Lagoon Retail SRL' }])
      .returning('id');

    const products: Record<number, Array<{ id: number; sku: string; name: string; price: number }>> = {};
    for (const shopId of shopIds) {
      const rows = Array.from({ length: 12 }, (_, i) => ({ shopId, sku: `SKU-${shopId}-${String(i + 1).padStart(3, '0')}`, name: `${random.pick(['Merino', 'Canvas', 'Down', 'Trail', 'Harbour', 'Linen'])} ${random.pick(['Jacket', 'Tote', 'Beanie', 'Boots', 'Scarf', 'Backpack'])}`, price: random.int(9, 240) * 100 - 1 }));
      products[shopId] = await trx('products').insert(rows).returning(['id', 'sku', 'name', 'price']);
    }

    const count = options.customers ?? 320;
    for (let i = 0; i < count; i++) {
      const firstName = i === 0 ? 'Alice' : random.pick(FIRST_NAMES);
      const lastName = i === 0 ? 'Andersen' : random.pick(LAST_NAMES);
      const roll = random.next();
      const state = i === 0 ? 'active' : roll < 0.08 ? 'guest' : roll < 0.15 ? 'invited' : roll < 0.2 ? 'disabled' : 'active';
      const customerType = i === 0 ? 'B2C' : state === 'guest' ? 'GUEST' : random.pick(['B2C', 'B2C', 'B2C', 'B2B', 'B2E'] as const);
      const createdAt = new Date(Date.UTC(2024, 0, 1) + random.int(0, 1000) * 86_400_000);
      const email = i === 0 ? logins.customers.email : `${firstName}.${lastName}.${i}@example.test`.normalize('NFD').replace(/[^\x20-\x7e]/g, '').replace(/'/g, '').toLowerCase();
      const [customer] = await trx('customers')
        .insert({
          email,
          passwordHash: state === 'active' || state === 'disabled' ? customerHash : null,
          state,
          firstName,
          lastName,
          phone: `+49 40 ${random.int(1000000, 9999999)}`,
          customerType,
          companyName1: customerType === 'B2B' ? `${lastName} ${random.pick(['GmbH', 'AG', 'AS', 'SRL'])}` : '',
          marketingOptIn: random.next() < 0.4,
          taxExempt: customerType === 'B2B' && random.next() < 0.2,
          wholesale: customerType === 'B2B' && random.next() < 0.5,
          businessAccountId: customerType === 'B2B' ? random.pick(businesses).id : null,
          salesTeamId: random.next() < 0.3 ? team.id : null,
          createdAt,
          updatedAt: createdAt,
          passwordChangedAt: state === 'active' ? createdAt : null,
        })
        .returning('id');

      const home = i === 0 ? north : customerType === 'B2B' ? random.pick([trade, tradeEast, tradeWest, south]) : random.pick([north, north, south]);
      const assigned = new Set([home]);
      if (random.next() < 0.25) assigned.add(random.pick([north, south]));
      await trx('customerShops').insert(
        [...assigned].map((shopId) => ({
          customerId: customer.id,
          shopId,
          status: state === 'disabled' ? 'disabled' : customerType === 'B2B' && random.next() < 0.1 ? 'pending_approval' : 'active',
          createdAt,
        })),
      );

      const [city, country, postcode] = random.pick(CITIES);
      const street = { customerId: customer.id, firstName, lastName, city, postcode, countryCode: country };
      const hasWarehouse = random.next() < 0.3;
      await trx('addresses').insert([
        { ...street, line1: `${random.pick(['Harbour', 'Mill', 'Station', 'Linden'])} Street ${random.int(1, 120)}`, isDefaultBilling: true, isDefaultShipping: !hasWarehouse },
        ...(hasWarehouse ? [{ ...street, line1: `Warehouse ${random.int(1, 9)}`, isDefaultShipping: true }] : []),
      ]);

      const tags = TAGS.filter(() => random.next() < 0.15);
      if (tags.length) await trx('customerTags').insert(tags.map((tag) => ({ customerId: customer.id, tag })));

      const orders = state === 'invited' ? 0 : i === 0 ? 7 : random.int(0, 9);
      for (let n = 0; n < orders; n++) {
        const shopId = random.pick([...assigned]);
        const lines = Array.from({ length: random.int(1, 3) }, () => {
          const product = random.pick(products[shopId]!);
          return { productId: product.id, sku: product.sku, name: product.name, quantity: random.int(1, 3), unitPrice: product.price };
        });
        const subtotal = lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);
        const placedAt = new Date(createdAt.getTime() + random.int(1, 600) * 86_400_000);
        const [order] = await trx('orders')
          .insert({ shopId, customerId: customer.id, number: `${shopId}-${customer.id}-${n + 1}`, status: random.pick(STATUSES), currency: 'EUR', subtotal, tax: Math.round(subtotal * 0.19), total: subtotal + Math.round(subtotal * 0.19), placedAt: placedAt > new Date() ? new Date() : placedAt })
          .returning('id');
        await trx('orderLines').insert(lines.map((line) => ({ ...line, orderId: order.id })));
      }
    }
    await seedDemoInvitations(trx);
    await seedDemoQuotes(trx);
    await seedDemoPricing(trx);
    await seedDemoGroups(trx);
    if (options.files) await seedDemoDocuments(trx, options.files);
  });
  return logins;
}

export async function databaseIsEmpty(knex: Knex): Promise<boolean> {
  const row = await knex('shops').count<{ count: string }[]>('* as count').first();
  return Number(row?.count ?? 0) === 0;
}
