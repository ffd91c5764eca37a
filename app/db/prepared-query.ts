import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

/** PostgreSQL's answer to a prepared statement whose result columns a migration changed. */
export const CACHED_PLAN_CHANGED = '0A000';

/** Part of every statement name: a new generation makes every connection prepare its statements afresh. */
let generation = 0;

/**
 * Runs a query as a named statement when it has no parameters, so that PostgreSQL parses and plans
 * it once per connection instead of on every run (and pg reads its column descriptions once).
 * A query with parameters runs as it is: a prepared statement would soon be given one generic plan
 * for all values, which can be a bad plan for some of them (a rare tag, a small shop). Without
 * parameters, the one plan is the plan for its constants, and PostgreSQL plans it again when the
 * tables' statistics or definitions change.
 *
 * A migration that changes the statement's result columns makes PostgreSQL refuse the statement a
 * connection prepared before it: the names then change, so each connection prepares the new text,
 * and the query runs again. In a transaction that refusal would abort the transaction, so a query
 * in one is not prepared.
 */
export async function runPreparedWhenConstant<T>(builder: Knex.QueryBuilder): Promise<T> {
  const compiled = builder.toSQL();
  if (compiled.bindings.length > 0 || (builder as { client?: { transacting?: boolean } }).client?.transacting) return runCompiled<T>(builder, compiled);
  const seen = generation;
  const name = `q${seen}-${createHash('sha1').update(compiled.sql).digest('base64url').slice(0, 24)}`;
  try {
    return await runCompiled<T>(builder, { ...compiled, options: { ...compiled.options, name } });
  } catch (error) {
    if ((error as { code?: string }).code !== CACHED_PLAN_CHANGED) throw error;
    if (generation === seen) generation++;
    // Unnamed, from the compiled SQL the named attempt left as it was (a copy of it ran); a clone
    // of the builder would lose its timeout.
    return runCompiled<T>(builder, compiled);
  }
}

/**
 * Runs a copy of the builder with the SQL it was already compiled to: knex's runner compiles the
 * builder it runs, and compiling a list query (identifiers mapped and quoted one by one) is a few
 * per cent of a list page's CPU time.
 */
async function runCompiled<T>(builder: Knex.QueryBuilder, compiled: Knex.Sql): Promise<T> {
  const copy = builder.clone();
  copy.toSQL = () => compiled;
  return (await copy) as T;
}
