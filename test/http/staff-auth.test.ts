import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentFor, csrfFrom, csrfToken, postLogin, type Agent } from '../support/agents.js';
import { cookiePair, sessionIdOf, setCookie, type SetCookie } from '../support/cookies.js';
import { makeCustomer, makeShop, makeStaff, PASSWORD } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = 'admin.localhost';
const REFUSED = 'The e-mail or password is not correct.';
const backends = ['redis', 'postgres'] as const;

/** The session as the store keeps it (Redis key or http_sessions row), with its remaining lifetime. */
async function storedSession(t: TestApp, sid: string): Promise<{ data: Record<string, unknown>; ttlSeconds: number } | null> {
  if (t.ctx.redis) {
    const key = `${t.ctx.config.queuePrefix}:sess:${sid}`;
    const raw = await t.ctx.redis.get(key);
    return raw ? { data: JSON.parse(raw) as Record<string, unknown>, ttlSeconds: await t.ctx.redis.ttl(key) } : null;
  }
  const result = await t.ctx.knex.raw(`SELECT sess, extract(epoch FROM expire - localtimestamp)::float AS ttl FROM http_sessions WHERE sid = ?`, [sid]);
  const row = result.rows[0] as { sess: Record<string, unknown>; ttl: number } | undefined;
  return row ? { data: row.sess, ttlSeconds: row.ttl } : null;
}

async function rewriteStoredSession(t: TestApp, sid: string, data: Record<string, unknown>): Promise<void> {
  if (t.ctx.redis) {
    await t.ctx.redis.set(`${t.ctx.config.queuePrefix}:sess:${sid}`, JSON.stringify(data), { expiration: 'KEEPTTL' });
    return;
  }
  await t.ctx.knex('httpSessions').where({ sid }).update({ sess: JSON.stringify(data) });
}

/** A request from a browser that holds nothing but `cookie`. */
const withCookie = (t: TestApp, path: string, cookie: SetCookie) => agentFor(t.app, ADMIN).get(path).set('Cookie', cookiePair(cookie));

function expectSentToLogin(response: { status: number; headers: Record<string, string> }) {
  expect(response.status).toBe(303);
  expect(response.headers.location).toMatch(/^\/admin\/login(\?|$)/);
}

async function logIn(t: TestApp, email: string): Promise<{ agent: Agent; cookie: SetCookie }> {
  const agent = agentFor(t.app, ADMIN);
  const response = await postLogin(agent, '/admin/login', email);
  expect(response.status).toBe(303);
  const cookie = setCookie(response, 'cp_admin');
  if (!cookie) throw new Error('login set no cp_admin cookie');
  return { agent, cookie };
}

describe.each(backends)('staff sessions on %s', (backend) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ backend });
    expect(Boolean(t.ctx.redis)).toBe(backend === 'redis');
  });
  afterAll(() => t.close());

  it('logs in with the right password: 303 to /admin/customers, which then shows the staff member', async () => {
    const staff = await makeStaff(t.ctx.knex);
    const agent = agentFor(t.app, ADMIN);
    const response = await postLogin(agent, '/admin/login', staff.email);
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/admin/customers');
    const list = await agent.get('/admin/customers');
    expect(list.status).toBe(200);
    expect(list.text).toContain(staff.email);
  });

  it('goes back to the admin page asked for before logging in, and never to another host', async () => {
    const staff = await makeStaff(t.ctx.knex);
    const agent = agentFor(t.app, ADMIN);
    const asked = await agent.get('/admin/customers/123?tab=x');
    expect(asked.status).toBe(303);
    const loginUrl = asked.headers.location!;
    expect(loginUrl).toBe(`/admin/login?next=${encodeURIComponent('/admin/customers/123?tab=x')}`);
    const page = await agent.get(loginUrl);
    expect(page.text).toContain(`action="/admin/login?next=${encodeURIComponent('/admin/customers/123?tab=x')}"`);
    const response = await agent.post(loginUrl).type('form').send({ email: staff.email, password: PASSWORD, _csrf: csrfFrom(page.text) });
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/admin/customers/123?tab=x');

    for (const next of ['//evil.example/admin/', 'https://evil.example/admin/', '/\\evil.example', '/account', '/admin/\r\nX: y']) {
      const other = agentFor(t.app, ADMIN);
      const form = await other.get(`/admin/login?next=${encodeURIComponent(next)}`);
      expect(form.text).toContain('action="/admin/login"');
      const done = await other.post(`/admin/login?next=${encodeURIComponent(next)}`).type('form').send({ email: staff.email, password: PASSWORD, _csrf: csrfFrom(form.text) });
      expect(done.headers.location).toBe('/admin/customers');
    }
  });

  it('answers a wrong password and an unknown e-mail with the same 401 page', async () => {
    const staff = await makeStaff(t.ctx.knex);
    const unknown = `nobody-${staff.id}@example.test`;
    const wrongPassword = await postLogin(agentFor(t.app, ADMIN), '/admin/login', staff.email, 'not the password');
    const unknownEmail = await postLogin(agentFor(t.app, ADMIN), '/admin/login', unknown, 'not the password');

    for (const response of [wrongPassword, unknownEmail]) {
      expect(response.status).toBe(401);
      expect(response.text).toContain(REFUSED);
    }
    // Neither answer treats the session differently (a cookie on one only would tell them apart).
    expect(Boolean(setCookie(wrongPassword, 'cp_admin'))).toBe(Boolean(setCookie(unknownEmail, 'cp_admin')));
    // Apart from the CSRF token and the e-mail echoed back into the form, the pages are identical.
    const neutral = (html: string, email: string) => html.split(csrfFrom(html)).join('TOKEN').split(email).join('EMAIL');
    expect(neutral(wrongPassword.text, staff.email)).toBe(neutral(unknownEmail.text, unknown));
  });

  it('gives the session a new id at login; the pre-login id does not become logged in', async () => {
    const staff = await makeStaff(t.ctx.knex);
    const agent = agentFor(t.app, ADMIN);
    const loginPage = await agent.get('/admin/login');
    const before = setCookie(loginPage, 'cp_admin');
    expect(before).toBeDefined();

    const response = await agent.post('/admin/login').type('form').send({ email: staff.email, password: PASSWORD, _csrf: csrfFrom(loginPage.text) });
    expect(response.status).toBe(303);
    const after = setCookie(response, 'cp_admin')!;
    expect(after).toBeDefined();
    expect(sessionIdOf(after)).not.toBe(sessionIdOf(before!));

    expect((await withCookie(t, '/admin/customers', after)).status).toBe(200);
    expectSentToLogin(await withCookie(t, '/admin/customers', before!));
    expect(await storedSession(t, sessionIdOf(before!))).toBeNull();
  });

  it('destroys the session at logout: the old cookie no longer authenticates', async () => {
    const staff = await makeStaff(t.ctx.knex);
    const { agent, cookie } = await logIn(t, staff.email);
    const sid = sessionIdOf(cookie);
    expect((await storedSession(t, sid))?.data).toMatchObject({ passport: { user: { kind: 'staff', id: staff.id } } });

    const token = await csrfToken(agent, '/admin/customers');
    const logout = await agent.post('/admin/logout').type('form').send({ _csrf: token });
    expect(logout.status).toBe(303);
    expect(logout.headers.location).toBe('/admin/login');

    expect(await storedSession(t, sid)).toBeNull();
    expectSentToLogin(await withCookie(t, '/admin/customers', cookie));
    expectSentToLogin(await agent.get('/admin/customers'));
    // A new login gets yet another id.
    const again = await logIn(t, staff.email);
    expect(sessionIdOf(again.cookie)).not.toBe(sid);
  });

  it('sets the admin cookie HttpOnly, SameSite=Strict, host-only, with an idle expiry (cookie and store)', async () => {
    const staff = await makeStaff(t.ctx.knex);
    const { cookie } = await logIn(t, staff.email);
    const idleSeconds = t.ctx.config.sessionIdleMs / 1000;
    expect(idleSeconds).toBe(30 * 60);

    expect(cookie.attributes.httponly).toBe(true);
    expect(String(cookie.attributes.samesite).toLowerCase()).toBe('strict');
    expect(cookie.attributes.path).toBe('/');
    expect(cookie.attributes.domain).toBeUndefined();
    expect(cookie.attributes.secure).toBeUndefined(); // plain HTTP here; see the TLS test below
    const expiresIn = cookie.attributes['max-age'] !== undefined ? Number(cookie.attributes['max-age']) : (Date.parse(String(cookie.attributes.expires)) - Date.now()) / 1000;
    expect(expiresIn).toBeGreaterThan(idleSeconds - 60);
    expect(expiresIn).toBeLessThanOrEqual(idleSeconds + 1);

    const stored = await storedSession(t, sessionIdOf(cookie));
    expect(stored!.ttlSeconds).toBeGreaterThan(idleSeconds - 60);
    expect(stored!.ttlSeconds).toBeLessThanOrEqual(idleSeconds + 1);
  });

  it('ends a session that has outlived the absolute lifetime, however active it was', async () => {
    const staff = await makeStaff(t.ctx.knex);
    const { cookie } = await logIn(t, staff.email);
    const sid = sessionIdOf(cookie);
    expect((await withCookie(t, '/admin/customers', cookie)).status).toBe(200);

    const stored = await storedSession(t, sid);
    await rewriteStoredSession(t, sid, { ...stored!.data, createdAt: Date.now() - t.ctx.config.sessionAbsoluteMs - 60_000 });
    expectSentToLogin(await withCookie(t, '/admin/customers', cookie));
    expect(await storedSession(t, sid)).toBeNull();
  });

  it('ends existing sessions on their next request when the session version moves on (password or role change)', async () => {
    const staff = await makeStaff(t.ctx.knex);
    const first = await logIn(t, staff.email);
    const second = await logIn(t, staff.email);
    expect((await first.agent.get('/admin/customers')).status).toBe(200);

    await t.ctx.knex('staffUsers').where({ id: staff.id }).increment('sessionVersion', 1);
    expectSentToLogin(await first.agent.get('/admin/customers'));
    expectSentToLogin(await second.agent.get('/admin/customers'));
    expectSentToLogin(await withCookie(t, '/admin/customers', first.cookie));
    expect(await storedSession(t, sessionIdOf(first.cookie))).toBeNull();

    // Logging in again picks up the new version.
    const fresh = await logIn(t, staff.email);
    expect((await fresh.agent.get('/admin/customers')).status).toBe(200);
  });

  it('reads the staff member afresh with every request: a shop added to their scope is there on the next page', async () => {
    const [mine, added] = [await makeShop(t.ctx.knex, { name: `Mine ${backend}` }), await makeShop(t.ctx.knex, { name: `Added ${backend}` })];
    const staff = await makeStaff(t.ctx.knex, { role: 'manager', shopIds: [mine.id] });
    const { agent } = await logIn(t, staff.email);
    const before = await agent.get('/admin/customers');
    expect(before.text).toContain(`Mine ${backend}`);
    expect(before.text).not.toContain(`Added ${backend}`);

    await t.ctx.knex('staffShopScopes').insert({ staffUserId: staff.id, shopId: added.id });
    expect((await agent.get('/admin/customers')).text).toContain(`Added ${backend}`);
  });

  it('does not read a session past its idle expiry in the store', async () => {
    const staff = await makeStaff(t.ctx.knex);
    const { cookie } = await logIn(t, staff.email);
    const sid = sessionIdOf(cookie);
    expect((await withCookie(t, '/admin/customers', cookie)).status).toBe(200);
    if (t.ctx.redis) await t.ctx.redis.pExpire(`${t.ctx.config.queuePrefix}:sess:${sid}`, 1);
    else await t.ctx.knex('httpSessions').where({ sid }).update({ expire: t.ctx.knex.raw("localtimestamp - interval '1 second'") });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expectSentToLogin(await withCookie(t, '/admin/customers', cookie));
  });

  it('does not take a session whose user is a customer for the staff member with that id', async () => {
    const staff = await makeStaff(t.ctx.knex, { role: 'owner' });
    const { cookie } = await logIn(t, staff.email);
    const sid = sessionIdOf(cookie);
    const stored = await storedSession(t, sid);
    const passport = stored!.data.passport as { user: Record<string, unknown> };
    await rewriteStoredSession(t, sid, { ...stored!.data, passport: { user: { ...passport.user, kind: 'customer' } } });
    expectSentToLogin(await withCookie(t, '/admin/customers', cookie));
  });

  it('refuses a large form from a staff member disabled while it was being sent', async () => {
    const staff = await makeStaff(t.ctx.knex, { role: 'owner' });
    const customer = await makeCustomer(t.ctx.knex, [(await makeShop(t.ctx.knex)).id]);
    const { agent, cookie } = await logIn(t, staff.email);
    const [{ id: groupId }] = await t.ctx.knex('customerGroups').insert({ name: `Slow upload ${backend}`, kind: 'static' }).returning('id');
    const body = new URLSearchParams({ _csrf: await csrfToken(agent, `/admin/groups/${groupId}`), emails: customer.email }).toString();

    const server = t.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const request = http.request(
          {
            host: '127.0.0.1',
            port: (server.address() as AddressInfo).port,
            method: 'POST',
            path: `/admin/groups/${groupId}/batch`,
            headers: { Host: ADMIN, Cookie: cookiePair(cookie), 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) },
          },
          (res) => resolve(res.resume()),
        );
        request.on('error', reject);
        // The session is read when the headers arrive; the rest of the body comes after the staff
        // member was disabled, and later than the second the read is trusted for.
        request.write(body.slice(0, 10));
        setTimeout(() => {
          t.ctx.knex('staffUsers').where({ id: staff.id }).update({ disabledAt: t.ctx.knex.fn.now() }).then(() => setTimeout(() => request.end(body.slice(10)), 1_200), reject);
        }, 200);
      });
      expectSentToLogin({ status: response.statusCode ?? 0, headers: response.headers as Record<string, string> });
    } finally {
      server.closeAllConnections();
      server.close();
    }
    expect(await t.ctx.knex('customerGroupMembers').where({ groupId })).toEqual([]);
  });

  it('logs out a staff member who was disabled, and refuses their next login like a wrong password', async () => {
    const staff = await makeStaff(t.ctx.knex);
    const { agent } = await logIn(t, staff.email);
    expect((await agent.get('/admin/customers')).status).toBe(200);

    await t.ctx.knex('staffUsers').where({ id: staff.id }).update({ disabledAt: t.ctx.knex.fn.now() });
    expectSentToLogin(await agent.get('/admin/customers'));
    const retry = await postLogin(agentFor(t.app, ADMIN), '/admin/login', staff.email);
    expect(retry.status).toBe(401);
    expect(retry.text).toContain(REFUSED);
  });
});

describe('staff sessions on postgres across a migration', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ backend: 'postgres' });
  });
  afterAll(() => t.close());

  it('go on working when a migration changes a column the session read returns (the prepared statement is made afresh)', async () => {
    const staff = await makeStaff(t.ctx.knex, { role: 'owner' });
    const { agent } = await logIn(t, staff.email);
    expect((await agent.get('/admin/customers')).status).toBe(200);

    await t.ctx.knex.raw('ALTER TABLE staff_users ALTER COLUMN name TYPE varchar(300)');
    for (let i = 0; i < 3; i++) {
      const page = await agent.get('/admin/customers');
      expect(page.status).toBe(200);
      expect(page.text).toContain(staff.email);
    }
  });
});

describe('session cookies per area', () => {
  let t: TestApp;
  let behindTls: TestApp;

  beforeAll(async () => {
    [t, behindTls] = await Promise.all([createTestApp(), createTestApp({ env: { TRUST_PROXY: '1' } })]);
    await makeShop(t.ctx.knex, { hostname: 'cookies.localhost' });
  });
  afterAll(() => Promise.all([t.close(), behindTls.close()]));

  it('sets the shop cookie (cp_shop) HttpOnly and SameSite=Lax, host-only', async () => {
    const page = await agentFor(t.app, 'cookies.localhost').get('/account/login');
    const cookie = setCookie(page, 'cp_shop');
    expect(cookie).toBeDefined();
    expect(cookie!.attributes.httponly).toBe(true);
    expect(String(cookie!.attributes.samesite).toLowerCase()).toBe('lax');
    expect(cookie!.attributes.domain).toBeUndefined();
    expect(setCookie(page, 'cp_admin')).toBeUndefined();
  });

  it('marks the cookie Secure behind a trusted TLS proxy, and ignores a forged X-Forwarded-Proto otherwise', async () => {
    const proxied = await agentFor(behindTls.app, ADMIN).get('/admin/login').set('X-Forwarded-Proto', 'https');
    expect(setCookie(proxied, 'cp_admin')?.attributes.secure).toBe(true);

    const forged = await agentFor(t.app, ADMIN).get('/admin/login').set('X-Forwarded-Proto', 'https');
    const cookie = setCookie(forged, 'cp_admin');
    expect(cookie).toBeDefined();
    expect(cookie!.attributes.secure).toBeUndefined();
  });
});

describe.each(backends)('staff login rate limit on %s', (backend) => {
  let direct: TestApp; // trust proxy 0 (the default): X-Forwarded-For is ignored
  let proxied: TestApp; // TRUST_PROXY=1: the proxy's X-Forwarded-For names the client

  beforeAll(async () => {
    [direct, proxied] = await Promise.all([createTestApp({ backend }), createTestApp({ backend, env: { TRUST_PROXY: '1' } })]);
  });
  afterAll(() => Promise.all([direct.close(), proxied.close()]));

  const fail = (agent: Agent, email: string, headers: Record<string, string> = {}) => postLogin(agent, '/admin/login', email, 'not the password', headers);

  function expectLimited(response: { status: number; headers: Record<string, string>; text: string }) {
    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(response.text).toContain('Too many attempts');
  }

  it('answers the sixth attempt on one account from one IP with 429 and Retry-After, even with the right password', async () => {
    const staff = await makeStaff(direct.ctx.knex);
    const agent = agentFor(direct.app, ADMIN);
    for (let i = 0; i < 5; i++) expect((await fail(agent, staff.email)).status).toBe(401);

    const correct = await postLogin(agent, '/admin/login', staff.email);
    expectLimited(correct);
    expectSentToLogin(await agent.get('/admin/customers'));
    // The e-mail's spelling does not matter: the counter is per account.
    expectLimited(await postLogin(agent, '/admin/login', staff.email.toUpperCase()));

    if (backend === 'postgres') {
      const rows = await direct.ctx.knex('rateLimits').where('key', 'like', `%account-ip:${staff.email}|%`);
      expect(rows).toHaveLength(1);
      expect(rows[0].points).toBe(5);
    } else {
      const keys = await direct.ctx.redis!.keys(`${direct.ctx.config.queuePrefix}:login:admin:account-ip:${staff.email}|*`);
      expect(keys).toHaveLength(1);
    }
  });

  it('does not let a forged X-Forwarded-For reset the counter when no proxy is trusted', async () => {
    const staff = await makeStaff(direct.ctx.knex);
    const agent = agentFor(direct.app, ADMIN);
    for (let i = 1; i <= 5; i++) expect((await fail(agent, staff.email, { 'X-Forwarded-For': `198.51.100.${i}` })).status).toBe(401);
    expectLimited(await postLogin(agent, '/admin/login', staff.email, PASSWORD, { 'X-Forwarded-For': '198.51.100.200' }));
  });

  it('does not lock the real user out from another IP because of failures from one IP', async () => {
    const staff = await makeStaff(proxied.ctx.knex);
    const attacker = agentFor(proxied.app, ADMIN);
    const fromAttacker = { 'X-Forwarded-For': '203.0.113.66' };
    for (let i = 0; i < 5; i++) expect((await fail(attacker, staff.email, fromAttacker)).status).toBe(401);
    expectLimited(await postLogin(attacker, '/admin/login', staff.email, PASSWORD, fromAttacker));

    const user = agentFor(proxied.app, ADMIN);
    const fromUser = { 'X-Forwarded-For': '203.0.113.77' };
    expect((await fail(user, staff.email, fromUser)).status).toBe(401);
    const login = await postLogin(user, '/admin/login', staff.email, PASSWORD, fromUser);
    expect(login.status).toBe(303);
    expect((await user.get('/admin/customers').set(fromUser)).status).toBe(200);
    // …while the attacker's IP stays limited.
    expectLimited(await postLogin(attacker, '/admin/login', staff.email, PASSWORD, fromAttacker));
  });

  it('clears the account-from-IP counter after a successful login', async () => {
    const staff = await makeStaff(proxied.ctx.knex);
    const agent = agentFor(proxied.app, ADMIN);
    const from = { 'X-Forwarded-For': '203.0.113.88' };
    for (let i = 0; i < 4; i++) expect((await fail(agent, staff.email, from)).status).toBe(401);
    expect((await postLogin(agent, '/admin/login', staff.email, PASSWORD, from)).status).toBe(303);

    const later = agentFor(proxied.app, ADMIN);
    for (let i = 0; i < 5; i++) expect((await fail(later, staff.email, from)).status).toBe(401);
    expectLimited(await fail(later, staff.email, from));
  });

  it('limits one IP that tries many accounts', async () => {
    const staff = await makeStaff(proxied.ctx.knex);
    const agent = agentFor(proxied.app, ADMIN);
    const from = { 'X-Forwarded-For': '203.0.113.99' };
    for (let i = 0; i < 30; i++) expect((await fail(agent, `guess-${i}-${staff.id}@example.test`, from)).status).toBe(401);
    // A thirty-first account, never tried before, is refused from that IP…
    expectLimited(await postLogin(agent, '/admin/login', staff.email, PASSWORD, from));
    // …but not from elsewhere.
    expect((await postLogin(agentFor(proxied.app, ADMIN), '/admin/login', staff.email, PASSWORD, { 'X-Forwarded-For': '203.0.113.100' })).status).toBe(303);
  }, 60_000); // 31 password checks: slow on a busy machine
});
