import { z } from 'zod';
import { checkbox } from './form.js';

/** The small fields of the document upload form (sent before the file). */
export const documentUploadSchema = z.object({
  shopId: z.string({ error: 'Choose the shop.' }).regex(/^\d{1,18}$/, 'Choose the shop.').transform(Number),
  visible: checkbox,
});
export type DocumentUploadInput = z.infer<typeof documentUploadSchema>;

/** Show or hide a document on the customer's My Account. */
export const documentVisibilitySchema = z.object({
  visible: z.enum(['on', 'off'], { error: 'Choose whether the customer sees the document.' }).transform((value) => value === 'on'),
});
