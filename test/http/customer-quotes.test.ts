import express, { Router } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installModules, MODULES, type PortalModule } from '../../app/modules/index.js';
import type { Agent } from '../support/agents.js';
import { makeProduct, makeStaffCast } from '../support/dashboard-scene.js';
import { auditOf, getHtmx, postForm, sectionText, triggers } from '../support/dashboard.js';
import { makeCustomer, makeShop } from '../support/factories.js';
import { escapeHtml, fieldError, inputValue, tableRows, textOf } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** The day `days` from now (UTC), as YYYY-MM-DD; ±2 days keeps clear of the shop's time zone. */
const day = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

/** The Quotes module (F-DASH-10): the module registry, the quotes widget, view all, create, status changes. */
describe('customer dashboard: the Quotes module', () => {
  let t: TestApp;
  let north: { id: number; name: string }, south: { id: number; name: string }, far: { id: number; name: string };
  let jacket: { id: number }, boots: { id: number }, southTote: { id: number }, retired: { id: number };
  let owner: Agent, northManager: Agent, farManager: Agent, support: Agent, teamRep: Agent, rivalRep: Agent;
  let ownerId: number;
  let team: { id: number };

  const quotes = (customerId: number) => `/admin/customers/${customerId}/quotes`;
  const create = (agent: Agent, customerId: number, fields: Record<string, string | string[]>, htmx = false) =>
    postForm(agent, `${quotes(customerId)}/new`, { shopId: String(north.id), validUntil: day(30), note: '', ...fields }, { htmx });
  const count = async (table: string, where: object) => Number((await t.ctx.knex(table).where(where).count({ n: '*' }).first())!.n);

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    north = await makeShop(knex, { code: 'qnorth', name: 'Quote North' });
    south = await makeShop(knex, { code: 'qsouth', name: 'Quote South' });
    far = await makeShop(knex, { code: 'qfar', name: 'Quote Far' });
    jacket = await makeProduct(knex, north.id, 'JKT-1', 'Merino Jacket', 12_950);
    boots = await makeProduct(knex, north.id, 'BT-2', 'Trail Boots', 8_999);
    retired = await makeProduct(knex, north.id, 'OLD-3', 'Retired Scarf', 500, false);
    southTote = await makeProduct(knex, south.id, 'TOTE-9', 'Canvas Tote', 1_500);
    ({ owner, ownerId, manager: northManager, foreign: farManager, support, rep: teamRep, rivalRep, team } = await makeStaffCast(t, { home: north.id, other: far.id, support: [north.id, south.id] }));
  });
  afterAll(() => t?.close());

  it('creates a quote with htmx: totals from the products’ prices, the widget swapped, the timeline told', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [north.id]);
    const form = await getHtmx(owner, `${quotes(c.id)}/new`);
    expect(form.status).toBe(200);
    // One shop: straight to the lines, with that shop's active products only and +30 days as validity.
    expect(inputValue(form.text, 'shopId')).toBe(String(north.id));
    expect(textOf(form.text)).toContain('Merino Jacket (JKT-1) — €129.50');
    expect(form.text).not.toContain('Canvas Tote');
    expect(form.text).not.toContain('Retired Scarf');
    expect(inputValue(form.text, 'validUntil')).toMatch(/^\d{4}-\d{2}-\d{2}$/);

    const response = await create(
      owner,
      c.id,
      // The form also sends prices and a total: they are ignored.
      { product1: String(jacket.id), quantity1: '2', product2: String(boots.id), quantity2: '1', note: 'Spring order', price1: '0.01', unitPrice1: '1', total: '1', subtotal: '1' },
      true,
    );
    expect(response.status).toBe(200);
    expect(response.headers['hx-retarget']).toBe('#w-quotes');
    expect(triggers(response)).toEqual({ closeModal: { target: 'body' }, timelineChanged: { target: 'body' } });
    const text = textOf(response.text);
    expect(text).toContain('Quote Q-00001 (€348.99) was created in Quote North.');
    expect(text).toContain('Q-00001');
    expect(text).toContain('€348.99');

    const quote = await knex('quotes').where({ customerId: c.id }).first();
    expect(quote).toMatchObject({ shopId: north.id, number: 'Q-00001', status: 'draft', currency: 'EUR', subtotal: 34_899, total: 34_899, note: 'Spring order', createdByStaffId: ownerId });
    const lines = await knex('quoteLines').where({ quoteId: quote.id }).orderBy('position').select('position', 'productId', 'sku', 'name', 'quantity', 'unitPrice', 'lineTotal');
    expect(lines).toEqual([
      { position: 1, productId: jacket.id, sku: 'JKT-1', name: 'Merino Jacket', quantity: 2, unitPrice: 12_950, lineTotal: 25_900 },
      { position: 2, productId: boots.id, sku: 'BT-2', name: 'Trail Boots', quantity: 1, unitPrice: 8_999, lineTotal: 8_999 },
    ]);
    const [entry] = await auditOf(knex, c.id);
    expect(entry).toMatchObject({ action: 'quote.created', shopId: north.id, actorId: ownerId, changes: { number: 'Q-00001', total: 34_899, lines: 2 } });
    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(sectionText(page.text, 'w-quotes')).toContain('Q-00001');
    expect(sectionText(page.text, 'w-timeline')).toContain('Quote Q-00001 created: €348.99');
  });

  it('creates a quote from a plain form: 303 back to the dashboard with a flash message', async () => {
    const c = await makeCustomer(t.ctx.knex, [north.id]);
    const response = await create(owner, c.id, { product1: String(boots.id), quantity1: '3' });
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(`/admin/customers/${c.id}`);
    const page = await owner.get(response.headers.location!);
    expect(textOf(page.text)).toContain('Quote Q-00002 (€269.97) was created in Quote North.');
    expect(sectionText(page.text, 'w-quotes')).toContain('€269.97');
    // Without htmx the form is a page of its own.
    const formPage = await owner.get(`${quotes(c.id)}/new`);
    expect(formPage.status).toBe(200);
    expect(formPage.text).toContain('<html');
    expect(formPage.text).toContain(`action="${quotes(c.id)}/new"`);
    expect(formPage.text).not.toContain(`hx-post="${quotes(c.id)}/new"`);
  });

  it('numbers quotes per shop, also when several are created at once', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [south.id]);
    const results = await Promise.all([1, 2, 3, 4].map(() => create(owner, c.id, { shopId: String(south.id), product1: String(southTote.id), quantity1: '1' })));
    expect(results.map((r) => r.status)).toEqual([303, 303, 303, 303]);
    const numbers = (await knex('quotes').where({ shopId: south.id }).pluck('number')) as string[];
    expect(numbers.sort()).toEqual(['Q-00001', 'Q-00002', 'Q-00003', 'Q-00004']);
  });

  it('asks for the shop first when the customer is in several, offering only shops within the staff member’s scope', async () => {
    const c = await makeCustomer(t.ctx.knex, [north.id, south.id, far.id]);
    const step1 = await getHtmx(owner, `${quotes(c.id)}/new`);
    expect(step1.text).toContain('name="shop"');
    expect(textOf(step1.text)).toContain('Quote Far (EUR)');
    const scoped = await getHtmx(support, `${quotes(c.id)}/new`);
    expect(scoped.status).toBe(403);
    const step2 = await getHtmx(owner, `${quotes(c.id)}/new?shop=${south.id}`);
    expect(inputValue(step2.text, 'shopId')).toBe(String(south.id));
    expect(step2.text).toContain('Canvas Tote');
    expect(step2.text).not.toContain('Merino Jacket');
    // A shop the customer is not in, or outside the staff member's scope, answers 404.
    const lonely = await makeCustomer(t.ctx.knex, [north.id]);
    expect((await getHtmx(owner, `${quotes(lonely.id)}/new?shop=${south.id}`)).status).toBe(404);
    expect((await getHtmx(northManager, `${quotes(c.id)}/new?shop=${south.id}`)).status).toBe(404);
    expect((await getHtmx(owner, `${quotes(c.id)}/new?shop=abc`)).status).toBe(404);
  });

  it('shows current quotes on the dashboard (newest first, at most 5) and every quote in "view all", paged', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [north.id]);
    const base = { shopId: north.id, customerId: c.id, currency: 'EUR', subtotal: 100, total: 100 };
    const rows = [];
    for (let i = 1; i <= 24; i++) {
      const status = i % 6 === 1 ? 'accepted' : i % 6 === 2 ? 'declined' : i % 6 === 3 ? 'expired' : 'sent';
      rows.push({ ...base, number: `V-${String(i).padStart(3, '0')}`, status, validUntil: day(10), createdAt: new Date(Date.UTC(2026, 0, i)) });
    }
    // A sent quote past its day counts as expired.
    rows.push({ ...base, number: 'V-LATE', status: 'sent', validUntil: day(-3), createdAt: new Date(Date.UTC(2026, 1, 1)) });
    await knex('quotes').insert(rows);

    const widget = sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-quotes');
    expect(widget).toContain('Quotes 25');
    const widgetHtml = (await getHtmx(owner, `/admin/customers/${c.id}/widgets/quotes`)).text;
    expect(tableRows(widgetHtml).map((r) => r[0])).toEqual(['V-024', 'V-023', 'V-022', 'V-018', 'V-017']);
    expect(widgetHtml).not.toContain('V-LATE');

    const first = await getHtmx(owner, quotes(c.id));
    expect(first.status).toBe(200);
    const firstRows = tableRows(first.text);
    expect(firstRows).toHaveLength(20);
    expect(firstRows[0]![0]).toBe('V-LATE');
    expect(firstRows[0]![4]).toBe('expired');
    expect(firstRows.map((r) => r[4])).toEqual(expect.arrayContaining(['accepted', 'declined', 'expired', 'sent']));
    const next = /hx-get="([^"]*\?before=\d+)"/.exec(first.text)![1]!;
    const second = await getHtmx(owner, next);
    expect(tableRows(second.text).map((r) => r[0])).toEqual(['V-005', 'V-004', 'V-003', 'V-002', 'V-001']);
    // Without htmx "view all" is a full page.
    const page = await owner.get(quotes(c.id));
    expect(page.text).toContain('<html');
    expect(tableRows(page.text)).toHaveLength(20);
  });

  it('sends, accepts and declines from "view all"; final and expired quotes stay as they are (409)', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [north.id]);
    await create(owner, c.id, { product1: String(jacket.id), quantity1: '1' });
    const quote = await knex('quotes').where({ customerId: c.id }).first('id', 'number');
    const status = (action: string, htmx = false, id = quote.id) => postForm(owner, `${quotes(c.id)}/${id}/status`, { action }, { htmx });

    const sent = await status('send', true);
    expect(sent.status).toBe(200);
    expect(sent.headers['hx-retarget']).toBeUndefined();
    expect(triggers(sent)).toEqual({ quotesChanged: { target: 'body' }, timelineChanged: { target: 'body' } });
    expect(textOf(sent.text)).toContain(`Quote ${quote.number} is now sent.`);
    expect(tableRows(sent.text)[0]![4]).toBe('sent');
    expect((await knex('quotes').where({ id: quote.id }).first('status')).status).toBe('sent');

    const accepted = await status('accept');
    expect(accepted.status).toBe(303);
    expect(accepted.headers.location).toBe(`${quotes(c.id)}`);
    expect((await knex('quotes').where({ id: quote.id }).first('status')).status).toBe('accepted');

    const again = await status('decline', true);
    expect(again.status).toBe(409);
    expect(textOf(again.text)).toContain(`Quote ${quote.number} is accepted; it cannot be declined any more.`);
    expect((await knex('quotes').where({ id: quote.id }).first('status')).status).toBe('accepted');
    // An accepted quote is no longer current.
    expect(sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-quotes')).toContain('No current quotes.');

    const [late] = await knex('quotes').insert({ shopId: north.id, customerId: c.id, number: 'LATE-1', status: 'sent', validUntil: day(-3), currency: 'EUR', subtotal: 1, total: 1 }).returning('id');
    const expired = await status('accept', true, late.id);
    expect(expired.status).toBe(409);
    expect(textOf(expired.text)).toContain('Quote LATE-1 expired after');
    expect((await status('explode', true)).status).toBe(422);
    expect((await status('accept', true, 99_999_999)).status).toBe(404);

    const audit = (await auditOf(knex, c.id)).filter((a) => a.action === 'quote.status_changed');
    expect(audit.map((a) => a.changes.fields.status)).toEqual([
      { from: 'sent', to: 'accepted' },
      { from: 'draft', to: 'sent' },
    ]);
    const timeline = sectionText((await owner.get(`/admin/customers/${c.id}`)).text, 'w-timeline');
    expect(timeline).toContain(`Quote ${quote.number} accepted`);
    expect(timeline).toContain(`Quote ${quote.number} sent`);
  });

  it('refuses a product of another shop, and an inactive product, storing nothing', async () => {
    const c = await makeCustomer(t.ctx.knex, [north.id, south.id]);
    const other = await create(owner, c.id, { product1: String(jacket.id), quantity1: '1', product2: String(southTote.id), quantity2: '1' }, true);
    expect(other.status).toBe(422);
    expect(fieldError(other.text, 'product2')).toBe('Choose a product of Quote North from the list.');
    // The refused form keeps what was typed.
    expect(other.text).toMatch(new RegExp(`<option value="${jacket.id}" selected>`));
    const inactive = await create(owner, c.id, { product1: String(retired.id), quantity1: '1' }, true);
    expect(fieldError(inactive.text, 'product1')).toBe('Choose a product of Quote North from the list.');
    expect(await count('quotes', { customerId: c.id })).toBe(0);
  });

  it('answers 404 for a shop outside the staff member’s scope, staff of another shop and a sales rep of another team', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [north.id, south.id], { salesTeamId: team.id });
    // A manager of North may quote North, not South.
    expect((await create(northManager, c.id, { product1: String(jacket.id), quantity1: '1' })).status).toBe(303);
    expect((await create(northManager, c.id, { shopId: String(south.id), product1: String(southTote.id), quantity1: '1' })).status).toBe(404);
    // The owner's South quote is invisible to the North manager.
    await create(owner, c.id, { shopId: String(south.id), product1: String(southTote.id), quantity1: '1' });
    const southQuote = await knex('quotes').where({ customerId: c.id, shopId: south.id }).first('id');
    expect(tableRows((await getHtmx(northManager, quotes(c.id))).text)).toHaveLength(1);
    expect((await postForm(northManager, `${quotes(c.id)}/${southQuote.id}/status`, { action: 'send' })).status).toBe(404);

    for (const agent of [farManager, rivalRep]) {
      expect((await getHtmx(agent, quotes(c.id))).status).toBe(404);
      expect((await getHtmx(agent, `${quotes(c.id)}/new`)).status).toBe(404);
      expect((await getHtmx(agent, `/admin/customers/${c.id}/widgets/quotes`)).status).toBe(404);
      expect((await create(agent, c.id, { product1: String(jacket.id), quantity1: '1' })).status).toBe(404);
      expect((await postForm(agent, `${quotes(c.id)}/${southQuote.id}/status`, { action: 'send' })).status).toBe(404);
    }
    // The rep of the customer's own team may.
    expect((await create(teamRep, c.id, { product1: String(boots.id), quantity1: '1' })).status).toBe(303);
    expect(await count('quotes', { customerId: c.id })).toBe(3);
  });

  it('lets support staff see quotes but not create or change them (403)', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [north.id]);
    await create(owner, c.id, { product1: String(jacket.id), quantity1: '1' });
    const quote = await knex('quotes').where({ customerId: c.id }).first('id');
    const widget = sectionText((await support.get(`/admin/customers/${c.id}`)).text, 'w-quotes');
    expect(widget).not.toContain('Create quote');
    const list = await getHtmx(support, quotes(c.id));
    expect(list.status).toBe(200);
    expect(list.text).not.toContain('name="action"');
    expect((await create(support, c.id, { product1: String(jacket.id), quantity1: '1' })).status).toBe(403);
    expect((await postForm(support, `${quotes(c.id)}/${quote.id}/status`, { action: 'send' })).status).toBe(403);
    expect(await count('quotes', { customerId: c.id })).toBe(1);
    expect((await knex('quotes').where({ id: quote.id }).first('status')).status).toBe('draft');
  });

  it('validates the form: empty, bad quantities, dates in the past, too long, with field messages (422)', async () => {
    const c = await makeCustomer(t.ctx.knex, [north.id]);
    const line = { product1: String(jacket.id), quantity1: '1' };
    const cases: Array<[Record<string, string>, string, string]> = [
      [{}, 'product1', 'Add at least one product.'],
      [{ product1: '', quantity1: '2' }, 'product1', 'Choose a product from the list.'],
      [{ product1: String(jacket.id), quantity1: '' }, 'quantity1', 'Enter a whole number from 1 to 9999.'],
      [{ product1: String(jacket.id), quantity1: '0' }, 'quantity1', 'Enter a whole number from 1 to 9999.'],
      [{ product1: String(jacket.id), quantity1: '-1' }, 'quantity1', 'Enter a whole number from 1 to 9999.'],
      [{ product1: String(jacket.id), quantity1: 'abc' }, 'quantity1', 'Enter a whole number from 1 to 9999.'],
      [{ product1: String(jacket.id), quantity1: '1e9' }, 'quantity1', 'Enter a whole number from 1 to 9999.'],
      [{ product1: String(jacket.id), quantity1: '1000000000' }, 'quantity1', 'Enter a whole number from 1 to 9999.'],
      [{ product1: String(jacket.id), quantity1: '1.5' }, 'quantity1', 'Enter a whole number from 1 to 9999.'],
      [{ product1: 'abc', quantity1: '1' }, 'product1', 'Choose a product from the list.'],
      [{ ...line, validUntil: day(-2) }, 'validUntil', 'The quote must be valid until a day after today.'],
      [{ ...line, validUntil: '2001-01-01' }, 'validUntil', 'The quote must be valid until a day after today.'],
      [{ ...line, validUntil: day(400) }, 'validUntil', 'A quote can be valid for at most a year.'],
      [{ ...line, validUntil: 'next week' }, 'validUntil', 'Enter the date as YYYY-MM-DD.'],
      [{ ...line, validUntil: '2027-02-30' }, 'validUntil', 'Enter the date as YYYY-MM-DD.'],
      [{ ...line, validUntil: '' }, 'validUntil', 'Enter the date as YYYY-MM-DD.'],
      [{ ...line, note: 'x'.repeat(2001) }, 'note', 'The note can be at most 2000 characters.'],
      [{ ...line, note: 'bell\u0007' }, 'note', 'The note cannot contain control characters.'],
    ];
    for (const [fields, field, message] of cases) {
      const response = await create(owner, c.id, fields, true);
      expect(response.status, JSON.stringify(fields).slice(0, 80)).toBe(422);
      expect(fieldError(response.text, field), JSON.stringify(fields).slice(0, 80)).toBe(message);
    }
    const badShop = await create(owner, c.id, { ...line, shopId: 'abc' }, true);
    expect(badShop.status).toBe(422);
    expect(await count('quotes', { customerId: c.id })).toBe(0);
  });

  it('answers 400 for a field sent as an array, storing nothing', async () => {
    const c = await makeCustomer(t.ctx.knex, [north.id]);
    const arrays: Array<Record<string, string | string[]>> = [{ product1: [String(jacket.id), String(boots.id)], quantity1: '1' }, { product1: String(jacket.id), quantity1: ['1', '2'] }, { product1: String(jacket.id), quantity1: '1', note: ['a', 'b'] }];
    for (const fields of arrays) {
      expect((await create(owner, c.id, fields)).status).toBe(400);
    }
    expect((await postForm(owner, `${quotes(c.id)}/1/status`, { action: ['send', 'accept'] })).status).toBe(400);
    expect(await count('quotes', { customerId: c.id })).toBe(0);
  });

  it('renders a note with markup inert and stores SQL-looking text literally', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [north.id]);
    const script = '<script>alert(1)</script><img src=x onerror=alert(2) hx-get="/admin/logout">';
    const sql = "' OR 1=1 --";
    expect((await create(owner, c.id, { product1: String(jacket.id), quantity1: '1', note: script })).status).toBe(303);
    expect((await create(owner, c.id, { product1: String(jacket.id), quantity1: '1', note: sql })).status).toBe(303);
    expect((await knex('quotes').where({ customerId: c.id }).orderBy('id').pluck('note')) as string[]).toEqual([script, sql]);
    const list = await owner.get(quotes(c.id));
    expect(list.text).not.toContain('<script>alert(1)');
    expect(list.text).not.toContain('<img src=x');
    expect(list.text).toContain(escapeHtml(script));
    expect(textOf(list.text)).toContain(sql);
    const page = await owner.get(`/admin/customers/${c.id}`);
    expect(page.text).not.toContain('<script>alert(1)');
    expect(sectionText(page.text, 'w-timeline')).toContain(sql);
    // A re-rendered refused form keeps the note, escaped.
    const refused = await create(owner, c.id, { note: script }, true);
    expect(refused.status).toBe(422);
    expect(refused.text).not.toContain('<script>alert(1)');
    expect(refused.text).toContain(escapeHtml(script));
  });

  it('puts a module installed through installModules on the dashboard in its order, and mounts its router', async () => {
    const knex = t.ctx.knex;
    const c = await makeCustomer(knex, [north.id]);
    // The shipped module: Quotes (main column, order 30) sits between orders (20) and subscriptions (40).
    expect(MODULES.map((m) => m.name)).toContain('quotes');
    const page = (await owner.get(`/admin/customers/${c.id}`)).text;
    const at = (id: string) => page.indexOf(`id="${id}"`);
    expect(at('w-orders')).toBeGreaterThan(0);
    expect(at('w-quotes')).toBeGreaterThan(at('w-orders'));
    expect(at('w-subscriptions')).toBeGreaterThan(at('w-quotes'));
    expect(at('w-timeline')).toBeGreaterThan(at('w-subscriptions'));

    // A module of our own: its widget (side column, order 35: between notes 30 and tags 40) reuses
    // the tags partial with a loader of its own; its router answers under the customer.
    const loaded: number[] = [];
    const probe: PortalModule = {
      name: 'probe-module',
      widgets: [
        {
          name: 'probeWidget',
          template: 'partials/admin/dashboard/tags',
          column: 'side',
          order: 35,
          load: async (_knex, access) => {
            loaded.push(access.customerId);
            return { tags: ['probe-marker'] };
          },
        },
      ],
      router: () => Router({ mergeParams: true }).get('/', (req, res) => void res.send(`probe for ${String((req.params as Record<string, string>).customerId)}`)),
    };
    const host = Router({ mergeParams: true });
    installModules(t.ctx, host, [probe]);
    const withProbe = (await owner.get(`/admin/customers/${c.id}`)).text;
    const marker = withProbe.indexOf('probe-marker');
    expect(marker).toBeGreaterThan(withProbe.indexOf('id="w-notes"'));
    expect(marker).toBeLessThan(withProbe.lastIndexOf('id="w-tags"'));
    expect(loaded).toContain(c.id);
    const reloaded = await getHtmx(owner, `/admin/customers/${c.id}/widgets/probeWidget`);
    expect(reloaded.status).toBe(200);
    expect(reloaded.text).toContain('probe-marker');
    // The widget keeps the scope check of every dashboard route.
    expect((await getHtmx(farManager, `/admin/customers/${c.id}/widgets/probeWidget`)).status).toBe(404);

    const app = express().use('/admin/customers/:customerId', host);
    const routed = await request(app).get('/admin/customers/42/probe-module');
    expect(routed.text).toBe('probe for 42');

    expect(() => installModules(t.ctx, Router(), [{ ...probe, name: 'Bad Name' }])).toThrow(/lower-case/);
    expect(() => installModules(t.ctx, Router(), [{ name: 'twice', widgets: [] }, { name: 'twice', widgets: [] }])).toThrow(/Two modules/);
    expect(() => installModules(t.ctx, Router(), [{ name: 'clash', widgets: [{ ...probe.widgets[0]!, name: 'quotes' }] }])).toThrow(/already registered/);
  });
});
