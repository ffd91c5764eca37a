import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { createKnex } from '../../app/db/knex.js';
import { TEST_DATABASE_URL, databaseUrl } from './env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
    runId: string;
  }
}

/** Migrates one template database per run; each test file clones it (CREATE DATABASE … TEMPLATE). */
export default async function setup(project: TestProject) {
  const runId = randomBytes(4).toString('hex');
  const template = `cp_tpl_${runId}`;
  const admin = createKnex(TEST_DATABASE_URL);
  await admin.raw(`CREATE DATABASE ${template}`);
  // The real `npm run migrate` (under tsx, which loads the TypeScript migrations).
  execFileSync(process.execPath, ['--import', 'tsx', 'app/cli/migrate.ts'], {
    env: { ...process.env, DATABASE_URL: databaseUrl(template), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  project.provide('templateDatabase', template);
  project.provide('runId', runId);

  return async () => {
    const leftovers = await admin.raw(`SELECT datname FROM pg_database WHERE datname LIKE ?`, [`cp_%${runId}%`]);
    for (const { datname } of leftovers.rows as Array<{ datname: string }>) {
      await admin.raw(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    }
    await admin.destroy();
  };
}
