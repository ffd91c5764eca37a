import type { Request } from 'express';
import session, { type SessionData } from 'express-session';
import connectPgSimple from 'connect-pg-simple';
import type { Knex } from 'knex';
import pg from 'pg';
import { poolConfig } from '../../db/knex.js';
import { CACHED_PLAN_CHANGED } from '../../db/prepared-query.js';
import { staffPrincipalOf, staffPrincipalQuery, type StaffPrincipal, type StaffPrincipalRow } from '../../services/staff.service.js';

/** What the store read with a staff member's session: who it was read for, that member, and when. */
export interface PreloadedStaff {
  staffId: number;
  principal: StaffPrincipal | null;
  readAt: number;
}

// A symbol: express-session neither copies it into req.session nor hashes or saves it.
const PRELOADED = Symbol('preloaded staff');
type LoadedSession = SessionData & { [PRELOADED]?: PreloadedStaff };

const PgStore = connectPgSimple(session);
const STATEMENT = 'staff-session';

/**
 * The admin area's session store on PostgreSQL: reads the session and, when a staff member is
 * signed in, that staff member's principal in one prepared statement. Every admin request needs
 * both; as two statements, planning the principal's (0.2 ms) and the second round trip took about
 * a fifth of the list's throughput. loadStaff takes the principal from the request
 * (`req.preloadedStaff`) and still checks its session version. Sessions are written by the
 * connect-pg-simple store this extends, on the same pool of its own.
 */
export class StaffSessionStore extends PgStore {
  readonly #pool: pg.Pool;
  readonly #sql: string;
  readonly #toCamelCase: (row: Record<string, unknown>) => Record<string, unknown>;

  constructor(knex: Knex, options: { conString: string; errorLog: (message: string, error: unknown) => void } & Omit<ConstructorParameters<typeof PgStore>[0], 'pool' | 'conString'>) {
    const pool = new pg.Pool(poolConfig(options.conString));
    // A pooled connection that breaks while idle is dropped by the pool; unheard, the error would end the process.
    pool.on('error', (error) => options.errorLog('PG Pool error:', error));
    super({ ...options, conString: undefined, pool });
    this.#pool = pool;
    this.#toCamelCase = knex.client.config.postProcessResponse;
    const staff = staffPrincipalQuery(knex).whereRaw("staff_users.id = (s.sess #>> '{passport,user,id}')::bigint AND s.sess #>> '{passport,user,kind}' = 'staff'");
    // Written once with its own parameters ($1 the session id, $2 now in seconds, as the store it
    // extends compares): a named statement is planned once per connection, not per request.
    this.#sql = knex('httpSessions as s')
      .leftJoin(knex.raw('LATERAL ? AS u ON true', [staff]))
      .whereRaw('s.sid = $1 AND s.expire >= to_timestamp($2)')
      .select('s.sess', 'u.*')
      .toSQL().sql;
  }

  override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void {
    this.#read(sid).then((sess) => callback(null, sess), callback);
  }

  override close(): void {
    super.close();
    void this.#pool.end();
  }

  override createSession(req: Request, sess: SessionData) {
    const preloaded = (sess as LoadedSession)[PRELOADED];
    if (preloaded) req.preloadedStaff = preloaded;
    return super.createSession(req, sess);
  }

  async #read(sid: string): Promise<LoadedSession | null> {
    const row = (await this.#query(sid)).rows[0] as Record<string, unknown> | undefined;
    if (!row) return null;
    // The statement bypasses knex, so its snake_case columns are named as knex would name them.
    const { sess, ...staff } = this.#toCamelCase(row) as StaffPrincipalRow & { sess: LoadedSession };
    const user = (sess as { passport?: { user?: { kind?: string; id?: number } } }).passport?.user;
    if (user?.kind === 'staff') sess[PRELOADED] = { staffId: Number(user.id), principal: staffPrincipalOf(staff.id == null ? null : staff), readAt: Date.now() };
    return sess;
  }

  /**
   * After a migration that changed the statement's columns, each connection that prepared it fails
   * it once: the pool then drops that connection (and the statement with it), and the read is
   * answered by the same statement unprepared.
   */
  async #query(sid: string): Promise<pg.QueryResult> {
    const values = [sid, Math.ceil(Date.now() / 1000)];
    try {
      return await this.#pool.query({ name: STATEMENT, text: this.#sql, values });
    } catch (error) {
      if ((error as { code?: string }).code !== CACHED_PLAN_CHANGED) throw error;
      return this.#pool.query(this.#sql, values);
    }
  }
}
