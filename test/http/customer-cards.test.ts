import type { Knex } from 'knex';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brandLengths, cardBrand, luhnValid } from '../../app/lib/payment-card.js';
import type { Agent } from '../support/agents.js';
import { makeStaffCast } from '../support/dashboard-scene.js';
import { auditOf, getHtmx, postForm, sectionText, triggers } from '../support/dashboard.js';
import { makeCustomer, makeShop } from '../support/factories.js';
import { escapeHtml, fieldError, inputValue, textOf } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** F-DASH-7 payment cards: only a token, brand, last 4 and expiry are kept; the number is validated and discarded, never logged. */
describe('customer dashboard: payment cards', () => {
  let t: TestApp;
  let knex: Knex;
  let shop: { id: number }, otherShop: { id: number };
  let owner: Agent, support: Agent, foreign: Agent, rivalRep: Agent, rep: Agent;
  let ownerId: number;
  let team: { id: number };
  /** Every line the app logged (the logger runs at trace level and writes here). */
  const logged: string[] = [];
  const nextYear = String(new Date().getUTCFullYear() + 1);

  const add = (agent: Agent, customerId: number, fields: Record<string, string | string[]>, htmx = false) =>
    postForm(agent, `/admin/customers/${customerId}/cards/new`, { holderName: 'Alice Andersen', number: '4111 1111 1111 1111', expMonth: '12', expYear: nextYear, ...fields }, { htmx });
  const cardsOf = (customerId: number) => knex('paymentCards').where({ customerId }).orderBy('id');

  /** Every text-like column of these tables, read as text, that contains `needle`. */
  async function columnsContaining(tables: string[], needle: string): Promise<string[]> {
    const columns = (await knex.raw(
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = ANY(?) AND data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'USER-DEFINED')`,
      [tables],
    )).rows as Array<{ table_name: string; column_name: string }>;
    expect(columns.length).toBeGreaterThan(5);
    const hits: string[] = [];
    for (const c of columns) {
      const row = (await knex.raw(`SELECT count(*)::int AS n FROM ?? WHERE ??::text LIKE ?`, [c.table_name, c.column_name, `%${needle}%`])).rows[0] as { n: number };
      if (row.n > 0) hits.push(`${c.table_name}.${c.column_name}`);
    }
    return hits;
  }

  beforeAll(async () => {
    t = await createTestApp({ backend: 'postgres', env: { LOG_LEVEL: 'trace' } });
    knex = t.ctx.knex;
    // Capture what the app's logger writes (the request logger is a child of it) instead of stdout.
    (t.ctx.logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] = { write: (line: string) => void logged.push(line) };
    shop = await makeShop(knex, { code: 'cards', name: 'Cards Shop' });
    otherShop = await makeShop(knex, { code: 'cards-other' });
    ({ owner, ownerId, support, foreign, rep, rivalRep, team } = await makeStaffCast(t, { home: shop.id, other: otherShop.id }));
  });
  afterAll(() => t?.close());

  it('checks numbers with Luhn and tells the brand from the leading digits', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    const brands = {
      '4111111111111111': 'visa',
      '5555555555554444': 'mastercard',
      '2223003122003222': 'mastercard',
      '378282246310005': 'amex',
      '6011111111111117': 'discover',
      '6759649826438453': 'maestro',
      '30569309025904': 'diners',
      '3530111333300000': 'jcb',
      '6200000000000005': 'unionpay',
    };
    for (const [number, brand] of Object.entries(brands)) {
      expect(luhnValid(number), number).toBe(true);
      expect(cardBrand(number), number).toBe(brand);
      expect(brandLengths(cardBrand(number))).toContain(number.length);
    }
  });

  it('adds a card (htmx): stores token, brand, last 4, expiry; shows it; never stores or logs the number', async () => {
    const c = await makeCustomer(knex, [shop.id]);
    const number = '5555 5555 5555 4444';
    const digits = number.replace(/ /g, '');
    const form = await getHtmx(owner, `/admin/customers/${c.id}/cards/new`);
    expect(form.status).toBe(200);
    expect(inputValue(form.text, 'number')).toBe('');

    logged.length = 0;
    const response = await add(owner, c.id, { number, holderName: 'Alice Andersen', expMonth: '3', expYear: nextYear }, true);
    expect(response.status).toBe(200);
    expect(response.headers['hx-retarget']).toBe('#w-cards');
    expect(triggers(response)).toMatchObject({ closeModal: { target: 'body' }, timelineChanged: { target: 'body' } });
    expect(textOf(response.text)).toContain(`Mastercard •••• 4444 expires 03/${nextYear}`);
    expect(textOf(response.text)).toContain('Mastercard •••• 4444 was added.');
    expect(response.text).not.toContain(digits);

    const [card] = await cardsOf(c.id);
    expect(card).toMatchObject({ brand: 'mastercard', last4: '4444', expMonth: 3, expYear: Number(nextYear), holderName: 'Alice Andersen', createdBy: ownerId });
    expect(card.token).toMatch(/^card_[A-Za-z0-9_-]{32}$/);
    const [entry] = await auditOf(knex, c.id);
    expect(entry).toMatchObject({ action: 'card.added', actorId: ownerId, changes: { brand: 'mastercard', last4: '4444', expiry: `03/${nextYear}` } });

    // The request was logged (so the capture works) — without the number, in any form.
    const log = logged.join('\n');
    expect(log).toContain(`/admin/customers/${c.id}/cards/new`);
    for (const form of [digits, number, '5555+5555', '5555%20', '555555555555']) expect(log).not.toContain(form);
    // No column of the cards table, the audit log or the session store holds it.
    for (const needle of [digits, number, digits.slice(0, 12)]) expect(await columnsContaining(['payment_cards', 'audit_log', 'http_sessions'], needle)).toEqual([]);

    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(sectionText(page.text, 'w-timeline')).toContain('Payment card added: Mastercard •••• 4444');
    expect(page.text).not.toContain(digits);
  });

  it('refuses bad numbers and expiry dates with field messages, and never echoes the number back', async () => {
    const c = await makeCustomer(knex, [shop.id]);
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{ number: '4111 1111 1111 1112' }, 'number', /not a valid card number \(the check digit does not match\)/],
      [{ number: '411111111111' }, 'number', /13 to 19 digits; this one has 12/],
      [{ number: '4111abcd11111111' }, 'number', /digits only/],
      [{ number: "4111' OR 1=1 --" }, 'number', /digits only/],
      [{ number: '' }, 'number', /Enter the card number/],
      [{ number: '3782 822463 10005 0' }, 'number', /(not a valid card number|American Express number has 15 digits)/],
      [{ expMonth: '13' }, 'expMonth', /number from 1 to 12/],
      [{ expMonth: 'x' }, 'expMonth', /number from 1 to 12/],
      [{ expMonth: '1', expYear: '2020' }, 'expYear', /expired at the end of 01\/2020/],
      [{ expYear: '20x9' }, 'expYear', /like 2029/],
      [{ holderName: '' }, 'holderName', /Cardholder name is required/],
      [{ holderName: 'x'.repeat(101) }, 'holderName', /at most 100 characters/],
    ];
    logged.length = 0;
    for (const [fields, field, message] of cases) {
      for (const htmx of [true, false]) {
        const response = await add(owner, c.id, fields, htmx);
        expect(response.status, JSON.stringify(fields)).toBe(422);
        expect(fieldError(response.text, field), JSON.stringify(fields)).toMatch(message);
        // The number field comes back empty; the other fields keep what was typed.
        expect(inputValue(response.text, 'number')).toBe('');
        expect(response.text).not.toContain('4111111111111112');
        expect(response.text).not.toContain('4111 1111 1111 111');
      }
    }
    expect(await cardsOf(c.id)).toEqual([]);
    expect(logged.join('\n')).not.toMatch(/4111( ?1111){2}/);
    // A field sent twice is a malformed request.
    expect((await add(owner, c.id, { number: ['4111111111111111', '4242424242424242'] })).status).toBe(400);
    expect((await add(owner, c.id, { holderName: ['a', 'b'] })).status).toBe(400);
  });

  it('stores a <script> holder name and SQL literally and renders them inert', async () => {
    const c = await makeCustomer(knex, [shop.id]);
    const script = '<script>alert(1)</script>';
    expect((await add(owner, c.id, { holderName: script })).status).toBe(303);
    expect((await add(owner, c.id, { holderName: "' OR 1=1 --", number: '4242424242424242' })).status).toBe(303);
    expect((await cardsOf(c.id)).map((r: { holderName: string }) => r.holderName)).toEqual([script, "' OR 1=1 --"]);
    const all = await getHtmx(owner, `/admin/customers/${c.id}/cards`);
    expect(all.text).toContain(escapeHtml(script));
    expect(all.text).not.toContain(script);
  });

  it('shows the 3 most recent cards with an expired badge, edits holder and expiry only, removes a card', async () => {
    const c = await makeCustomer(knex, [shop.id]);
    const now = Date.now();
    const rows = [
      { last4: '1111', brand: 'visa', expMonth: 1, expYear: 2021, at: now - 4000 },
      { last4: '2222', brand: 'visa', expMonth: 6, expYear: 2031, at: now - 3000 },
      { last4: '3333', brand: 'amex', expMonth: 7, expYear: 2032, at: now - 2000 },
      { last4: '4444', brand: 'mastercard', expMonth: 1, expYear: 2020, at: now - 1000 },
    ];
    for (const [i, r] of rows.entries()) {
      await knex('paymentCards').insert({ customerId: c.id, token: `card_test${i}abcdefghijklmnop${c.id}`, brand: r.brand, last4: r.last4, expMonth: r.expMonth, expYear: r.expYear, holderName: 'Old', createdAt: new Date(r.at) });
    }
    const widget = sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-cards');
    expect(widget).toMatch(/Payment cards 4 .*Mastercard •••• 4444 expires 01\/2020 Expired .*American Express •••• 3333 expires 07\/2032 .*Visa •••• 2222 expires 06\/2031/);
    expect(widget).not.toContain('1111');
    expect(widget).toContain('View all');

    const card = await knex('paymentCards').where({ customerId: c.id, last4: '3333' }).first();
    const form = await getHtmx(owner, `/admin/customers/${c.id}/cards/${card.id}/edit`);
    expect(inputValue(form.text, 'holderName')).toBe('Old');
    expect(inputValue(form.text, 'number')).toBeNull();
    // A number sent along with an edit is ignored: brand and last 4 stay.
    const edited = await postForm(owner, `/admin/customers/${c.id}/cards/${card.id}/edit`, { holderName: 'New Holder', expMonth: '8', expYear: '2033', number: '4111111111111111' }, { htmx: true });
    expect(edited.status).toBe(200);
    expect(await knex('paymentCards').where({ id: card.id }).first('brand', 'last4', 'holderName', 'expMonth', 'expYear')).toEqual({ brand: 'amex', last4: '3333', holderName: 'New Holder', expMonth: 8, expYear: 2033 });
    expect((await auditOf(knex, c.id))[0]).toMatchObject({ action: 'card.updated', changes: { brand: 'amex', last4: '3333', fields: { cardholder: { from: 'Old', to: 'New Holder' }, expiry: { from: '07/2032', to: '08/2033' } } } });
    const expired = await postForm(owner, `/admin/customers/${c.id}/cards/${card.id}/edit`, { holderName: 'New Holder', expMonth: '1', expYear: '2019' });
    expect(expired.status).toBe(422);
    expect(fieldError(expired.text, 'expYear')).toMatch(/expired/);

    const removed = await postForm(owner, `/admin/customers/${c.id}/cards/${card.id}/delete`, {});
    expect(removed.status).toBe(303);
    expect(await knex('paymentCards').where({ id: card.id }).first()).toBeUndefined();
    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(sectionText(page.text, 'w-timeline')).toMatch(/Payment card removed: American Express •••• 3333.*Payment card changed: American Express •••• 3333/);
  });

  it('scopes every route: another shop’s staff and another team’s rep get 404, support may only look', async () => {
    const c = await makeCustomer(knex, [shop.id], { salesTeamId: team.id });
    const other = await makeCustomer(knex, [shop.id]);
    expect((await add(owner, c.id, {})).status).toBe(303);
    const card = (await cardsOf(c.id))[0];
    for (const agent of [foreign, rivalRep]) {
      expect((await agent.get(`/admin/customers/${c.id}/cards`)).status).toBe(404);
      expect((await add(agent, c.id, {})).status).toBe(404);
      expect((await postForm(agent, `/admin/customers/${c.id}/cards/${card.id}/edit`, { holderName: 'X', expMonth: '1', expYear: nextYear })).status).toBe(404);
      expect((await postForm(agent, `/admin/customers/${c.id}/cards/${card.id}/delete`, {})).status).toBe(404);
    }
    // Another customer's URL with this card's id: 404.
    expect((await postForm(owner, `/admin/customers/${other.id}/cards/${card.id}/delete`, {})).status).toBe(404);
    expect((await getHtmx(support, `/admin/customers/${c.id}/cards`)).status).toBe(200);
    expect(sectionText((await support.get(`/admin/customers/${c.id}`)).text, 'w-cards')).not.toContain('Add card');
    expect((await add(support, c.id, {})).status).toBe(403);
    expect((await support.get(`/admin/customers/${c.id}/cards/new`)).status).toBe(403);
    expect((await postForm(support, `/admin/customers/${c.id}/cards/${card.id}/delete`, {})).status).toBe(403);
    // The team's own rep may.
    expect((await add(rep, c.id, { number: '4242424242424242' })).status).toBe(303);
    expect(await cardsOf(c.id)).toHaveLength(2);
  });
});
