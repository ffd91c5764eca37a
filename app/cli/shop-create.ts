// `npm run shop:create -- --code C --name N --host H [--parent CODE] [--currency EUR]`
import { bootstrap } from '../bootstrap.js';
import { createKnex } from '../db/knex.js';
import { createShop } from '../services/shop.service.js';
import { cliOptions, exitOnProblems } from './args.js';

const options = cliOptions({ code: { type: 'string' }, name: { type: 'string' }, host: { type: 'string' }, parent: { type: 'string' }, currency: { type: 'string' } });
exitOnProblems([
  /^[a-z0-9][a-z0-9-]{0,39}$/.test(options.code ?? '') ? null : '--code is required: lowercase letters, digits and -, up to 40',
  options.name?.trim() ? null : '--name is required',
  /^[a-z0-9.-]{1,253}$/i.test(options.host ?? '') ? null : '--host is required: a bare hostname such as north.example.com',
  options.currency === undefined || /^[A-Z]{3}$/.test(options.currency) ? null : '--currency must be a three-letter code such as EUR',
]);

const runtime = await bootstrap({ allowEmbedded: false });
const knex = createKnex(runtime.databaseUrl);
try {
  const id = await createShop(knex, { code: options.code!, name: options.name!.trim(), hostname: options.host!, parentCode: options.parent, currency: options.currency });
  console.log(`Shop #${id} (${options.code}) created on ${options.host!.toLowerCase()}.`);
} catch (error) {
  console.error((error as { code?: string }).code === '23505' ? 'That shop code or hostname is already in use.' : (error as Error).message);
  process.exitCode = 1;
} finally {
  await knex.destroy();
}
