import { z } from 'zod';

/**
 * A calendar date as YYYY-MM-DD that exists (no 2026-02-30) and that PostgreSQL takes: no year 0,
 * which ISO 8601 and JavaScript have and PostgreSQL's calendar does not (it answered a filter of
 * 0000-01-01 with an error).
 */
export function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || value.startsWith('0000')) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

/** A string that is a calendar date (isCalendarDate). */
export const calendarDate = z.string().refine(isCalendarDate);
