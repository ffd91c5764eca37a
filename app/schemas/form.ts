import { z } from 'zod';
import { BadRequestError, ValidationError, type FieldErrors } from '../lib/errors.js';

/**
 * Parses a url-encoded form body with a zod object schema. A field sent as an array or object
 * (`email[]=…`) is a malformed request (400), not a user mistake; everything else that fails the
 * schema becomes per-field messages (422).
 */
export function parseForm<S extends z.ZodObject>(schema: S, body: unknown): z.infer<S> {
  const input = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  for (const key of Object.keys(schema.shape)) {
    const value = input[key];
    if (value !== undefined && typeof value !== 'string') throw new BadRequestError(`The field "${key}" must be sent once, as text.`);
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fields: FieldErrors = {};
  for (const issue of result.error.issues) {
    const field = String(issue.path[0] ?? 'form');
    fields[field] ??= issue.message;
  }
  throw new ValidationError(fields);
}

/** Trimmed text with a length limit and a readable message. */
export const text = (label: string, max: number) =>
  z
    .string({ error: `${label} is required.` })
    .trim()
    .max(max, `${label} must be at most ${max} characters.`)
    // eslint-disable-next-line no-control-regex -- line breaks and other control characters have no place in a one-line field
    .regex(/^[^\u0000-\u001f\u007f]*$/, `${label} cannot contain line breaks or control characters.`);

export const requiredText = (label: string, max: number) => text(label, max).min(1, `${label} is required.`);

export const emailField = z
  .string({ error: 'E-mail is required.' })
  .trim()
  .min(1, 'E-mail is required.')
  .max(254, 'E-mail must be at most 254 characters.')
  .pipe(z.email({ error: 'Enter a valid e-mail address, like name@example.com.' }));

export const checkbox = z
  .string()
  .optional()
  .transform((value) => value === 'on' || value === 'true' || value === '1');
