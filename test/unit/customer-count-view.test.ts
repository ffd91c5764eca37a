import { describe, expect, it } from 'vitest';
import { createViewEngine } from '../../app/http/views.js';

describe('the count above the customer list', () => {
  it('rounds an estimated count to what it can tell, and counts one customer in the singular', () => {
    const views = createViewEngine(false);
    const count = (value: number, exact: boolean) => views.render('partials/admin/customer-count', { count: { value, exact } }).trim();
    expect(count(1, true)).toBe('1 customer');
    expect(count(6_111, true)).toBe('6,111 customers');
    expect(count(286, false)).toBe('About 290 customers');
    expect(count(5_662, false)).toBe('About 5,700 customers');
    expect(count(1, false)).toBe('About 1 customer');
    expect(count(61_493, false)).toBe('About 61 thousand customers');
    expect(count(1_234_567, false)).toBe('About 1.2 million customers');
  });
});
