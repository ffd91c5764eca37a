import type { Knex } from 'knex';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createKnex } from '../../app/db/knex.js';
import { parseCustomerListQuery } from '../../app/schemas/customer-list.schema.js';
import { countCustomers } from '../../app/services/customer-list-count.js';
import { customerListFilter } from '../../app/services/customer-list-filter.js';
import { listCustomers } from '../../app/services/customer-list.service.js';
import { commonTrigrams, indexedPart, likeTrigrams, refreshCommonTrigrams } from '../../app/services/search-trigrams.js';
import { eventually, insertManyCustomers } from '../support/customer-list.js';
import { useDatabaseWithShop } from '../support/database.js';
import { TEST_DATABASE_URL } from '../support/env.js';

describe('the trigrams a LIKE search looks up', () => {
  it('pads a word where the part has another character beside it, not at the ends of the part', () => {
    expect([...likeTrigrams('smith@gma')]).toEqual(['smi', 'mit', 'ith', 'th ', '  g', ' gm', 'gma']);
    expect([...likeTrigrams('ch1000000')]).toEqual(['ch1', 'h10', '100', '000']);
    expect([...likeTrigrams('ab')]).toEqual([]);
    expect([...likeTrigrams('müller')]).toEqual(['mül', 'üll', 'lle', 'ler']);
    // Superscripts and fractions are not word characters to pg_trgm.
    expect([...likeTrigrams('ab²cd')]).toEqual(['ab ', '  c', ' cd']);
  });

  it('looks up the longest part without common trigrams, or the whole term', () => {
    const common = new Set(['ben', 'enc', 'nch', 'gma', 'mai', 'ail', 'com']);
    expect(indexedPart('bench1000000', common)).toBe('ch1000000');
    expect(indexedPart('john.smith@gmail.com', common)).toBe('john.smith@gm');
    // No common trigram: the whole term. Nothing known: the whole term.
    expect(indexedPart('andersen', common)).toBeNull();
    expect(indexedPart('bench1000000', new Set())).toBeNull();
    // What is left is too little to look up alone (fewer than three trigrams).
    expect(indexedPart('bench12', common)).toBeNull();
    expect(indexedPart('gmail', common)).toBeNull();
    // A letter outside the BMP is never split (its half would match nothing in PostgreSQL).
    expect(indexedPart('𝐉ohn.smith@gmail.com', common)).toBe('𝐉ohn.smith@gm');
    // Over-long terms are looked up whole.
    expect(indexedPart(`bench${'7'.repeat(70)}`, common)).toBeNull();
  });

  it('after a failed sample, samples again a minute later, not on every search', async () => {
    // The maintenance database has no customers table: every sample fails.
    const elsewhere = createKnex(TEST_DATABASE_URL);
    const sent: string[] = [];
    elsewhere.on('query', (query: { sql: string }) => sent.push(query.sql));
    try {
      expect(commonTrigrams(elsewhere).size).toBe(0);
      await eventually(async () => (sent.length === 1 ? true : undefined), 5_000, 'the sample');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(commonTrigrams(elsewhere).size).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(sent).toHaveLength(1);
      // A minute on, the next search samples again.
      const now = Date.now();
      vi.spyOn(Date, 'now').mockReturnValue(now + 61_000);
      commonTrigrams(elsewhere);
      await eventually(async () => (sent.length === 2 ? true : undefined), 5_000, 'the second sample');
    } finally {
      vi.restoreAllMocks();
      await elsewhere.destroy();
    }
  });
});

/**
 * With common trigrams sampled, a search looks up its rarer part and checks the whole term: the
 * matches are exactly those of `search_text LIKE '%term%'`.
 */
describe('searching by the rarer part of a term', () => {
  let knex: Knex;
  let shopId: number;
  useDatabaseWithShop((db) => ({ knex, shopId } = db));

  beforeAll(async () => {
    // Every address has "bench" in it; the digits tell them apart.
    await insertManyCustomers(knex, 3_000, { emailPrefix: 'bench', shopIds: [shopId], firstName: 'Lena', lastName: 'Rossi' });
    await knex.raw("INSERT INTO customers (email, first_name, last_name) VALUES ('bench-odd%_\\one@example.test', 'Odd', 'Percent'), ('<script>bench9@example.test', 'Script', 'Tag'), ('x𝐉bench7777@example.test', 'Astral', 'Letter')");
    await knex.raw('ANALYZE customers');
    await refreshCommonTrigrams(knex);
  });

  const emails = async (q: string) => {
    const query = parseCustomerListQuery({ q, shop: 'all', size: '100', sort: 'email', dir: 'asc' });
    return (await listCustomers(knex, { kind: 'all' }, query, null)).rows.map((row) => row.email);
  };
  /** The matches by the whole term alone, as the search was before. */
  const likeAll = async (q: string) => {
    const pattern = `%${q.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
    return (await knex('customers').whereRaw('search_text LIKE ?', [pattern]).orderBy('email').limit(100).pluck('email')) as string[];
  };

  it('samples the trigrams most customers have', () => {
    const common = commonTrigrams(knex);
    expect(common.has('ben')).toBe(true);
    expect(common.has('exa')).toBe(true);
    expect(common.has('h12')).toBe(false);
  });

  it('finds exactly what the whole term finds, looking up only its rarer part', async () => {
    const sql = customerListFilter(knex, { kind: 'all' }, { q: 'bench1234', filters: parseCustomerListQuery({}).filters }, null).toSQL();
    expect(sql.sql).toContain('strpos(c.search_text, ?) > 0');
    expect(sql.bindings).toContain('%h1234%');

    expect(await emails('bench1234')).toEqual(['bench1234@example.test']);
    for (const q of ['bench1234', 'BENCH123', 'bench12', 'ch299', 'bench2999@example', 'lena', 'rossi12', 'bench-odd%_\\one', '<script>bench9', "bench1' OR 1=1 --", 'bench%', 'bench_1', '𝐉bench7777', 'lena rossi1', 'rossi2999 ']) {
      expect(await emails(q), q).toEqual(await likeAll(q));
    }
    expect(await emails('bench-odd%_\\one')).toEqual(['bench-odd%_\\one@example.test']);
    expect(await emails("bench1' OR 1=1 --")).toEqual([]);
    expect(await emails('𝐉bench7777')).toEqual(['x𝐉bench7777@example.test']);
  });

  it('counts what it finds', async () => {
    const filters = parseCustomerListQuery({}).filters;
    expect(await countCustomers(knex, { kind: 'all' }, { q: 'bench123', filters }, null)).toEqual({ value: 11, exact: true });
    expect(await countCustomers(knex, { kind: 'shop', shopId }, { q: 'bench2999', filters }, null)).toEqual({ value: 1, exact: true });
  });
});
