import { z } from 'zod';

export const customerTypes = ['B2C', 'B2B', 'B2E', 'GUEST'] as const;
export type CustomerType = (typeof customerTypes)[number];

/** Per-shop settings (F-SHOP-4) as stored in shops.settings; missing keys take these defaults. */
export const shopSettingsSchema = z.object({
  customerAccounts: z.enum(['disabled', 'optional', 'required']).default('optional'),
  approvalRequiredFor: z.array(z.enum(customerTypes)).default([]),
  registrationTypes: z.array(z.enum(customerTypes)).default(['B2C', 'B2B']),
  passwordMinLength: z.number().int().min(8).max(128).default(10),
  passwordRegex: z.string().optional(),
  passwordRegexMessage: z.string().optional(),
  emailRegex: z.string().optional(),
  /** F-SAC-1: Shop As Customer only for customers who allowed remote shopping assistance in My Account. */
  requireAssistanceConsent: z.boolean().default(false),
});

export type ShopSettings = z.infer<typeof shopSettingsSchema>;

export function readShopSettings(raw: unknown): ShopSettings {
  return shopSettingsSchema.parse(raw ?? {});
}
