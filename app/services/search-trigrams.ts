import type { Knex } from 'knex';

/**
 * Which part of a search term to look up in the trigram index on customers.search_text.
 *
 * For `search_text LIKE '%term%'` PostgreSQL reads the index's list of rows for every trigram of
 * the term and intersects them. A trigram most customers have (every "@gmail.com" address gives
 * "gma", "mai", "ail", "com") has a list of hundreds of thousands of rows at a million customers:
 * reading those lists was nearly all of a rare e-mail's search (900 index pages, 16–40 ms), while
 * the term's rarer trigrams alone find the same few rows in 50 pages. So the index is asked for
 * the longest part of the term without common trigrams, and the whole term is then checked on
 * each row found: the same matches, whichever part is looked up.
 *
 * Which trigrams are common is sampled from the customers by each process, per database, every
 * REFRESH_MS, in the background: a search never waits for it (until the first sample it looks up
 * the whole term).
 */

/** Share of the sampled customers above which a trigram is common. */
const COMMON_SHARE = 0.2;
const SAMPLE_ROWS = 5_000;
/** Fewer customers than this are not worth it, and too few to tell what is common. */
const MIN_SAMPLE = 1_000;
const REFRESH_MS = 15 * 60_000;
const RETRY_MS = 60_000;
/** A part with fewer trigrams than this could match too many customers to check one by one. */
const MIN_TRIGRAMS = 3;
/** Longer terms are looked up whole: they are rare, and finding the part takes the cube of the length. */
const MAX_TERM = 64;

interface CommonTrigrams {
  trigrams: Set<string>;
  sampledAt: number;
  refreshing: boolean;
}

// Per knex instance (one per database in a process); a transaction's client shares its config object.
const byDatabase = new WeakMap<object, CommonTrigrams>();
const keyOf = (knex: Knex) => knex.client.config as object;

/** Samples the customers' search texts and keeps the trigrams more than COMMON_SHARE of them have. */
export async function refreshCommonTrigrams(knex: Knex): Promise<void> {
  const reltuples = Number((await knex.raw("SELECT reltuples FROM pg_class WHERE oid = 'customers'::regclass")).rows[0]?.reltuples ?? -1);
  // Unanalysed (-1) or small: the whole table is the sample.
  const percent = reltuples > SAMPLE_ROWS ? (100 * SAMPLE_ROWS) / reltuples : 100;
  const { rows } = await knex.raw(
    `WITH sample AS (SELECT search_text FROM customers TABLESAMPLE SYSTEM (?::float4)),
          size AS (SELECT count(*) AS n FROM sample)
     SELECT t.trigram
       FROM sample, unnest(show_trgm(sample.search_text)) AS t(trigram)
      GROUP BY t.trigram
     HAVING count(*) > ?::float8 * (SELECT n FROM size) AND (SELECT n FROM size) >= ?::int`,
    [percent, COMMON_SHARE, MIN_SAMPLE],
  );
  const entry = byDatabase.get(keyOf(knex));
  byDatabase.set(keyOf(knex), { trigrams: new Set((rows as Array<{ trigram: string }>).map((row) => row.trigram)), sampledAt: Date.now(), refreshing: entry?.refreshing ?? false });
}

/** The common trigrams known now; starts a new sample in the background when they are missing or old. */
export function commonTrigrams(knex: Knex): Set<string> {
  const key = keyOf(knex);
  const entry = byDatabase.get(key) ?? { trigrams: new Set<string>(), sampledAt: 0, refreshing: false };
  // Never inside a caller's transaction: the sample would become part of it.
  if (!entry.refreshing && Date.now() - entry.sampledAt > REFRESH_MS && !knex.isTransaction) {
    entry.refreshing = true;
    byDatabase.set(key, entry);
    refreshCommonTrigrams(knex)
      .catch(() => {
        // A failed sample keeps the last one (or none: the whole term is looked up) and is tried
        // again a minute later, not on every search.
        const current = byDatabase.get(key);
        if (current) current.sampledAt = Date.now() - REFRESH_MS + RETRY_MS;
      })
      .finally(() => {
        const current = byDatabase.get(key);
        if (current) current.refreshing = false;
      });
  }
  return entry.trigrams;
}

/**
 * The trigrams PostgreSQL's pg_trgm looks up for `LIKE '%part%'`: each run of letters and digits,
 * padded with two spaces in front and one behind where the part has another character there
 * (not where the pattern's % is). A trigram with a letter outside ASCII is kept by pg_trgm as a
 * hash, which show_trgm shows as such: it is never among the common ones, which only costs speed.
 */
export function likeTrigrams(part: string): Set<string> {
  const trigrams = new Set<string>();
  // pg_trgm's word characters: letters and decimal digits (not ², ½ or Ⅳ).
  for (const word of part.matchAll(/[\p{Alphabetic}\p{Nd}]+/gu)) {
    const start = word.index;
    const padded = [...`${start > 0 ? '  ' : ''}${word[0]}${start + word[0].length < part.length ? ' ' : ''}`];
    for (let i = 0; i + 3 <= padded.length; i++) trigrams.add(padded.slice(i, i + 3).join(''));
  }
  return trigrams;
}

/**
 * The part of a (lower-case) term to look up in the index: the one with the most trigrams and no
 * common one, or null when the whole term is the best lookup (it has no common trigram, or no part
 * without them has MIN_TRIGRAMS).
 */
export function indexedPart(term: string, common: Set<string>): string | null {
  // By characters, not UTF-16 units: a part must not split a letter outside the BMP.
  const chars = Array.from(term);
  if (!common.size || chars.length > MAX_TERM) return null;
  const isCommon = (trigram: string) => common.has(trigram);
  if (![...likeTrigrams(term)].some(isCommon)) return null;
  let best: { part: string; trigrams: number } | null = null;
  // A part's trigrams only grow as it is extended to the right, so for each start the longest
  // part without a common trigram is the best one from there.
  for (let from = 0; from + 3 <= chars.length; from++) {
    let longest: { part: string; trigrams: number } | null = null;
    for (let to = from + 3; to <= chars.length; to++) {
      const part = chars.slice(from, to).join('');
      const trigrams = likeTrigrams(part);
      if ([...trigrams].some(isCommon)) break;
      longest = { part, trigrams: trigrams.size };
    }
    if (longest && longest.trigrams >= MIN_TRIGRAMS && longest.trigrams > (best?.trigrams ?? 0)) best = longest;
  }
  return best?.part ?? null;
}
