import type { Request, RequestHandler } from 'express';
import { ForbiddenError } from '../../lib/errors.js';
import { newToken, safeEqual } from '../../lib/tokens.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Upload routes whose multipart body carries `_csrf` as its first field: the body is not parsed
 * here, so such a route checks the token itself (csrfTokenMatches) before it stores anything.
 * Each entry matches the whole path: the customer import, a customer's documents (F-DASH-8).
 */
export const MULTIPART_UPLOAD_PATHS: readonly RegExp[] = [/^\/admin\/customers\/import$/, /^\/admin\/customers\/\d{1,18}\/documents$/];

export function isMultipartUploadPath(path: string): boolean {
  return MULTIPART_UPLOAD_PATHS.some((pattern) => pattern.test(path));
}

export function csrfTokenMatches(req: Request, sent: unknown): boolean {
  return typeof sent === 'string' && sent !== '' && typeof req.session?.csrfToken === 'string' && safeEqual(sent, req.session.csrfToken);
}

/**
 * Synchronizer token per session: forms send it as `_csrf`, htmx as `X-CSRF-Token` (added by
 * public/js/csrf.js from the page's meta tag). Every other method than GET/HEAD/OPTIONS needs it.
 */
export const csrfProtection: RequestHandler = (req, res, next) => {
  req.session.csrfToken ??= newToken();
  res.locals.csrfToken = req.session.csrfToken;
  if (SAFE_METHODS.has(req.method)) return next();
  const header = req.get('X-CSRF-Token');
  if (!header && req.method === 'POST' && isMultipartUploadPath(req.path) && req.is('multipart/form-data')) {
    res.locals.csrfCheckedByRoute = true;
    return next();
  }
  const body = req.body as Record<string, unknown> | undefined;
  const sent = header ?? (typeof body?._csrf === 'string' ? body._csrf : '');
  if (!csrfTokenMatches(req, sent)) {
    return next(new ForbiddenError('Your form has expired. Please reload the page and try again.'));
  }
  next();
};
