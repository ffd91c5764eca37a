import { parseArgs } from 'node:util';

/** `--name value` options of the npm scripts (passed after `--`). */
export function cliOptions<T extends Record<string, { type: 'string' | 'boolean' }>>(options: T) {
  return parseArgs({ args: process.argv.slice(2), options, allowPositionals: false, strict: true }).values;
}

/** Prints each problem on its own line and exits with 1, when there are any. */
export function exitOnProblems(problems: Array<string | null>): void {
  const found = problems.filter(Boolean);
  if (!found.length) return;
  console.error(found.map((p) => `- ${p}`).join('\n'));
  process.exit(1);
}
