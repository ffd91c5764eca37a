import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKnex, IDLE_CONNECTION_MS, poolConfig } from '../../app/db/knex.js';
import { TEST_DATABASE_URL } from '../support/env.js';

/**
 * A pooled connection outlives a staff member's pause on a page: a new one is a new PostgreSQL
 * process whose caches start empty, which made the next list page several times slower. The pools'
 * clocks are faked; the connections and queries are real.
 */
describe('connection pools', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps an unused knex connection for minutes and closes it after IDLE_CONNECTION_MS', async () => {
    // tarn reaps idle connections from an interval, by Date.now().
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const knex = createKnex(TEST_DATABASE_URL);
    try {
      const backend = async () => ((await knex.raw('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number }).pid;
      const first = await backend();
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      expect(await backend()).toBe(first);
      await vi.advanceTimersByTimeAsync(IDLE_CONNECTION_MS + 5_000);
      expect(await backend()).not.toBe(first);
    } finally {
      vi.useRealTimers();
      await knex.destroy();
    }
  });

  it('keeps an unused connection of the session stores’ pools for minutes and closes it after IDLE_CONNECTION_MS', async () => {
    // pg's pool closes an idle connection from a timeout of its own.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const pool = new pg.Pool(poolConfig(TEST_DATABASE_URL));
    try {
      const backend = async () => ((await pool.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number }).pid;
      const first = await backend();
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      expect(pool.totalCount).toBe(1);
      expect(await backend()).toBe(first);
      await vi.advanceTimersByTimeAsync(IDLE_CONNECTION_MS + 5_000);
      expect(pool.totalCount).toBe(0);
      expect(await backend()).not.toBe(first);
    } finally {
      vi.useRealTimers();
      await pool.end();
    }
  });
});
