import { RateLimiterPostgres, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { AppContext } from '../../context.js';
import { TooManyRequestsError } from '../../lib/errors.js';

const WINDOW_SECONDS = 15 * 60;

/**
 * Failed-login counters (F-SEC). Three keys per attempt: the IP (slows one machine trying many
 * accounts), the account from that IP (stops guessing one password), and the account from anywhere
 * with a much higher ceiling (slows a botnet). A success clears the account-from-IP counter, so the
 * real user is not kept out by an attacker's failures from elsewhere until the high ceiling.
 */
export interface LoginThrottle {
  assertAllowed(ip: string, account: string): Promise<void>;
  recordFailure(ip: string, account: string): Promise<void>;
  recordSuccess(ip: string, account: string): Promise<void>;
}

export function createLoginThrottle(ctx: AppContext, area: 'admin' | 'shop'): LoginThrottle {
  const limiter = (name: string, points: number, duration: number): RateLimiterAbstract => {
    const keyPrefix = `${ctx.config.queuePrefix}:login:${area}:${name}`;
    if (ctx.redis) return new RateLimiterRedis({ storeClient: ctx.redis, useRedisPackage: true, keyPrefix, points, duration });
    return new RateLimiterPostgres({ storeClient: ctx.knex, storeType: 'knex', tableName: 'rate_limits', tableCreated: true, keyPrefix, points, duration });
  };
  const byIp = limiter('ip', 30, WINDOW_SECONDS);
  const byAccountAndIp = limiter('account-ip', 5, WINDOW_SECONDS);
  const byAccount = limiter('account', 100, 60 * 60);

  const counters = (ip: string, account: string) => {
    const key = account.trim().toLowerCase();
    return [
      { limiter: byIp, key: ip },
      { limiter: byAccountAndIp, key: `${key}|${ip}` },
      { limiter: byAccount, key },
    ];
  };

  return {
    async assertAllowed(ip, account) {
      const states = await Promise.all(counters(ip, account).map(async ({ limiter, key }) => ({ limiter, state: await limiter.get(key) })));
      const waits = states
        .filter(({ limiter, state }) => state !== null && state.consumedPoints >= limiter.points)
        .map(({ state }) => Math.ceil((state?.msBeforeNext ?? 0) / 1000));
      if (waits.length) throw new TooManyRequestsError(Math.max(...waits));
    },
    async recordFailure(ip, account) {
      await Promise.all(counters(ip, account).map(({ limiter, key }) => limiter.penalty(key)));
    },
    async recordSuccess(ip, account) {
      const [, pair] = counters(ip, account);
      await pair!.limiter.delete(pair!.key);
    },
  };
}
