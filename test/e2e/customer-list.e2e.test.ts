import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBulkWorker } from '../../workers/bulk.worker.js';
import { closeAll, launchBrowser, listen, newPage, watchForProblems, type LiveServer } from '../support/browser.js';
import { makeAddress, makeCustomer, makeOrder, makeShop, makeStaff, PASSWORD } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * The admin customer list as an owner uses it in a real browser: the Filters panel and its chips,
 * sorting and keyset paging by htmx swaps (no page reload), the page size, the remembered Columns
 * menu, and bulk actions that run as jobs with a polling progress page.
 */

const ADMIN = 'admin.localhost';
const POLL = { timeout: 8_000, interval: 50 };
const HOUR = 3_600_000;
const SIZE = 25;

type State = 'active' | 'invited' | 'disabled';

/** One customer of the known data set, as the test expects to see it. */
interface Person {
  i: number;
  email: string;
  firstName: string;
  lastName: string;
  state: State;
  /** Default billing country; null for customers without an address. */
  country: 'DE' | 'AT' | null;
  shops: Array<'north' | 'south'>;
  orders: number;
  tags: string[];
  createdAt: Date;
}

const FIRST_NAMES = ['Anna', 'Bruno', 'Carla', 'Dora', 'Emil', 'Frieda', 'Gustav', 'Hanna', 'Ida', 'Jonas'];
const pad = (n: number) => String(n).padStart(2, '0');

/**
 * 60 customers across two shops. E-mails start with a two-digit key that is a permutation of the
 * creation order (17·i mod 61), so sorting by e-mail visibly differs from the default "newest first".
 */
function dataSet(now: number): Person[] {
  return Array.from({ length: 60 }, (_, index) => {
    const i = index + 1;
    const lastName = `Kunde${pad(i)}`;
    return {
      i,
      email: `${pad((i * 17) % 61)}-${lastName.toLowerCase()}@list.example`,
      firstName: FIRST_NAMES[i % FIRST_NAMES.length]!,
      lastName,
      state: i % 10 === 3 ? 'disabled' : i % 10 === 7 ? 'invited' : 'active',
      country: i === 58 || i === 59 ? null : i % 4 === 0 ? 'AT' : 'DE',
      shops: i % 10 === 0 ? ['north', 'south'] : i <= 30 ? ['north'] : ['south'],
      orders: i % 4,
      tags: i % 6 === 0 ? ['vip'] : [],
      createdAt: new Date(now - i * HOUR),
    };
  });
}

describe('admin customer list in a real browser', () => {
  let t: TestApp;
  let server: LiveServer;
  let browser: Browser;
  let owner: { id: number; email: string };
  let worker: ReturnType<typeof startBulkWorker> | undefined;
  let people: Person[];
  let northId: number;
  let southId: number;
  const idOf = new Map<string, number>();
  const pages: Page[] = [];

  /** The bulk worker runs from the first time a test needs it (the first run checks the queued state first). */
  const ensureWorker = () => {
    worker ??= startBulkWorker(t.ctx);
  };

  const openPage = async () => {
    const page = await newPage(browser);
    pages.push(page);
    return page;
  };

  const results = (page: Page) => page.locator('#customer-results');
  const emailsInTable = (page: Page) => results(page).locator('tbody td.email').allTextContents();
  const chipLabels = async (page: Page) => (await results(page).locator('li.chip').allTextContents()).map((text) => text.replace(/\s*×\s*$/, '').trim());
  const countText = async (page: Page) => ((await results(page).locator('p.count').textContent()) ?? '').trim();
  const param = (page: Page, key: string) => new URL(page.url()).searchParams.getAll(key);
  const marker = (page: Page) => page.evaluate('window.__marker');
  const rowOf = (page: Page, email: string) => results(page).locator('tbody tr', { has: page.locator('td.email', { hasText: email }) });
  const filterPanel = (page: Page) => page.locator('#customer-search details.filters');
  /** Ids of the customers carrying `tag`, ascending. */
  const taggedWith = async (tag: string) => (await t.ctx.knex('customerTags').where({ tag }).orderBy('customerId').select('customerId')).map((row: { customerId: unknown }) => Number(row.customerId));
  const sorted = (list: Person[], by: (p: Person) => string) => list.map(by).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  async function logIn(page: Page): Promise<void> {
    await page.goto(server.url(ADMIN, '/admin/login'));
    await page.getByLabel('E-mail').fill(owner.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(server.url(ADMIN, '/admin/customers'));
  }

  /** Opens the Filters panel (unless it is open already). */
  async function openFilters(page: Page): Promise<void> {
    if ((await filterPanel(page).getAttribute('open')) === null) await filterPanel(page).locator('summary').click();
    await filterPanel(page).locator('.filter-grid').waitFor({ state: 'visible' });
  }

  /** Makes every htmx request for the list take 600 ms longer, as on a slow connection or server. */
  async function slowListRequests(page: Page): Promise<void> {
    await page.route(
      (url) => url.pathname === '/admin/customers',
      async (route) => {
        if (route.request().headers()['hx-request'] === 'true') await new Promise((resolve) => setTimeout(resolve, 600));
        await route.continue();
      },
    );
  }

  /** Records the htmx requests the progress page sends to itself while it polls. */
  function pollsOf(page: Page): Request[] {
    const polls: Request[] = [];
    page.on('request', (request) => {
      if (request.method() === 'GET' && /^\/admin\/customers\/bulk\/\d+$/.test(new URL(request.url()).pathname) && request.headers()['hx-request'] === 'true') polls.push(request);
    });
    return polls;
  }

  beforeAll(async () => {
    t = await createTestApp();
    const knex = t.ctx.knex;
    const shops = {
      north: await makeShop(knex, { code: 'north', name: 'North', hostname: 'north.localhost' }),
      south: await makeShop(knex, { code: 'south', name: 'South', hostname: 'south.localhost' }),
    };
    northId = shops.north.id;
    southId = shops.south.id;
    owner = await makeStaff(knex, { email: 'owner@example.test', role: 'owner' });
    await knex('customerGroups').insert([{ name: 'Wholesale', kind: 'static' }, { name: 'Regulars', kind: 'static' }]);
    people = dataSet(Date.now());
    for (const person of people) {
      const customer = await makeCustomer(
        knex,
        person.shops.map((code) => shops[code].id),
        { email: person.email, firstName: person.firstName, lastName: person.lastName, state: person.state, createdAt: person.createdAt },
      );
      idOf.set(person.email, customer.id);
      if (person.country) await makeAddress(knex, customer.id, { countryCode: person.country, city: person.country === 'AT' ? 'Wien' : 'Berlin', isDefaultBilling: true });
      for (let n = 0; n < person.orders; n++) await makeOrder(knex, customer.id, shops[person.shops[0]!].id, 2_500, new Date(person.createdAt.getTime() + (n + 1) * 60_000));
      if (person.tags.length) await knex('customerTags').insert(person.tags.map((tag) => ({ customerId: customer.id, tag })));
    }
    server = await listen(t.app);
    browser = await launchBrowser();
  });

  afterAll(() => closeAll(pages, browser, worker, server, t));

  it('filters, removes a chip, sorts, pages and resizes by htmx swaps, tags two ticked rows, and keeps the list in the Columns and Save view menus', { timeout: 90_000 }, async () => {
    const activeDeOrAt = people.filter((p) => p.state === 'active' && (p.country === 'DE' || p.country === 'AT'));
    const activeDe = people.filter((p) => p.state === 'active' && p.country === 'DE');
    const byEmail = sorted(activeDe, (p) => p.email);
    // The data set gives a second, shorter page at 25 rows and one page at 50.
    expect(activeDeOrAt).toHaveLength(46);
    expect(activeDe).toHaveLength(31);

    const page = await openPage();
    const problems = watchForProblems(page);
    const counts: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/admin/customers/count') counts.push(request.url());
    });
    await logIn(page);
    expect(await emailsInTable(page)).toHaveLength(SIZE);
    await expect.poll(() => countText(page), POLL).toBe('60 customers');
    await page.evaluate('window.__marker = 1');

    // ── Filters panel: state Active, countries DE and AT ──
    await openFilters(page);
    await page.getByRole('group', { name: 'State', exact: true }).getByLabel('Active', { exact: true }).check();
    await page.getByLabel('Country codes, separated by commas').fill('de, at');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => chipLabels(page), POLL).toEqual(['State: Active', 'Country: DE', 'Country: AT']);
    await expect.poll(() => countText(page), POLL).toBe(`${activeDeOrAt.length} customers`);
    expect(param(page, 'state')).toEqual(['active']);
    expect(param(page, 'country').join(',').replace(/\s/g, '').toUpperCase()).toBe('DE,AT');
    expect(await marker(page)).toBe(1);

    // ── Remove the "Country: AT" chip with its × ──
    await results(page).getByRole('link', { name: 'Remove filter Country: AT' }).click();
    await expect.poll(() => chipLabels(page), POLL).toEqual(['State: Active', 'Country: DE']);
    await expect.poll(() => countText(page), POLL).toBe(`${activeDe.length} customers`);
    // From here on only the order, the page and the page size change: the count stays on the page, never asked for again.
    const countsForThisFilter = counts.length;
    expect(param(page, 'country').map((c) => c.toUpperCase())).toEqual(['DE']);
    expect(param(page, 'state')).toEqual(['active']);
    expect(await marker(page)).toBe(1);
    // The Filters panel shows what is filtered now, so the next search does not bring the chip back.
    expect((await page.getByLabel('Country codes, separated by commas').inputValue()).toUpperCase()).toBe('DE');

    // ── Sort by e-mail (ascending) ──
    await results(page).locator('th', { hasText: 'E-mail' }).getByRole('link').click();
    await results(page).locator('th[aria-sort="ascending"]', { hasText: 'E-mail' }).waitFor();
    expect(await emailsInTable(page)).toEqual(byEmail.slice(0, SIZE));
    // The swapped results keep the bulk bar's group menu of the full page (sent empty by the server).
    expect(await results(page).locator('#bulk-group option').allTextContents()).toEqual(['group…', 'Regulars', 'Wholesale']);
    expect(param(page, 'sort')).toEqual(['email']);
    expect(param(page, 'dir')).toEqual(['asc']);
    expect(await chipLabels(page)).toEqual(['State: Active', 'Country: DE']);
    expect(await results(page).getByRole('link', { name: '← Previous' }).count()).toBe(0);
    expect(await marker(page)).toBe(1);

    // ── Next page, then back ──
    await results(page).getByRole('link', { name: 'Next →' }).click();
    await expect.poll(() => emailsInTable(page), POLL).toEqual(byEmail.slice(SIZE));
    expect(param(page, 'after')).toHaveLength(1);
    expect(param(page, 'before')).toEqual([]);
    expect(param(page, 'sort')).toEqual(['email']);
    expect(param(page, 'country').map((c) => c.toUpperCase())).toEqual(['DE']);
    expect(await results(page).getByRole('link', { name: 'Next →' }).count()).toBe(0);
    expect(await marker(page)).toBe(1);

    await results(page).getByRole('link', { name: '← Previous' }).click();
    await expect.poll(() => emailsInTable(page), POLL).toEqual(byEmail.slice(0, SIZE));
    expect(param(page, 'before')).toHaveLength(1);
    expect(param(page, 'after')).toEqual([]);
    expect(await results(page).getByRole('link', { name: '← Previous' }).count()).toBe(0);
    expect(await results(page).getByRole('link', { name: 'Next →' }).count()).toBe(1);
    expect(await marker(page)).toBe(1);
    expect(await countText(page)).toBe(`${activeDe.length} customers`);

    // ── 50 rows per page: everything on one page, back at the start, same filters and sort ──
    await results(page).getByLabel('Rows per page').selectOption('50');
    await expect.poll(() => emailsInTable(page), POLL).toEqual(byEmail);
    expect(param(page, 'size')).toEqual(['50']);
    expect(param(page, 'after')).toEqual([]);
    expect(param(page, 'before')).toEqual([]);
    expect(param(page, 'sort')).toEqual(['email']);
    expect(param(page, 'dir')).toEqual(['asc']);
    expect(await chipLabels(page)).toEqual(['State: Active', 'Country: DE']);
    await expect.poll(() => countText(page), POLL).toBe(`${activeDe.length} customers`);
    expect(await results(page).locator('a[rel=next], a[rel=prev]').count()).toBe(0);
    expect(await marker(page)).toBe(1);
    expect(counts).toHaveLength(countsForThisFilter);

    // ── Tick two rows and add a tag to them ──
    const ticked = [byEmail[1]!, byEmail[4]!];
    for (const email of ticked) await rowOf(page, email).getByRole('checkbox').check();
    await results(page).getByLabel('Bulk action').selectOption({ label: 'Add tag' });
    await results(page).getByLabel('Tag', { exact: true }).fill('newsletter');
    const polls = pollsOf(page);
    await results(page).getByRole('button', { name: 'Apply to ticked rows' }).click();
    await page.waitForURL(/\/admin\/customers\/bulk\/\d+$/);
    const progress = page.locator('#bulk-progress');
    expect(await progress.locator('h2').textContent()).toBe('Add tag “newsletter” · 2 selected');
    // No worker yet: the page says it waits, and must then update itself as the job runs.
    expect(await progress.textContent()).toContain('Waiting for a worker…');
    await page.evaluate('window.__marker = 2');
    ensureWorker();
    await page.locator('#bulk-progress .flash-success').waitFor({ timeout: 20_000 });
    expect((await page.locator('#bulk-progress .flash-success').textContent())?.trim()).toBe('Done: 2 tagged of 2 customers.');
    expect(polls.length).toBeGreaterThanOrEqual(1);
    expect(await marker(page)).toBe(2);
    // Finished: it stops polling.
    expect(await progress.getAttribute('hx-trigger')).toBeNull();

    expect(await taggedWith('newsletter')).toEqual(ticked.map((email) => idOf.get(email)!).sort((a, b) => a - b));

    // ── Back on the list: only the two ticked customers carry the new tag ──
    await page.getByRole('link', { name: 'Back to customers' }).click();
    await page.waitForURL(server.url(ADMIN, '/admin/customers'));
    await page.evaluate('window.__marker = 3');
    await openFilters(page);
    await page.getByLabel('Tags, separated by commas').fill('newsletter');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => chipLabels(page), POLL).toEqual(['Tag: newsletter']);
    await expect.poll(async () => (await emailsInTable(page)).sort(), POLL).toEqual([...ticked].sort());
    await expect.poll(() => countText(page), POLL).toBe('2 customers');
    expect(await marker(page)).toBe(3);

    // ── Turn on the Tags column from the Columns menu: the list comes back with the same filter ──
    expect(await results(page).locator('th', { hasText: /^Tags$/ }).count()).toBe(0);
    const columnsMenu = page.locator('.below-table details', { has: page.locator('summary', { hasText: 'Columns' }) });
    await columnsMenu.locator('summary').click();
    await columnsMenu.getByLabel('Tags', { exact: true }).check();
    await columnsMenu.getByRole('button', { name: 'Show these columns' }).click();
    await page.waitForURL((url) => url.pathname === '/admin/customers' && url.searchParams.get('tag') === 'newsletter');
    await results(page).locator('th', { hasText: /^Tags$/ }).waitFor();
    expect(await chipLabels(page)).toEqual(['Tag: newsletter']);
    expect((await emailsInTable(page)).sort()).toEqual([...ticked].sort());
    for (const email of ticked) {
      const before = people.find((p) => p.email === email)!.tags;
      expect(await rowOf(page, email).locator('.tag').allTextContents()).toEqual([...before, 'newsletter'].sort());
    }

    // ── Sort by name (htmx), then save the view: the saved query is the list as shown now ──
    await page.evaluate('window.__marker = 4');
    await results(page).locator('th', { hasText: 'Name' }).getByRole('link').click();
    await results(page).locator('th[aria-sort="ascending"]', { hasText: 'Name' }).waitFor();
    expect(await marker(page)).toBe(4);
    const saveMenu = page.locator('.below-table details', { has: page.locator('summary', { hasText: 'Save view' }) });
    await saveMenu.locator('summary').click();
    await saveMenu.getByLabel('Name').fill('Newsletter sign-ups');
    await saveMenu.getByRole('button', { name: 'Save' }).click();
    await page.locator('.flash-success', { hasText: 'Saved the view “Newsletter sign-ups”.' }).waitFor();
    const view = await t.ctx.knex('savedViews').where({ staffUserId: owner.id, name: 'Newsletter sign-ups' }).first('queryString');
    const saved = new URLSearchParams(view.queryString);
    expect([saved.get('tag'), saved.get('sort'), saved.get('dir')]).toEqual(['newsletter', 'name', 'asc']);
    expect(param(page, 'tag')).toEqual(['newsletter']);
    expect(param(page, 'sort')).toEqual(['name']);

    // The column choice is remembered: a fresh visit of the plain list still shows it.
    await page.goto(server.url(ADMIN, '/admin/customers'));
    await results(page).locator('th', { hasText: /^Tags$/ }).waitFor();
    const vip = people.find((p) => p.tags.includes('vip') && p.i <= 20)!;
    expect(await rowOf(page, vip.email).locator('.tag').allTextContents()).toEqual(['vip']);
    const staffRow = await t.ctx.knex('staffUsers').where({ id: owner.id }).first('listColumns');
    expect(staffRow.listColumns).toEqual(['tags']);

    expect(problems).toEqual([]);
  });

  it("draws the Filters panel's checkboxes at one small size, a long label's too (a shop's \"In this shop\" group)", { timeout: 30_000 }, async () => {
    const page = await openPage();
    await logIn(page);
    await page.goto(server.url(ADMIN, `/admin/customers?shop=${northId}`));
    await openFilters(page);
    const inShop = page.getByRole('group', { name: 'In this shop', exact: true });
    await expect.poll(() => inShop.getByRole('checkbox').count(), POLL).toBe(3);
    const boxes = await Promise.all((await filterPanel(page).locator('.filter-grid input[type=checkbox]').all()).map((box) => box.boundingBox()));
    expect(boxes.length).toBeGreaterThan(10);
    for (const box of boxes) {
      expect(box!.width).toBeLessThanOrEqual(20);
      expect(box!.height).toBe(box!.width);
    }
    expect(new Set(boxes.map((box) => box!.width)).size).toBe(1);
    // The group's lines keep together at its top, however tall its row of the panel is.
    const awaiting = (await inShop.getByLabel('Awaiting approval').boundingBox())!;
    const disabled = (await inShop.getByLabel('Disabled').boundingBox())!;
    expect(disabled.y - awaiting.y).toBeLessThan(40);
  });

  it('offers the "In this shop" filter as soon as a shop is chosen, and takes it away for all shops, without a reload', { timeout: 30_000 }, async () => {
    const inNorth = people.filter((p) => p.shops.includes('north')).sort((a, b) => a.i - b.i);
    const page = await openPage();
    const problems = watchForProblems(page);
    await logIn(page);
    await page.evaluate('window.__marker = 1');
    await openFilters(page);
    const inShop = page.getByRole('group', { name: 'In this shop', exact: true });
    expect(await inShop.count()).toBe(0);
    await page.getByLabel('Shop', { exact: true }).selectOption({ label: 'North' });
    await expect.poll(() => param(page, 'shop'), POLL).toEqual([String(northId)]);
    // The address bar leaves out the form's empty fields.
    expect([...new URL(page.url()).searchParams].filter(([, value]) => value === '')).toEqual([]);
    await expect.poll(() => inShop.getByRole('checkbox').count(), POLL).toBe(3);
    await inShop.getByLabel('Active').check();
    await expect.poll(() => chipLabels(page), POLL).toEqual(['In shop: Active']);
    await expect.poll(() => emailsInTable(page), POLL).toEqual(inNorth.slice(0, SIZE).map((p) => p.email));
    await page.getByLabel('Shop', { exact: true }).selectOption({ label: 'All shops' });
    await expect.poll(() => inShop.count(), POLL).toBe(0);
    await expect.poll(() => chipLabels(page), POLL).toEqual([]);
    expect(await marker(page)).toBe(1);
    expect(problems).toEqual([]);
  });

  it('takes the total spent filter in the chosen shop\'s currency, and keeps that currency over shops that sell in two', { timeout: 30_000 }, async () => {
    const spentInPounds = people.filter((p) => p.shops[0] === 'south' && p.orders >= 1);
    const spentInEuros = people.filter((p) => p.shops[0] === 'north' && p.orders >= 1).sort((a, b) => a.i - b.i);
    await t.ctx.knex('shops').where({ id: southId }).update({ currency: 'GBP' });
    try {
      const page = await openPage();
      const problems = watchForProblems(page);
      await logIn(page);
      await page.goto(server.url(ADMIN, `/admin/customers?shop=${southId}`));
      await openFilters(page);
      const spent = page.getByRole('group', { name: /^Total spent/ });
      const notice = () => results(page).getByRole('status').filter({ hasText: 'Ignored' }).textContent();
      await expect.poll(() => spent.locator('legend').textContent(), POLL).toBe('Total spent (GBP)');
      expect(await page.getByLabel('Currency of the amounts').count()).toBe(0);
      await page.getByLabel('Minimum spent').fill('10');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await expect.poll(() => chipLabels(page), POLL).toEqual(['Spent ≥ £10.00']);

      // Over both shops the amount keeps its currency: what was spent in the shops that sell in pounds.
      await page.getByLabel('Shop', { exact: true }).selectOption({ label: 'All shops' });
      await expect.poll(() => page.getByLabel('Currency of the amounts').inputValue(), POLL).toBe('GBP');
      expect(await spent.locator('legend').textContent()).toBe('Total spent');
      await expect.poll(() => chipLabels(page), POLL).toEqual(['Spent ≥ £10.00']);
      expect(param(page, 'spent_currency')).toEqual(['GBP']);
      await expect.poll(async () => (await emailsInTable(page)).sort(), POLL).toEqual(sorted(spentInPounds, (p) => p.email));

      // In euros instead.
      await page.getByLabel('Currency of the amounts').selectOption('EUR');
      await expect.poll(() => chipLabels(page), POLL).toEqual(['Spent ≥ €10.00']);
      await expect.poll(async () => (await emailsInTable(page)).sort(), POLL).toEqual(sorted(spentInEuros, (p) => p.email).slice(0, SIZE).sort());
      await page.getByLabel('Currency of the amounts').selectOption('GBP');
      await expect.poll(() => chipLabels(page), POLL).toEqual(['Spent ≥ £10.00']);

      // A shop that sells in euros does not take an amount in pounds.
      await page.getByLabel('Shop', { exact: true }).selectOption({ label: 'North' });
      await expect.poll(() => spent.locator('legend').textContent(), POLL).toBe('Total spent (EUR)');
      expect(await notice()).toContain('total spent in GBP (this shop sells in EUR)');
      expect(await page.getByLabel('Currency of the amounts').count()).toBe(0);
      expect(problems).toEqual([]);
    } finally {
      await t.ctx.knex('shops').where({ id: southId }).update({ currency: 'EUR' });
    }
  });

  it('shows the top of the new page after Next or Previous at the foot of the table, as a page load would', { timeout: 30_000 }, async () => {
    const newestFirst = [...people].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.i - a.i).map((p) => p.email);
    const page = await openPage();
    await logIn(page);
    const firstRowInView = async () => {
      const box = (await results(page).locator('tbody tr').first().boundingBox())!;
      return box.y >= 0 && box.y + box.height <= page.viewportSize()!.height;
    };
    await results(page).getByRole('link', { name: 'Next →' }).click();
    await expect.poll(() => emailsInTable(page), POLL).toEqual(newestFirst.slice(SIZE, 2 * SIZE));
    expect(await firstRowInView()).toBe(true);
    // Back from the foot of the second page, which is as long as the first.
    await results(page).getByRole('link', { name: '← Previous' }).scrollIntoViewIfNeeded();
    expect(await firstRowInView()).toBe(false);
    await results(page).getByRole('link', { name: '← Previous' }).click();
    await expect.poll(() => emailsInTable(page), POLL).toEqual(newestFirst.slice(0, SIZE));
    expect(await firstRowInView()).toBe(true);
  });

  it('shows the filters applied last when an earlier change is still loading (a slow network)', { timeout: 30_000 }, async () => {
    const matching = people.filter((p) => p.tags.includes('vip') && p.orders >= 1);
    const page = await openPage();
    const problems = watchForProblems(page);
    await logIn(page);
    // The request a changed field sends is still loading when the next field changes and when "Apply filters" is pressed.
    await slowListRequests(page);
    await openFilters(page);
    await page.getByLabel('Tags, separated by commas').fill('vip');
    await page.getByLabel('Minimum orders').fill('1');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => param(page, 'orders_min'), POLL).toEqual(['1']);
    await expect.poll(() => chipLabels(page), POLL).toEqual(['Tag: vip', 'Orders ≥ 1']);
    await expect.poll(async () => (await emailsInTable(page)).sort(), POLL).toEqual(sorted(matching, (p) => p.email));
    expect(problems).toEqual([]);
  });

  it('shows the results of the whole term typed on while the search for its first letters is loading (a slow network)', { timeout: 30_000 }, async () => {
    const page = await openPage();
    const problems = watchForProblems(page);
    await logIn(page);
    await slowListRequests(page);
    const search = page.getByLabel('Search customers');
    const searched = page.waitForRequest((request) => new URL(request.url()).searchParams.get('q') === 'kunde0');
    await search.fill('kunde0');
    await searched;
    await search.fill('kunde05');
    await expect.poll(() => param(page, 'q'), POLL).toEqual(['kunde05']);
    await expect.poll(() => emailsInTable(page), POLL).toEqual(people.filter((p) => p.lastName === 'Kunde05').map((p) => p.email));
    expect(problems).toEqual([]);
  });

  it('applies "Add tag" to all customers matching a filter', { timeout: 60_000 }, async () => {
    const matching = people.filter((p) => p.tags.includes('vip') && p.orders >= 1);
    expect(matching).toHaveLength(5);
    ensureWorker();

    const page = await openPage();
    const problems = watchForProblems(page);
    await logIn(page);
    await page.evaluate('window.__marker = 1');
    await openFilters(page);
    await page.getByLabel('Tags, separated by commas').fill('vip');
    await page.getByLabel('Minimum orders').fill('1');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => chipLabels(page), POLL).toEqual(['Tag: vip', 'Orders ≥ 1']);
    await expect.poll(async () => (await emailsInTable(page)).sort(), POLL).toEqual(sorted(matching, (p) => p.email));
    await expect.poll(() => countText(page), POLL).toBe(`${matching.length} customers`);
    expect(await marker(page)).toBe(1);

    await results(page).getByLabel('Bulk action').selectOption({ label: 'Add tag' });
    await results(page).getByLabel('Tag', { exact: true }).fill('Loyal');
    await results(page).getByRole('button', { name: 'Apply to all matching' }).click();
    await page.waitForURL(/\/admin\/customers\/bulk\/\d+$/);
    const progress = page.locator('#bulk-progress');
    expect(await progress.locator('h2').textContent()).toBe('Add tag “loyal” · all matching the filter');
    await page.locator('#bulk-progress .flash-success').waitFor({ timeout: 20_000 });
    expect((await page.locator('#bulk-progress .flash-success').textContent())?.trim()).toBe(`Done: ${matching.length} tagged of ${matching.length} customers.`);

    // Exactly the matching customers got the tag (lower-cased), nobody else.
    const operationId = Number(/\/bulk\/(\d+)$/.exec(page.url())![1]);
    const operation = await t.ctx.knex('bulkOperations').where({ id: operationId }).first();
    expect(operation).toMatchObject({ staffUserId: owner.id, action: 'add_tag', status: 'done', processed: matching.length, changed: matching.length, skipped: 0 });
    expect(operation.selection.ids).toBeUndefined();
    expect(await taggedWith('loyal')).toEqual(matching.map((p) => idOf.get(p.email)!).sort((a, b) => a - b));
    const audit = await t.ctx.knex('auditLog').where({ action: 'customers.bulk.add_tag' }).whereRaw("changes->>'operationId' = ?", [String(operationId)]).first();
    expect(audit).toBeDefined();

    expect(problems).toEqual([]);
  });
});
