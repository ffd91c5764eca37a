import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Authenticator } from 'passport';
import { ValidationError } from '../lib/errors.js';
import { loginSchema } from '../schemas/auth.schema.js';
import { parseForm } from '../schemas/form.js';
import type { LoginThrottle } from './middleware/login-throttle.js';
import { render } from './render.js';

export interface LoginPage {
  strategy: string;
  template: string;
  /** Where to go after a successful login. */
  successUrl: string;
  /** A `next` query parameter under this path is where to go instead (the page asked for before logging in). */
  nextPrefix?: string;
  /** The message for a refusal reason reported by the strategy. */
  refusalMessage(reason: string): string;
}

type PassportLike = Pick<Authenticator, 'authenticate'>;

/**
 * POST handler shared by the admin and shop login forms: validate, throttle, authenticate, and
 * log in on a fresh session id (passport regenerates the session on login).
 */
/**
 * The `next` parameter when it is a path of ours under `prefix`: never another host (`//evil`,
 * `/\\evil`), never a scheme, never control characters.
 */
export function safeNextUrl(raw: unknown, prefix: string | undefined): string | null {
  if (!prefix || typeof raw !== 'string' || raw.length > 2000) return null;
  // eslint-disable-next-line no-control-regex -- control characters have no place in a path
  if (!raw.startsWith(prefix) || raw.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(raw)) return null;
  return raw;
}

export function loginHandler(passport: PassportLike, throttle: LoginThrottle, page: LoginPage): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const rawEmail = typeof req.body?.email === 'string' ? req.body.email : '';
    const nextUrl = safeNextUrl(req.query.next, page.nextPrefix);
    try {
      parseForm(loginSchema, req.body);
      await throttle.assertAllowed(req.ip ?? 'unknown', rawEmail);
    } catch (error) {
      if (error instanceof ValidationError) return render(req, res, page.template, { email: rawEmail, next: nextUrl, errors: error.fields, message: error.message }, { status: 422 });
      return next(error);
    }
    passport.authenticate(page.strategy, (err: unknown, user: Express.User | false, info?: { message?: string }) => {
      if (err) return next(err);
      if (!user) {
        return throttle.recordFailure(req.ip ?? 'unknown', rawEmail).then(
          () => render(req, res, page.template, { email: rawEmail, next: nextUrl, errors: {}, message: page.refusalMessage(info?.message ?? 'invalid') }, { status: 401 }),
          next,
        );
      }
      req.logIn(user, (loginError) => {
        if (loginError) return next(loginError);
        req.session.createdAt = Date.now();
        throttle.recordSuccess(req.ip ?? 'unknown', rawEmail).then(() => redirect(req, res, nextUrl ?? page.successUrl), next);
      });
    })(req, res, next);
  };
}

/** A redirect that htmx follows as a full navigation. */
export function redirect(req: Request, res: Response, url: string): void {
  if (req.get('HX-Request') === 'true') {
    res.set('HX-Redirect', url).status(204).end();
    return;
  }
  res.redirect(303, url);
}

/** Logs out and destroys the session server-side; the next page starts a new one. */
export function logoutHandler(afterUrl: string): RequestHandler {
  return (req, res, next) => {
    req.logout((err) => {
      if (err) return next(err);
      req.session.destroy((destroyError) => {
        if (destroyError) return next(destroyError);
        redirect(req, res, afterUrl);
      });
    });
  };
}
