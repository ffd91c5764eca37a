import { z } from 'zod';
import { FIELD_KEYS, type Mapping } from '../services/imports/import-fields.js';
import { parseForm, text } from './form.js';

/** The optional "add this tag to every imported customer" (kept lower-case, like the list's tag actions). */
const tag = text('Tag', 64)
  .refine((value) => !value.includes(','), 'A tag cannot contain a comma.')
  .optional()
  .transform((value) => (value ? value.toLowerCase() : null));

export const importUploadSchema = z.object({
  shop: z.string({ error: 'Choose the shop to import into.' }).regex(/^\d{1,15}$/, 'Choose the shop to import into.').transform(Number),
  tag,
});

const modes = ['dry_run', 'import'] as const;

/** The preview form: one select per column of the file (`col_0` …), the tag, and which button was pressed. */
export function parseImportRunForm(body: unknown, columns: number): { mode: (typeof modes)[number]; tag: string | null; mapping: Mapping } {
  const fieldChoice = z.union([z.literal(''), z.enum(FIELD_KEYS)], { error: 'Choose a customer field or “Do not import”.' }).default('');
  const schema = z.object({
    mode: z.enum(modes, { error: 'Choose “Dry run” or “Import”.' }),
    tag,
    ...Object.fromEntries(Array.from({ length: columns }, (_, i) => [`col_${i}`, fieldChoice])),
  });
  const input = parseForm(schema, body) as Record<string, unknown> & { mode: (typeof modes)[number]; tag: string | null };
  const mapping = Array.from({ length: columns }, (_, i) => (input[`col_${i}`] || null) as Mapping[number]);
  return { mode: input.mode, tag: input.tag, mapping };
}
