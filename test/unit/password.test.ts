import { hash as argon2Hash, type Options } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, MAX_PASSWORD_BYTES, needsRehash, PASSWORD_POLICY, verifyPassword } from '../../app/auth/password.js';
import { passwordRuleViolation } from '../../app/services/password-rules.js';
import { agentFor, csrfToken, loginCustomer, loginStaff } from '../support/agents.js';
import { makeCustomer, makeShop, makeStaff, PASSWORD } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const ARGON2ID = 2 as Options['algorithm'];
const ARGON2I = 1 as Options['algorithm'];

interface Phc {
  algorithm: string;
  version: number;
  m: number;
  t: number;
  p: number;
  salt: string;
  digest: string;
}

/** Splits a PHC string such as `$argon2id$v=19$m=19456,t=2,p=1$salt$hash`. */
function parsePhc(phc: string): Phc {
  const match = /^\$(argon2(?:id|i|d))\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(phc);
  if (!match) throw new Error(`not an argon2 PHC string: ${phc}`);
  const [, algorithm, version, m, t, p, salt, digest] = match as unknown as [string, string, string, string, string, string, string, string];
  return { algorithm, version: Number(version), m: Number(m), t: Number(t), p: Number(p), salt, digest };
}

/** A hash made with weaker parameters than today's policy, as an older release would have stored. */
const weakHash = (password: string) => argon2Hash(password, { algorithm: ARGON2ID, memoryCost: 4096, timeCost: 1, parallelism: 1 });

const rules = { passwordMinLength: 8, passwordRegex: '', passwordRegexMessage: '' };

describe('password hashing', () => {
  it('hashes with argon2id at m >= 19456 KiB, t >= 2, p = 1 and a random salt', async () => {
    const first = parsePhc(await hashPassword(PASSWORD));
    expect(first.algorithm).toBe('argon2id');
    expect(first.version).toBe(19);
    expect(first.m).toBeGreaterThanOrEqual(19_456);
    expect(first.t).toBeGreaterThanOrEqual(2);
    expect(first.p).toBe(1);
    expect(Buffer.from(first.salt, 'base64').length).toBeGreaterThanOrEqual(16);

    const second = parsePhc(await hashPassword(PASSWORD));
    expect(second.salt).not.toBe(first.salt);
    expect(second.digest).not.toBe(first.digest);
  });

  it('verifies the right password and refuses a wrong one or a broken hash', async () => {
    const stored = await hashPassword(PASSWORD);
    expect(await verifyPassword(stored, PASSWORD)).toBe(true);
    expect(await verifyPassword(stored, `${PASSWORD} `)).toBe(false);
    expect(await verifyPassword(stored, PASSWORD.toUpperCase())).toBe(false);
    expect(await verifyPassword('not-a-hash', PASSWORD)).toBe(false);
    expect(await verifyPassword('', PASSWORD)).toBe(false);
  });

  it('accepts long passwords (64+ characters) without truncating them', async () => {
    const long = 'a'.repeat(200) + 'Z';
    expect(passwordRuleViolation(long, rules)).toBeNull();
    const stored = await hashPassword(long);
    expect(await verifyPassword(stored, long)).toBe(true);
    // A differing last character after 200 equal ones still fails: nothing cut the input short.
    expect(await verifyPassword(stored, 'a'.repeat(200) + 'Y')).toBe(false);
  });

  it('accepts Unicode passwords, treating NFC and NFD spellings as the same password', async () => {
    const emoji = '🔐 clé secrète 鍵 🦄🦄';
    expect(await verifyPassword(await hashPassword(emoji), emoji)).toBe(true);

    const nfc = 'pässwörd'.normalize('NFC');
    const nfd = 'pässwörd'.normalize('NFD');
    expect(nfc).not.toBe(nfd);
    const stored = await hashPassword(nfc);
    expect(await verifyPassword(stored, nfc)).toBe(true);
    expect(await verifyPassword(stored, nfd)).toBe(true);
    expect(await verifyPassword(await hashPassword(nfd), nfc)).toBe(true);
    expect(await verifyPassword(stored, 'passwort')).toBe(false);
  });

  it('refuses input over 1 KiB: the shop rules reject it and verifyPassword says false without hashing', async () => {
    expect(MAX_PASSWORD_BYTES).toBe(1024);
    const atLimit = 'a'.repeat(1024);
    const overLimit = 'a'.repeat(1025);
    expect(passwordRuleViolation(atLimit, rules)).toBeNull();
    expect(passwordRuleViolation(overLimit, rules)).toMatch(/at most 1024 bytes/);
    // The cap counts bytes, not characters: 513 two-byte characters are 1026 bytes.
    expect(passwordRuleViolation('ä'.repeat(513), rules)).toMatch(/at most 1024 bytes/);

    // Even a hash that matches the oversized input does not let it through.
    const matching = await argon2Hash(overLimit, { algorithm: ARGON2ID, ...PASSWORD_POLICY });
    expect(await verifyPassword(matching, overLimit)).toBe(false);
    expect(await verifyPassword(await hashPassword(atLimit), atLimit)).toBe(true);
  });

  it('asks for a rehash only when the stored hash is weaker than the policy', async () => {
    expect(needsRehash(await hashPassword(PASSWORD))).toBe(false);
    expect(needsRehash(await weakHash(PASSWORD))).toBe(true);
    expect(needsRehash(await argon2Hash(PASSWORD, { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 1, parallelism: 1 }))).toBe(true);
    expect(needsRehash(await argon2Hash(PASSWORD, { algorithm: ARGON2I, ...PASSWORD_POLICY }))).toBe(true);
    expect(needsRehash('garbage')).toBe(true);
  });
});

describe('rehash on login', () => {
  let t: TestApp;
  let shop: { id: number };

  beforeAll(async () => {
    t = await createTestApp();
    shop = await makeShop(t.ctx.knex, { hostname: 'rehash.localhost' });
  });
  afterAll(() => t.close());

  async function expectUpgraded(stored: string, weak: string) {
    expect(stored).not.toBe(weak);
    const phc = parsePhc(stored);
    expect(phc).toMatchObject({ algorithm: 'argon2id', m: PASSWORD_POLICY.memoryCost, t: PASSWORD_POLICY.timeCost, p: PASSWORD_POLICY.parallelism });
    expect(needsRehash(stored)).toBe(false);
    expect(await verifyPassword(stored, PASSWORD)).toBe(true);
  }

  it('replaces a staff member’s weak hash with one at the current parameters when they log in', async () => {
    const staff = await makeStaff(t.ctx.knex);
    const weak = await weakHash(PASSWORD);
    await t.ctx.knex('staffUsers').where({ id: staff.id }).update({ passwordHash: weak });

    const agent = await loginStaff(t.app, staff.email);
    expect((await agent.get('/admin/customers')).status).toBe(200);

    const row = await t.ctx.knex('staffUsers').where({ id: staff.id }).first('passwordHash', 'lastLoginAt');
    await expectUpgraded(row.passwordHash, weak);
    expect(row.lastLoginAt).not.toBeNull();
  });

  it('replaces a customer’s weak hash when they log in on their shop', async () => {
    const customer = await makeCustomer(t.ctx.knex, [shop.id]);
    const weak = await weakHash(PASSWORD);
    await t.ctx.knex('customers').where({ id: customer.id }).update({ passwordHash: weak });

    const agent = await loginCustomer(t.app, 'rehash.localhost', customer.email);
    expect((await agent.get('/account')).status).toBe(200);

    const row = await t.ctx.knex('customers').where({ id: customer.id }).first('passwordHash');
    await expectUpgraded(row.passwordHash, weak);
  });

  it('leaves a weak hash alone when the password was wrong', async () => {
    const staff = await makeStaff(t.ctx.knex);
    const weak = await weakHash(PASSWORD);
    await t.ctx.knex('staffUsers').where({ id: staff.id }).update({ passwordHash: weak });

    await expect(loginStaff(t.app, staff.email, 'not the password')).rejects.toThrow(/401/);
    const row = await t.ctx.knex('staffUsers').where({ id: staff.id }).first('passwordHash');
    expect(row.passwordHash).toBe(weak);
  });

  it('lets a customer with a 64+ character Unicode password register and log in with its NFD spelling', async () => {
    const password = `${'ünïcødé-🔑-'.repeat(8)}end`.normalize('NFC');
    expect([...password].length).toBeGreaterThan(64);
    const agent = agentFor(t.app, 'rehash.localhost');
    const email = 'unicode-password@example.test';
    const token = await csrfToken(agent, '/account/register');
    const registered = await agent.post('/account/register').type('form').send({ email, password, confirmPassword: password, firstname: 'Uni', lastname: 'Code', _csrf: token });
    expect(registered.status).toBe(303);

    const again = await loginCustomer(t.app, 'rehash.localhost', email, password.normalize('NFD'));
    expect((await again.get('/account')).text).toContain('Uni');
  });

  it('refuses a registration whose password is over 1 KiB, and stores nothing', async () => {
    const agent = agentFor(t.app, 'rehash.localhost');
    const password = 'ä'.repeat(513);
    const token = await csrfToken(agent, '/account/register');
    const answer = await agent
      .post('/account/register')
      .type('form')
      .send({ email: 'too-long@example.test', password, confirmPassword: password, firstname: 'Too', lastname: 'Long', _csrf: token });
    expect(answer.status).toBe(422);
    expect(answer.text).toContain('at most 1024 bytes');
    expect(await t.ctx.knex('customers').where({ email: 'too-long@example.test' }).first()).toBeUndefined();
  });
});
