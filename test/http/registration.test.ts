import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentFor, csrfToken, loginStaff, type Agent } from '../support/agents.js';
import { makeShop, makeStaff, PASSWORD } from '../support/factories.js';
import { escapeHtml, fieldError, inputValue } from '../support/html.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** A password that is not the factories' one, so it can never appear on a page by accident. */
const NEW_PASSWORD = 'Tr0ub4dor & 3 horses, galloping';

let sequence = 0;
const uniqueEmail = (prefix = 'reg') => `${prefix}${++sequence}@example.test`;

function validForm(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    email: uniqueEmail(),
    password: NEW_PASSWORD,
    confirmPassword: NEW_PASSWORD,
    firstname: 'Alice',
    lastname: 'Adams',
    customertype: 'B2C',
    ...overrides,
  };
}

describe('registration (F-LIFE-1)', () => {
  let t: TestApp;
  let north: { id: number; name: string };
  let south: { id: number };
  let owner: { email: string };

  beforeAll(async () => {
    t = await createTestApp();
    north = await makeShop(t.ctx.knex, { code: 'north', name: 'North', hostname: 'north.localhost' });
    south = await makeShop(t.ctx.knex, { code: 'south', name: 'South', hostname: 'south.localhost' });
    await makeShop(t.ctx.knex, {
      code: 'strict',
      name: 'Strict',
      hostname: 'strict.localhost',
      settings: {
        approvalRequiredFor: ['B2B'],
        registrationTypes: ['B2C', 'B2B'],
        passwordMinLength: 16,
        passwordRegex: '\\d',
        passwordRegexMessage: 'Your password needs at least one digit.',
        emailRegex: '@(example|company)\\.test$',
      },
    });
    await makeShop(t.ctx.knex, { code: 'staffonly', name: 'Staff only', hostname: 'staffonly.localhost', settings: { registrationTypes: ['B2E', 'B2C'] } });
    owner = await makeStaff(t.ctx.knex, { role: 'owner' });
  });
  afterAll(() => t.close());

  async function register(agent: Agent, fields: Record<string, string>) {
    const token = await csrfToken(agent, '/account/register');
    return agent.post('/account/register').type('form').send({ _csrf: token, ...fields });
  }

  /** Row counts of everything a registration writes, to prove a refused one wrote nothing. */
  async function counts() {
    const knex = t.ctx.knex;
    const count = async (table: string) => Number((await knex(table).count<{ count: string }[]>('* as count'))[0]!.count);
    return { customers: await count('customers'), customerShops: await count('customerShops'), outbox: await count('mailOutbox'), audit: await count('auditLog') };
  }

  async function customerByEmail(email: string) {
    return t.ctx.knex('customers').where('email', email).first();
  }

  describe('happy path', () => {
    it('creates the account, assigns it to this shop only, logs the customer in and queues the welcome e-mail', async () => {
      const agent = agentFor(t.app, 'north.localhost');
      const form = validForm({ firstname: 'Alice', lastname: 'Adams' });
      const response = await register(agent, form);
      expect(response.status).toBe(303);
      expect(response.headers.location).toBe('/account');

      const account = await agent.get('/account');
      expect(account.status).toBe(200);
      expect(account.text).toContain('Hello, Alice');
      expect(account.text).toContain('Welcome to North! Your account is ready.');
      expect(account.text).not.toContain(NEW_PASSWORD);

      const customer = await customerByEmail(form.email!);
      expect(customer).toMatchObject({ email: form.email, firstName: 'Alice', lastName: 'Adams', customerType: 'B2C', state: 'active', taxExempt: false });
      expect(customer.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(customer.passwordHash).not.toContain(NEW_PASSWORD);
      expect(customer.passwordChangedAt).toBeInstanceOf(Date);

      const assignments = await t.ctx.knex('customerShops').where({ customerId: customer.id });
      expect(assignments).toHaveLength(1);
      expect(assignments[0]).toMatchObject({ shopId: north.id, status: 'active', ordersCount: 0 });

      const mail = await t.ctx.knex('mailOutbox').where({ customerId: customer.id });
      expect(mail).toHaveLength(1);
      expect(mail[0]).toMatchObject({ template: 'welcome', toAddress: form.email, shopId: north.id });
      expect(mail[0].textBody).toContain('Hello Alice');
      expect(mail[0].textBody).toContain('http://north.localhost');

      const audit = await t.ctx.knex('auditLog').where({ customerId: customer.id });
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actorType: 'customer', actorId: customer.id, shopId: north.id, action: 'customer.registered' });
    });

    it('keeps the new account out of other shops: it cannot log in on south', async () => {
      const form = validForm();
      expect((await register(agentFor(t.app, 'north.localhost'), form)).status).toBe(303);
      const onSouth = agentFor(t.app, 'south.localhost');
      const token = await csrfToken(onSouth, '/account/login');
      const refused = await onSouth.post('/account/login').type('form').send({ email: form.email, password: NEW_PASSWORD, _csrf: token });
      expect(refused.status).toBe(401);
      expect(refused.text).toContain('The e-mail or password is not correct.');
    });
  });

  describe('shop settings', () => {
    it('puts a B2B registration on a shop that approves B2B on hold, with the awaiting-approval e-mail', async () => {
      const agent = agentFor(t.app, 'strict.localhost');
      const form = validForm({ customertype: 'B2B', password: 'a long passphrase 42', confirmPassword: 'a long passphrase 42', firstname: 'Bea' });
      const response = await register(agent, form);
      expect(response.status).toBe(200);
      expect(response.text).toContain('your account is awaiting approval');
      expect(response.text).toContain(escapeHtml(form.email!));

      const customer = await customerByEmail(form.email!);
      expect(customer.customerType).toBe('B2B');
      const assignment = await t.ctx.knex('customerShops').where({ customerId: customer.id }).first();
      expect(assignment.status).toBe('pending_approval');
      const mail = await t.ctx.knex('mailOutbox').where({ customerId: customer.id });
      expect(mail.map((m: { template: string; toAddress: string }) => [m.template, m.toAddress])).toEqual([['registration-pending', form.email]]);

      // Not logged in by the registration…
      const account = await agent.get('/account');
      expect(account.status).toBe(303);
      expect(account.headers.location).toBe('/account/login');
      // …and logging in says why.
      const token = await csrfToken(agent, '/account/login');
      const login = await agent.post('/account/login').type('form').send({ email: form.email, password: form.password, _csrf: token });
      expect(login.status).toBe(401);
      expect(login.text).toContain('Your account is awaiting approval by the shop.');
    });

    it('lets a B2C customer of the same shop in straight away', async () => {
      const agent = agentFor(t.app, 'strict.localhost');
      const form = validForm({ customertype: 'B2C', password: 'a long passphrase 42', confirmPassword: 'a long passphrase 42', firstname: 'Carl' });
      const response = await register(agent, form);
      expect(response.status).toBe(303);
      expect((await agent.get('/account')).text).toContain('Hello, Carl');
      const mail = await t.ctx.knex('mailOutbox').where({ toAddress: form.email }).first();
      expect(mail.template).toBe('welcome');
    });

    it.each([
      ['shorter than passwordMinLength', 'short pass 1', 'Password must be at least 16 characters.'],
      ['not matching passwordRegex', 'long enough but no digits', 'Your password needs at least one digit.'],
    ])('refuses a password %s with the shop’s message', async (_case, password, message) => {
      const before = await counts();
      const agent = agentFor(t.app, 'strict.localhost');
      const response = await register(agent, validForm({ password, confirmPassword: password }));
      expect(response.status).toBe(422);
      expect(fieldError(response.text, 'password')).toBe(message);
      expect(response.text).not.toContain(password);
      expect(await counts()).toEqual(before);
    });

    it('shows the shop’s minimum length on the form', async () => {
      const page = await agentFor(t.app, 'strict.localhost').get('/account/register');
      expect(page.text).toContain('At least 16 characters.');
    });

    it('refuses an e-mail address the shop’s emailRegex does not accept', async () => {
      const before = await counts();
      const response = await register(agentFor(t.app, 'strict.localhost'), validForm({ email: 'someone@elsewhere.test', password: 'a long passphrase 42', confirmPassword: 'a long passphrase 42' }));
      expect(response.status).toBe(422);
      expect(fieldError(response.text, 'email')).toBe('This shop does not accept this e-mail address.');
      expect(await counts()).toEqual(before);
    });

    it('refuses a customer type the shop does not offer for registration', async () => {
      const before = await counts();
      const response = await register(agentFor(t.app, 'staffonly.localhost'), validForm({ customertype: 'B2B' }));
      expect(response.status).toBe(422);
      expect(response.text).toContain('This customer type cannot register in this shop.');
      expect(await counts()).toEqual(before);
    });

    it('refuses a customer type that does not exist', async () => {
      const before = await counts();
      const response = await register(agentFor(t.app, 'north.localhost'), validForm({ customertype: 'ADMIN' }));
      expect(response.status).toBe(422);
      expect(response.text).toContain('Choose a customer type.');
      expect(await counts()).toEqual(before);
    });
  });

  describe('duplicate e-mail', () => {
    it('refuses the same address in another case, keeps the names, never echoes the password', async () => {
      expect((await register(agentFor(t.app, 'north.localhost'), validForm({ email: 'Alice@Example.test' }))).status).toBe(303);
      const before = await counts();

      const response = await register(agentFor(t.app, 'north.localhost'), validForm({ email: 'alice@example.test', firstname: 'Alicia', lastname: 'Second' }));
      expect(response.status).toBe(422);
      expect(fieldError(response.text, 'email')).toContain('already exists');
      expect(inputValue(response.text, 'firstname')).toBe('Alicia');
      expect(inputValue(response.text, 'lastname')).toBe('Second');
      expect(inputValue(response.text, 'email')).toBe('alice@example.test');
      expect(inputValue(response.text, 'password')).toBe('');
      expect(inputValue(response.text, 'confirmPassword')).toBe('');
      expect(response.text).not.toContain(escapeHtml(NEW_PASSWORD));
      expect(response.text).not.toContain(NEW_PASSWORD);

      expect(await counts()).toEqual(before);
      const rows = await t.ctx.knex('customers').whereRaw('lower(email::text) = ?', ['alice@example.test']);
      expect(rows).toHaveLength(1);
      expect(rows[0].firstName).toBe('Alice');
    });

    it('refuses an address registered on another shop too (one account per e-mail on the platform)', async () => {
      const email = uniqueEmail('both');
      expect((await register(agentFor(t.app, 'north.localhost'), validForm({ email }))).status).toBe(303);
      const response = await register(agentFor(t.app, 'south.localhost'), validForm({ email: email.toUpperCase() }));
      expect(response.status).toBe(422);
      expect(fieldError(response.text, 'email')).toContain('already exists');
      const customer = await customerByEmail(email);
      expect(await t.ctx.knex('customerShops').where({ customerId: customer.id }).select('shopId')).toEqual([{ shopId: north.id }]);
    });
  });

  describe('bad input', () => {
    it.each([
      ['an empty form', {}, { email: 'E-mail is required.', password: 'Password is required.', firstname: 'First name is required.', lastname: 'Last name is required.' }],
      ['blank names (only spaces)', { firstname: '   ', lastname: '\t' }, { firstname: 'First name is required.', lastname: 'Last name is required.' }],
      ['a malformed e-mail', { email: 'not-an-email' }, { email: 'Enter a valid e-mail address, like name@example.com.' }],
      ['an e-mail without a domain', { email: 'someone@' }, { email: 'Enter a valid e-mail address, like name@example.com.' }],
      ['a 101-character first name', { firstname: 'F'.repeat(101) }, { firstname: 'First name must be at most 100 characters.' }],
      ['a 101-character last name', { lastname: 'L'.repeat(101) }, { lastname: 'Last name must be at most 100 characters.' }],
      ['a 255-character e-mail', { email: `${'a'.repeat(242)}@example.test` }, { email: 'E-mail must be at most 254 characters.' }],
      ['a 300-character e-mail', { email: `${'a'.repeat(287)}@example.test` }, { email: 'E-mail must be at most 254 characters.' }],
      ['passwords that do not match', { confirmPassword: 'something else entirely' }, { confirmPassword: 'The two passwords do not match.' }],
      ['a phone number with letters', { phone: '030 CALL ME' }, { phone: 'Phone may contain digits, spaces and + ( ) . / - only.' }],
      ['a 201-character company', { companyname1: 'C'.repeat(201) }, { companyname1: 'Company must be at most 200 characters.' }],
      ['a NUL byte in a name', { firstname: 'Al\u0000ice' }, { firstname: 'First name cannot contain line breaks or control characters.' }],
      ['a line break in a name', { lastname: 'Adams\r\nX-Injected: yes' }, { lastname: 'Last name cannot contain line breaks or control characters.' }],
      ['a NUL byte in the e-mail', { email: 'al\u0000ice@example.test' }, { email: 'Enter a valid e-mail address, like name@example.com.' }],
    ] as Array<[string, Record<string, string>, Record<string, string>]>)('answers %s with 422, a message per field and nothing stored', async (_case, fields, expected) => {
      const before = await counts();
      const form = Object.keys(fields).length === 0 ? {} : validForm(fields);
      const response = await register(agentFor(t.app, 'north.localhost'), form);
      expect(response.status).toBe(422);
      expect(response.text).toContain('Please correct the highlighted fields.');
      for (const [field, message] of Object.entries(expected)) expect(fieldError(response.text, field), field).toBe(message);
      expect(response.text).not.toContain(NEW_PASSWORD);
      expect(await counts()).toEqual(before);
    });

    it('accepts a 100-character first name and a 254-character e-mail (the limits themselves)', async () => {
      const email = `${'b'.repeat(241)}@example.test`;
      expect(email).toHaveLength(254);
      const response = await register(agentFor(t.app, 'north.localhost'), validForm({ email, firstname: 'F'.repeat(100) }));
      expect(response.status).toBe(303);
      expect((await customerByEmail(email)).firstName).toBe('F'.repeat(100));
    });

    it('stores phone and company when given, trimmed', async () => {
      const form = validForm({ phone: ' +49 (30) 123-45/67 ', companyname1: '  Acme GmbH ' });
      expect((await register(agentFor(t.app, 'north.localhost'), form)).status).toBe(303);
      expect(await customerByEmail(form.email!)).toMatchObject({ phone: '+49 (30) 123-45/67', companyName1: 'Acme GmbH' });
    });

    it('answers a NUL byte in the login e-mail with 422, not a server error', async () => {
      const agent = agentFor(t.app, 'north.localhost');
      const token = await csrfToken(agent, '/account/login');
      const response = await agent.post('/account/login').type('form').send({ email: 'al\u0000ice@example.test', password: NEW_PASSWORD, _csrf: token });
      expect(response.status).toBe(422);
      expect(fieldError(response.text, 'email')).toBe('Enter a valid e-mail address, like name@example.com.');
    });

    it('answers a field sent twice with 400 and stores nothing', async () => {
      const before = await counts();
      const agent = agentFor(t.app, 'north.localhost');
      const token = await csrfToken(agent, '/account/register');
      const body = new URLSearchParams({ _csrf: token, ...validForm() });
      body.append('email', 'second@example.test');
      const response = await agent.post('/account/register').type('form').send(body.toString());
      expect(response.status).toBe(400);
      expect(response.text).toContain('The field &quot;email&quot; must be sent once, as text.');
      expect(await counts()).toEqual(before);
    });

    it('answers a body over 64 kB with 413 and a friendly page in the shop’s layout', async () => {
      const before = await counts();
      const agent = agentFor(t.app, 'north.localhost');
      const token = await csrfToken(agent, '/account/register');
      const body = new URLSearchParams({ _csrf: token, ...validForm({ firstname: 'x'.repeat(70_000) }) });
      const response = await agent.post('/account/register').type('form').send(body.toString());
      expect(response.status).toBe(413);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.text).toContain('That request was too large.');
      expect(response.text).toContain('<title>Error · North</title>');
      expect(response.text).not.toMatch(/PayloadTooLarge|at .*\.js:\d+|Customer Portal admin/);
      expect(await counts()).toEqual(before);
    });
  });

  describe('hostile names', () => {
    const script = '<script>alert(1)</script>';
    const img = '"><img src=x onerror=alert(1)>';
    const htmx = '<div hx-get="/admin">';
    const sql = "' OR 1=1 --";

    /** None of the payloads made it into the markup as markup, and each is shown as text. */
    function expectInert(html: string, shown: string[]) {
      expect(html).not.toContain(script);
      expect(html).not.toMatch(/<img/i);
      expect(html).not.toContain(htmx);
      expect(html).not.toMatch(/hx-get="\/admin"/);
      // No element carries an event handler (attribute values, where escaped text may sit, removed first).
      for (const tag of html.match(/<[a-z][^>]*>/gi) ?? []) expect(tag.replace(/"[^"]*"|'[^']*'/g, '""')).not.toMatch(/\son[a-z]+=/i);
      // The only script elements are the app's own files.
      for (const tag of html.match(/<script[^>]*>/gi) ?? []) expect(tag).toMatch(/^<script src="\/static\//);
      for (const text of shown) expect(html).toContain(escapeHtml(text));
    }

    let first: { id: number; email: string };
    let second: { id: number; email: string };
    let firstAgent: Agent;
    let secondAgent: Agent;

    beforeAll(async () => {
      firstAgent = agentFor(t.app, 'north.localhost');
      const a = validForm({ firstname: script, lastname: img, email: uniqueEmail('xss') });
      expect((await register(firstAgent, a)).status).toBe(303);
      secondAgent = agentFor(t.app, 'north.localhost');
      const b = validForm({ firstname: htmx, lastname: sql, email: uniqueEmail('xss') });
      expect((await register(secondAgent, b)).status).toBe(303);
      first = await customerByEmail(a.email!);
      second = await customerByEmail(b.email!);
    });

    it('stores the names exactly as typed, SQL meta-characters included', async () => {
      expect(await t.ctx.knex('customers').where({ id: first.id }).first('firstName', 'lastName')).toEqual({ firstName: script, lastName: img });
      expect(await t.ctx.knex('customers').where({ id: second.id }).first('firstName', 'lastName')).toEqual({ firstName: htmx, lastName: sql });
      // The SQL-looking name did not widen anything: exactly one customer has it.
      expect(await t.ctx.knex('customers').where({ lastName: sql }).pluck('id')).toEqual([second.id]);
    });

    it('renders them escaped on /account', async () => {
      const a = await firstAgent.get('/account');
      expect(a.text).toContain(`Hello, ${escapeHtml(script)}`);
      expectInert(a.text, [script, img]);
      const b = await secondAgent.get('/account');
      expect(b.text).toContain(`Hello, ${escapeHtml(htmx)}`);
      expectInert(b.text, [htmx, sql]);
    });

    it('renders them escaped on the admin customer list and the customer page', async () => {
      const staff = await loginStaff(t.app, owner.email);
      const list = await staff.get('/admin/customers');
      expect(list.status).toBe(200);
      expectInert(list.text, [`${script} ${img}`, `${htmx} ${sql}`]);

      const page1 = await staff.get(`/admin/customers/${first.id}`);
      expect(page1.status).toBe(200);
      expectInert(page1.text, [`${script} ${img}`]);
      expect(page1.text).toContain(`<title>${escapeHtml(`${script} ${img}`)} · Customer Portal admin</title>`);

      const page2 = await staff.get(`/admin/customers/${second.id}`);
      expectInert(page2.text, [`${htmx} ${sql}`]);
    });

    it('re-displays hostile input escaped when the form is refused', async () => {
      const response = await register(agentFor(t.app, 'north.localhost'), validForm({ firstname: img, lastname: script, email: 'not-an-email' }));
      expect(response.status).toBe(422);
      expect(inputValue(response.text, 'firstname')).toBe(img);
      expect(inputValue(response.text, 'lastname')).toBe(script);
      expectInert(response.text, [img, script]);
    });
  });

  describe('fields the customer may not set', () => {
    it('ignores state, tax exemption and shop in the form', async () => {
      const form = validForm({ state: 'disabled', tax_exempt: 'on', taxExempt: 'true', shop_id: String(south.id), shopId: String(south.id), status: 'active', role: 'owner', sessionVersion: '99' });
      const agent = agentFor(t.app, 'north.localhost');
      const response = await register(agent, form);
      expect(response.status).toBe(303);

      const customer = await customerByEmail(form.email!);
      expect(customer).toMatchObject({ state: 'active', taxExempt: false, sessionVersion: 1 });
      expect(await t.ctx.knex('customerShops').where({ customerId: customer.id }).select('shopId', 'status')).toEqual([{ shopId: north.id, status: 'active' }]);
      const account = await agent.get('/account');
      expect(account.text).toMatch(/<dt>Tax exempt<\/dt><dd>No<\/dd>/);
    });

    it('does not let a pending customer type promote itself with status=active', async () => {
      const form = validForm({ customertype: 'B2B', status: 'active', password: 'a long passphrase 42', confirmPassword: 'a long passphrase 42' });
      const response = await register(agentFor(t.app, 'strict.localhost'), form);
      expect(response.status).toBe(200);
      const customer = await customerByEmail(form.email!);
      expect((await t.ctx.knex('customerShops').where({ customerId: customer.id }).first()).status).toBe('pending_approval');
    });
  });

  it('never shows the password on the page, even when everything else is wrong', async () => {
    const response = await register(agentFor(t.app, 'north.localhost'), { email: 'bad', password: PASSWORD, confirmPassword: PASSWORD, firstname: '', lastname: '' });
    expect(response.status).toBe(422);
    expect(response.text).not.toContain(PASSWORD);
  });
});
