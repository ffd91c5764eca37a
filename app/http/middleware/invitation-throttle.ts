import { RateLimiterPostgres, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { AppContext } from '../../context.js';
import { TooManyRequestsError } from '../../lib/errors.js';

// Rate limits of the invitation token routes (F-SEC), on the same stores as the login throttle
// (Redis when configured, else the rate_limits table). Per IP: bad or used tokens, so nobody
// probes links at speed, and requests for a new link. Per e-mail: requests for a new link, so a
// customer's inbox cannot be flooded; that limit is silent, because the answer must not reveal
// whether the e-mail exists.

export interface InvitationThrottle {
  /** 429 once this IP has tried too many bad tokens. */
  assertTokenAllowed(ip: string): Promise<void>;
  recordBadToken(ip: string): Promise<void>;
  /** Counts a request for a new link: 429 for the IP past its limit; false when this e-mail had enough links lately. */
  allowNewLinkRequest(ip: string, email: string): Promise<boolean>;
}

export function createInvitationThrottle(ctx: AppContext): InvitationThrottle {
  const limiter = (name: string, points: number, duration: number): RateLimiterAbstract => {
    const keyPrefix = `${ctx.config.queuePrefix}:invitation:${name}`;
    if (ctx.redis) return new RateLimiterRedis({ storeClient: ctx.redis, useRedisPackage: true, keyPrefix, points, duration });
    return new RateLimiterPostgres({ storeClient: ctx.knex, storeType: 'knex', tableName: 'rate_limits', tableCreated: true, keyPrefix, points, duration });
  };
  const badTokens = limiter('bad-token-ip', 20, 15 * 60);
  const requestsByIp = limiter('request-ip', 10, 60 * 60);
  const requestsByEmail = limiter('request-email', 3, 60 * 60);

  const refuse = (limit: RateLimiterAbstract, state: RateLimiterRes | null) => {
    if (state && state.consumedPoints >= limit.points) throw new TooManyRequestsError(Math.max(1, Math.ceil(state.msBeforeNext / 1000)));
  };

  return {
    async assertTokenAllowed(ip) {
      refuse(badTokens, await badTokens.get(ip));
    },
    async recordBadToken(ip) {
      await badTokens.penalty(ip);
    },
    async allowNewLinkRequest(ip, email) {
      try {
        await requestsByIp.consume(ip);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) throw new TooManyRequestsError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
        throw rejection;
      }
      try {
        await requestsByEmail.consume(email.trim().toLowerCase());
        return true;
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return false;
        throw rejection;
      }
    },
  };
}
