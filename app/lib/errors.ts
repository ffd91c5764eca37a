/** Errors that carry what the user should see; the error middleware maps each to a status code. */
export abstract class AppError extends Error {
  abstract readonly status: number;
}

export class NotFoundError extends AppError {
  readonly status = 404;
  constructor(message = 'We could not find that page.') {
    super(message);
  }
}

export class ForbiddenError extends AppError {
  readonly status = 403;
  constructor(message = 'You are not allowed to do that.') {
    super(message);
  }
}

export class BadRequestError extends AppError {
  readonly status = 400;
  constructor(message = 'The request could not be understood.') {
    super(message);
  }
}

export type FieldErrors = Record<string, string>;

export class ValidationError extends AppError {
  readonly status = 422;
  constructor(
    readonly fields: FieldErrors,
    message = 'Please correct the highlighted fields.',
  ) {
    super(message);
  }
}

export class ConflictError extends AppError {
  readonly status = 409;
}

export class TooManyRequestsError extends AppError {
  readonly status = 429;
  constructor(readonly retryAfterSeconds: number, message = 'Too many attempts. Please wait a few minutes and try again.') {
    super(message);
  }
}
