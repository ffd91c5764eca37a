// `npm run admin:create -- --email E --password P [--role owner] [--shops north,south]`
import { Writable } from 'node:stream';
import { createInterface } from 'node:readline/promises';
import { z } from 'zod';
import { bootstrap } from '../bootstrap.js';
import { createKnex } from '../db/knex.js';
import { createStaff } from '../services/staff.service.js';
import { passwordRuleViolation } from '../services/password-rules.js';
import { cliOptions, exitOnProblems } from './args.js';

const options = cliOptions({ email: { type: 'string' }, password: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' }, shops: { type: 'string' } });

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/** Like `ask`, but what is typed is not shown (on a terminal; piped input has nothing to hide). */
async function askSecret(question: string): Promise<string> {
  if (!process.stdin.isTTY) return ask(question);
  process.stdout.write(question);
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: process.stdin, output: silent, terminal: true });
  try {
    return (await rl.question('')).trim();
  } finally {
    rl.close();
    process.stdout.write('\n');
  }
}

const email = options.email ?? (await ask('E-mail: '));
const password = options.password ?? (await askSecret('Password: '));
const role = z.enum(['owner', 'manager', 'sales_rep', 'support']).safeParse(options.role ?? 'owner');
exitOnProblems([
  z.email().safeParse(email).success ? null : 'email must be a valid e-mail address',
  passwordRuleViolation(password, { passwordMinLength: 10 }),
  role.success ? null : 'role must be one of owner, manager, sales_rep, support',
]);

const runtime = await bootstrap({ allowEmbedded: false });
const knex = createKnex(runtime.databaseUrl);
try {
  const id = await createStaff(knex, { email, password, name: options.name, role: role.data!, shopCodes: options.shops?.split(',').map((s) => s.trim()).filter(Boolean) });
  console.log(`Staff user #${id} (${email}, ${role.data}) created.`);
} catch (error) {
  console.error((error as { code?: string }).code === '23505' ? `A staff user with the e-mail ${email} already exists.` : (error as Error).message);
  process.exitCode = 1;
} finally {
  await knex.destroy();
}
