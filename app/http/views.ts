import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import { formatMoney } from '../lib/money.js';

export const VIEWS_DIRECTORY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../views');

export function createViewEngine(cache: boolean): Eta {
  return new Eta({ views: VIEWS_DIRECTORY, autoEscape: true, cache });
}

/** Helpers every template may call; they return plain text, escaped like any other output. */
export const viewHelpers = {
  money: formatMoney,
  date(value: Date | string | null | undefined, timeZone = 'UTC'): string {
    if (!value) return '—';
    return new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeZone }).format(new Date(value));
  },
  dateTime(value: Date | string | null | undefined, timeZone = 'UTC'): string {
    if (!value) return '—';
    return new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(new Date(value));
  },
  fullName(person: { firstName?: string; lastName?: string }): string {
    return [person.firstName, person.lastName].filter(Boolean).join(' ') || '—';
  },
  stateLabel(state: string): string {
    return ({ guest: 'Guest', invited: 'Invited', active: 'Active', disabled: 'Disabled', pending_approval: 'Awaiting approval' } as Record<string, string>)[state] ?? state;
  },
};
