import passportModule from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import type { Request } from 'express';
import type { AppContext } from '../context.js';
import { authenticateCustomer } from '../services/customer-account.service.js';
import { authenticateStaff } from '../services/staff.service.js';

export const STAFF_STRATEGY = 'staff-local';
export const CUSTOMER_STRATEGY = 'customer-local';

/** What the session remembers: who, and the account's session version at login. */
interface SessionUser {
  kind: 'staff' | 'customer';
  id: number;
  version: number;
  /** Customers only: the shop the session was opened on; on any other shop it is anonymous. */
  shopId?: number;
}

/**
 * Passport instance for both hosts. Strategies report a refusal reason in `info.reason` so the
 * login pages can answer without revealing whether an e-mail exists.
 */
export function createPassport(ctx: AppContext) {
  const passport = new passportModule.Passport();
  const fields = { usernameField: 'email', passwordField: 'password', passReqToCallback: true as const };

  passport.use(
    STAFF_STRATEGY,
    new LocalStrategy(fields, (_req: Request, email, password, done) => {
      authenticateStaff(ctx.knex, email, password).then(
        (staff) => (staff ? done(null, { kind: 'staff', id: staff.id, version: staff.sessionVersion } as SessionUser) : done(null, false, { message: 'invalid' })),
        done,
      );
    }),
  );

  passport.use(
    CUSTOMER_STRATEGY,
    new LocalStrategy(fields, (req: Request, email, password, done) => {
      const shop = req.shop;
      if (!shop) return done(null, false, { message: 'invalid' });
      authenticateCustomer(ctx.knex, shop, email, password).then(
        (result) =>
          result.ok
            ? done(null, { kind: 'customer', id: result.customer.id, version: result.customer.sessionVersion, shopId: shop.id } as SessionUser)
            : done(null, false, { message: result.reason }),
        done,
      );
    }),
  );

  passport.serializeUser((user, done) => done(null, user));
  passport.deserializeUser((user: SessionUser, done) => done(null, user));
  return passport;
}

export function sessionVersionOf(user: Express.User): number {
  return (user as unknown as SessionUser).version;
}

export function sessionShopOf(user: Express.User): number | undefined {
  return (user as unknown as SessionUser).shopId;
}
