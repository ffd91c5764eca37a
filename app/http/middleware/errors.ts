import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, NotFoundError, TooManyRequestsError } from '../../lib/errors.js';
import { render } from '../render.js';

export const notFound: RequestHandler = (_req, _res, next) => next(new NotFoundError());

/** One place that turns errors into pages or fragments; users never see a stack or SQL. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const known = err instanceof AppError ? err : bodyParserError(err);
  if (!known) req.log?.error({ err }, 'unhandled error');
  const status = known?.status ?? 500;
  const message = known?.message ?? 'Something went wrong on our side. Please try again in a moment.';
  if (known instanceof TooManyRequestsError) res.set('Retry-After', String(known.retryAfterSeconds));
  if (res.headersSent) return;
  render(req, res, 'pages/error', { status, message, area: req.shop ? 'shop' : 'admin' }, { status, fragment: 'partials/error-message' });
};

class BodyError extends AppError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// express.urlencoded reports malformed or oversized bodies with a status of its own.
function bodyParserError(err: unknown): AppError | null {
  const e = err as { type?: string; status?: number };
  if (e?.type === 'entity.too.large') return new BodyError(413, 'That request was too large.');
  if (e?.type && typeof e.status === 'number' && e.status >= 400 && e.status < 500) return new BodyError(400, 'The request could not be understood.');
  return null;
}
