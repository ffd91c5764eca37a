import type { RequestHandler } from 'express';
import { ForbiddenError } from '../../lib/errors.js';
import { newToken, safeEqual } from '../../lib/tokens.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Synchronizer token per session: forms send it as `_csrf`, htmx as `X-CSRF-Token` (added by
 * public/js/csrf.js from the page's meta tag). Every other method than GET/HEAD/OPTIONS needs it.
 */
export const csrfProtection: RequestHandler = (req, res, next) => {
  req.session.csrfToken ??= newToken();
  res.locals.csrfToken = req.session.csrfToken;
  if (SAFE_METHODS.has(req.method)) return next();
  const body = req.body as Record<string, unknown> | undefined;
  const sent = req.get('X-CSRF-Token') ?? (typeof body?._csrf === 'string' ? body._csrf : '');
  if (!sent || !safeEqual(sent, req.session.csrfToken)) {
    return next(new ForbiddenError('Your form has expired. Please reload the page and try again.'));
  }
  next();
};
