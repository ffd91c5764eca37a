import path from 'node:path';
import { z } from 'zod';

/** Raised when the environment is unusable; its message has one line per bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value) => (value ? value : undefined))
    .refine((value) => value === undefined || protocols.some((p) => value.startsWith(`${p}:`)), {
      message: `must be a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`,
    });

const hostname = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9.-]+$/, 'must be a bare hostname such as admin.localhost (no scheme or port)');

const integer = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: integer(3000, 0, 65535),
    WEB_CONCURRENCY: integer(1, 1, 64),
    ADMIN_HOST: hostname.default('admin.localhost'),
    DATABASE_URL: optionalUrl(['postgres', 'postgresql']),
    REDIS_URL: optionalUrl(['redis', 'rediss']),
    SMTP_URL: optionalUrl(['smtp', 'smtps']),
    MAIL_FROM: z.string().trim().min(3).default('Customer Portal <no-reply@portal.localhost>'),
    SESSION_SECRET: z.string().optional(),
    DATA_DIR: z.string().trim().min(1).default('.data'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    TRUST_PROXY: integer(0, 0, 10),
    PUBLIC_SCHEME: z.enum(['http', 'https']).default('http'),
    PUBLIC_PORT: z.string().trim().regex(/^\d*$/, 'must be a port number or empty').optional(),
    SESSION_IDLE_MINUTES: integer(30, 1, 24 * 60),
    SESSION_ABSOLUTE_HOURS: integer(12, 1, 24 * 30),
    EMBEDDED_POSTGRES_PORT: integer(54329, 1, 65535),
    QUEUE_PREFIX: z.string().trim().regex(/^[a-zA-Z0-9_-]+$/, 'letters, digits, _ and - only').default('cp'),
    IMPORT_MAX_MB: integer(200, 1, 2048),
    DOCUMENT_MAX_MB: integer(20, 1, 1024),
  })
  .superRefine(
    (env, ctx) => {
      if (env.NODE_ENV === 'production' && (!env.SESSION_SECRET || env.SESSION_SECRET.length < 32)) {
        ctx.addIssue({ code: 'custom', path: ['SESSION_SECRET'], message: 'is required in production (at least 32 characters)' });
      }
    },
    // Run even when other variables are bad, so one run reports every problem.
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  );

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  /** Web processes `npm run start:web` runs (Node cluster), sharing the port. */
  webConcurrency: number;
  adminHost: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  smtpUrl: string | undefined;
  mailFrom: string;
  sessionSecret: string;
  dataDir: string;
  logLevel: string;
  trustProxy: number;
  /** Scheme and port used in links we send by e-mail; the host is always the shop's configured one. */
  publicScheme: 'http' | 'https';
  publicPort: string;
  sessionIdleMs: number;
  sessionAbsoluteMs: number;
  embeddedPostgresPort: number;
  queuePrefix: string;
  /** Largest customer import file accepted (bytes). */
  importMaxBytes: number;
  /** Largest customer document (F-DASH-8) accepted (bytes). */
  documentMaxBytes: number;
}

const DEVELOPMENT_SECRET = 'development-only-session-secret-change-me';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'} ${issue.message}`));
  }
  const e = parsed.data;
  return Object.freeze({
    env: e.NODE_ENV,
    port: e.PORT,
    webConcurrency: e.WEB_CONCURRENCY,
    adminHost: e.ADMIN_HOST,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    sessionSecret: e.SESSION_SECRET || DEVELOPMENT_SECRET,
    dataDir: path.resolve(e.DATA_DIR),
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    publicScheme: e.PUBLIC_SCHEME,
    publicPort: e.PUBLIC_PORT ?? String(e.PORT),
    sessionIdleMs: e.SESSION_IDLE_MINUTES * 60_000,
    sessionAbsoluteMs: e.SESSION_ABSOLUTE_HOURS * 3_600_000,
    embeddedPostgresPort: e.EMBEDDED_POSTGRES_PORT,
    queuePrefix: e.QUEUE_PREFIX,
    importMaxBytes: e.IMPORT_MAX_MB * 1024 * 1024,
    documentMaxBytes: e.DOCUMENT_MAX_MB * 1024 * 1024,
  });
}
