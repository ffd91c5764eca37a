import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../app/config/index.js';

/** Runs loadConfig on `env` and returns the ConfigError it must throw. */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('fills in the documented defaults from an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      port: 3000,
      adminHost: 'admin.localhost',
      databaseUrl: undefined,
      redisUrl: undefined,
      smtpUrl: undefined,
      trustProxy: 0,
      publicScheme: 'http',
      publicPort: '3000',
      sessionIdleMs: 30 * 60_000,
      sessionAbsoluteMs: 12 * 3_600_000,
      queuePrefix: 'cp',
    });
    expect(config.dataDir).toBe(path.resolve('.data'));
    expect(config.sessionSecret.length).toBeGreaterThan(0);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('accepts well-formed values', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      ADMIN_HOST: 'Admin.Example.COM',
      DATABASE_URL: 'postgres://app@db:5432/portal',
      REDIS_URL: 'rediss://cache:6380',
      SMTP_URL: 'smtps://user:pass@mail:465',
      SESSION_SECRET: 'x'.repeat(32),
      TRUST_PROXY: '1',
    });
    expect(config).toMatchObject({ env: 'production', port: 8080, adminHost: 'admin.example.com', trustProxy: 1, sessionSecret: 'x'.repeat(32) });
    expect(config.databaseUrl).toBe('postgres://app@db:5432/portal');
    expect(config.redisUrl).toBe('rediss://cache:6380');
    expect(config.smtpUrl).toBe('smtps://user:pass@mail:465');
  });

  it.each([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['ADMIN_HOST', { ADMIN_HOST: 'https://admin.example.com' }],
    ['ADMIN_HOST', { ADMIN_HOST: 'admin.example.com:8443' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://app@db:3306/portal' }],
    ['REDIS_URL', { REDIS_URL: 'http://cache:6379' }],
    ['SMTP_URL', { SMTP_URL: 'mail.example.com:25' }],
    ['SMTP_URL', { SMTP_URL: 'http://mail.example.com' }],
    ['SESSION_SECRET', { NODE_ENV: 'production' }],
    ['SESSION_SECRET', { NODE_ENV: 'production', SESSION_SECRET: 'too-short' }],
  ])('reports a bad %s in one line that names it (%j)', (variable, env) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    const [line] = problems as [string];
    expect(line.startsWith(`${variable} `)).toBe(true);
    expect(line).not.toContain('\n');
    // More than the bare name: the line says what is wrong.
    expect(line.length).toBeGreaterThan(variable.length + 10);
  });

  it('says what a good value looks like for URLs and hosts', () => {
    expect(problemsOf({ DATABASE_URL: 'mysql://x' })[0]).toContain('postgres://');
    expect(problemsOf({ REDIS_URL: 'http://x' })[0]).toContain('redis://');
    expect(problemsOf({ SMTP_URL: 'http://x' })[0]).toContain('smtp://');
    expect(problemsOf({ ADMIN_HOST: 'https://admin.example.com' })[0]).toMatch(/no scheme/);
    expect(problemsOf({ NODE_ENV: 'production' })[0]).toMatch(/required in production/);
  });

  it('lists every bad variable at once, one line each, in the error message too', () => {
    let caught: unknown;
    try {
      loadConfig({ PORT: 'abc', REDIS_URL: 'http://cache', DATABASE_URL: 'mysql://db', NODE_ENV: 'production' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const { problems, message } = caught as ConfigError;
    expect(problems.map((line) => line.split(' ')[0]).sort()).toEqual(['DATABASE_URL', 'PORT', 'REDIS_URL', 'SESSION_SECRET']);
    for (const line of problems) expect(message).toContain(`  - ${line}`);
    expect(message.split('\n')).toHaveLength(problems.length + 1);
  });

  it('does not require SESSION_SECRET in development, and never echoes a secret back', () => {
    expect(() => loadConfig({ NODE_ENV: 'development' })).not.toThrow();
    const problems = problemsOf({ NODE_ENV: 'production', SESSION_SECRET: 'my-short-secret' });
    expect(problems.join('\n')).not.toContain('my-short-secret');
  });
});
