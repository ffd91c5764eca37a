import { z } from 'zod';
import { parseMoney } from '../lib/money.js';
import { isCalendarDate } from './calendar-date.js';
import { checkbox, requiredText, text } from './form.js';
import { customerTypes, type CustomerType } from './shop-settings.schema.js';

// Forms of customer groups and segments (F-GRP-2, F-GRP-3, F-GRP-6). Field names are the forms'
// input names; a dynamic group's rule is given as `rule_*` fields and stored as GroupRule (jsonb).

/**
 * What a dynamic group's members have in common. The same conditions as the customer list's
 * filters of the same names (it is evaluated by customerListFilter over all shops); money in
 * minor units, platform-wide order figures.
 */
export interface GroupRule {
  tags: string[];
  tagMode: 'all' | 'any';
  ordersMin?: number;
  ordersMax?: number;
  spentMin?: number;
  spentMax?: number;
  /** The currency of spentMin/spentMax when the shops sell in several: what was spent in the shops of it. */
  spentCurrency?: string;
  country: string[];
  type: CustomerType[];
  createdFrom?: string;
  createdTo?: string;
}

const list = (value: string) =>
  value
    .split(/[,\s]+/)
    .map((v) => v.trim())
    .filter(Boolean);

const optionalCount = (label: string) =>
  z
    .string()
    .default('')
    .transform((value, issue) => {
      if (value.trim() === '') return undefined;
      if (!/^\d{1,9}$/.test(value.trim())) {
        issue.addIssue({ code: 'custom', message: `${label} must be a whole number like 5.` });
        return z.NEVER;
      }
      return Number(value.trim());
    });

const optionalMoney = (label: string) =>
  z
    .string()
    .default('')
    .transform((value, issue) => {
      if (value.trim() === '') return undefined;
      const amount = parseMoney(value);
      if (amount === null || amount < 0) {
        issue.addIssue({ code: 'custom', message: `${label} must be an amount like 250 or 99.50.` });
        return z.NEVER;
      }
      return amount;
    });

const optionalDate = (label: string) =>
  z
    .string()
    .default('')
    .transform((value, issue) => {
      if (value.trim() === '') return undefined;
      if (!isCalendarDate(value.trim())) {
        issue.addIssue({ code: 'custom', message: `${label} must be a date like 2026-01-31.` });
        return z.NEVER;
      }
      return value.trim();
    });

const ruleTags = z
  .string()
  .max(1000, 'Tags must be at most 1000 characters.')
  .default('')
  .transform((value, issue) => {
    const tags = [...new Set(list(value).map((t) => t.toLowerCase()))];
    if (tags.some((t) => t.length > 64)) {
      issue.addIssue({ code: 'custom', message: 'A tag is at most 64 characters.' });
      return z.NEVER;
    }
    if (tags.length > 20) {
      issue.addIssue({ code: 'custom', message: 'Use at most 20 tags.' });
      return z.NEVER;
    }
    return tags;
  });

const ruleCountries = z
  .string()
  .max(300, 'Countries must be at most 300 characters.')
  .default('')
  .transform((value, issue) => {
    const codes = [...new Set(list(value).map((c) => c.toUpperCase()))];
    const bad = codes.find((c) => !/^[A-Z]{2}$/.test(c));
    if (bad) {
      issue.addIssue({ code: 'custom', message: `“${bad.slice(0, 20)}” is not a two-letter country code like DE.` });
      return z.NEVER;
    }
    return codes;
  });

/** One checkbox per customer type (a multi-select would send an array, which forms refuse). */
const typeBoxes = Object.fromEntries(customerTypes.map((t) => [`rule_type_${t}`, checkbox])) as Record<`rule_type_${CustomerType}`, typeof checkbox>;

const discount = z
  .string()
  .default('')
  .transform((value, issue) => {
    const trimmed = value.trim().replace(',', '.');
    if (trimmed === '') return 0;
    if (!/^\d{1,3}(\.\d{1,2})?$/.test(trimmed) || Number(trimmed) > 100) {
      issue.addIssue({ code: 'custom', message: 'Discount must be a percentage between 0 and 100, like 5 or 12.5.' });
      return z.NEVER;
    }
    return Number(trimmed);
  });

export const groupSchema = z
  .object({
    name: requiredText('Name', 120),
    description: text('Description', 1000).default(''),
    kind: z.enum(['static', 'dynamic'], { error: 'Choose static or dynamic.' }).default('static'),
    taxExempt: checkbox,
    discountPercent: discount,
    rule_tags: ruleTags,
    rule_tagmode: z.enum(['all', 'any'], { error: 'Choose “all” or “any” for the tags.' }).default('all'),
    rule_orders_min: optionalCount('Minimum orders'),
    rule_orders_max: optionalCount('Maximum orders'),
    rule_spent_min: optionalMoney('Minimum spent'),
    rule_spent_max: optionalMoney('Maximum spent'),
    rule_spent_currency: z
      .string()
      .default('')
      .transform((value) => value.trim().toUpperCase() || undefined)
      .pipe(z.string().regex(/^[A-Z]{3}$/, { error: 'Choose a currency your shops sell in.' }).optional()),
    rule_country: ruleCountries,
    ...typeBoxes,
    rule_created_from: optionalDate('Created from'),
    rule_created_to: optionalDate('Created until'),
  })
  .superRefine((v, ctx) => {
    if (v.rule_orders_min !== undefined && v.rule_orders_max !== undefined && v.rule_orders_min > v.rule_orders_max) {
      ctx.addIssue({ code: 'custom', path: ['rule_orders_max'], message: 'Maximum orders must not be below the minimum.' });
    }
    if (v.rule_spent_min !== undefined && v.rule_spent_max !== undefined && v.rule_spent_min > v.rule_spent_max) {
      ctx.addIssue({ code: 'custom', path: ['rule_spent_max'], message: 'Maximum spent must not be below the minimum.' });
    }
    if (v.rule_created_from && v.rule_created_to && v.rule_created_from > v.rule_created_to) {
      ctx.addIssue({ code: 'custom', path: ['rule_created_to'], message: '“Created until” must not be before “Created from”.' });
    }
  });

export type GroupForm = z.infer<typeof groupSchema>;

/** The rule a group form describes (null for a static group); refuses a dynamic group without conditions. */
export function ruleOfForm(form: GroupForm): GroupRule | null {
  if (form.kind === 'static') return null;
  const rule: GroupRule = {
    tags: form.rule_tags,
    tagMode: form.rule_tagmode,
    country: form.rule_country,
    type: customerTypes.filter((t) => form[`rule_type_${t}`]),
    ...(form.rule_orders_min !== undefined ? { ordersMin: form.rule_orders_min } : {}),
    ...(form.rule_orders_max !== undefined ? { ordersMax: form.rule_orders_max } : {}),
    ...(form.rule_spent_min !== undefined ? { spentMin: form.rule_spent_min } : {}),
    ...(form.rule_spent_max !== undefined ? { spentMax: form.rule_spent_max } : {}),
    ...(form.rule_spent_currency !== undefined && (form.rule_spent_min !== undefined || form.rule_spent_max !== undefined) ? { spentCurrency: form.rule_spent_currency } : {}),
    ...(form.rule_created_from ? { createdFrom: form.rule_created_from } : {}),
    ...(form.rule_created_to ? { createdTo: form.rule_created_to } : {}),
  };
  return rule;
}

/** Whether a rule has at least one condition (a rule without any would take in every customer). */
export function ruleHasConditions(rule: GroupRule): boolean {
  return (
    rule.tags.length > 0 ||
    rule.country.length > 0 ||
    rule.type.length > 0 ||
    [rule.ordersMin, rule.ordersMax, rule.spentMin, rule.spentMax, rule.createdFrom, rule.createdTo].some((v) => v !== undefined)
  );
}

/** A stored rule read back defensively (jsonb written by this app, but never trusted blindly). */
export function readRule(raw: unknown): GroupRule {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const int = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);
  const day = (v: unknown) => (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : undefined);
  return {
    tags: strings(r.tags),
    tagMode: r.tagMode === 'any' ? 'any' : 'all',
    country: strings(r.country).filter((c) => /^[A-Z]{2}$/.test(c)),
    type: strings(r.type).filter((t): t is CustomerType => customerTypes.includes(t as CustomerType)),
    ordersMin: int(r.ordersMin),
    ordersMax: int(r.ordersMax),
    spentMin: int(r.spentMin),
    spentMax: int(r.spentMax),
    spentCurrency: typeof r.spentCurrency === 'string' && /^[A-Z]{3}$/.test(r.spentCurrency) ? r.spentCurrency : undefined,
    createdFrom: day(r.createdFrom),
    createdTo: day(r.createdTo),
  };
}

export const segmentSchema = z.object({
  name: requiredText('Name', 120),
  description: text('Description', 1000).default(''),
});

/** Up to this many e-mail addresses per batch connect (F-GRP-6). */
export const MAX_BATCH_EMAILS = 10_000;

export const batchConnectSchema = z.object({
  // ~10,000 addresses of up to 254 characters plus separators.
  emails: z.string({ error: 'Paste the e-mail addresses, one per line or separated by commas.' }).max(2_600_000, 'That is too much text: paste at most 10,000 addresses.'),
});

const idField = (message: string) =>
  z
    .string({ error: message })
    .trim()
    .regex(/^\d{1,18}$/, message)
    .transform(Number)
    .refine((n) => Number.isSafeInteger(n) && n > 0, message);

export const groupIdSchema = z.object({ groupId: idField('Choose a group from the list.') });
export const segmentIdSchema = z.object({ segmentId: idField('Choose a segment from the list.') });
export const customerEmailSchema = z.object({ email: z.string({ error: 'Enter the customer’s e-mail address.' }).trim().min(1, 'Enter the customer’s e-mail address.').max(254, 'E-mail must be at most 254 characters.') });

/** Splits pasted text into addresses: one per line, or separated by commas or semicolons. */
export function splitEmails(input: string): string[] {
  return input
    .split(/[\r\n,;\t]+/)
    .map((line) => line.trim().replace(/^<|>$/g, ''))
    .filter(Boolean);
}

const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

/** Whether a pasted piece looks like an e-mail address at all (else it is reported as unreadable). */
export function looksLikeEmail(value: string): boolean {
  return value.length <= 254 && EMAIL.test(value);
}
