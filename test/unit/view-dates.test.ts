import { describe, expect, it } from 'vitest';
import { formatUtcDate, viewHelpers } from '../../app/http/views.js';

describe('dates in views', () => {
  it('writes a UTC date exactly as Intl does, every day of a leap year and its neighbours, at both ends of the day', () => {
    const intl = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeZone: 'UTC' });
    for (let day = 0; day < 3 * 366; day++) {
      for (const ms of [0, 86_399_999]) {
        const value = new Date(Date.UTC(2023, 0, 1) + day * 86_400_000 + ms);
        expect(formatUtcDate(value)).toBe(intl.format(value));
      }
    }
    expect(formatUtcDate(new Date('2026-09-05T12:00:00Z'))).toBe('5 Sept 2026');
  });

  it('uses the time zone it is given, and shows a dash for no date', () => {
    // 23:30 UTC on 31 December is already the next year in Berlin.
    expect(viewHelpers.date(new Date('2025-12-31T23:30:00Z'))).toBe('31 Dec 2025');
    expect(viewHelpers.date(new Date('2025-12-31T23:30:00Z'), 'Europe/Berlin')).toBe('1 Jan 2026');
    expect(viewHelpers.date('2025-03-04T10:00:00Z')).toBe('4 Mar 2025');
    expect(viewHelpers.date(null)).toBe('—');
    expect(() => viewHelpers.date('not a date')).toThrow(RangeError);
  });
});
