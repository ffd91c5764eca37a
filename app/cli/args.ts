import { parseArgs } from 'node:util';

/** `--name value` options of the npm scripts (passed after `--`). */
export function cliOptions<T extends Record<string, { type: 'string' | 'boolean' }>>(options: T) {
  return parseArgs({ args: process.argv.slice(2), options, allowPositionals: false, strict: true }).values;
}
