import type { Request } from 'express';
import session, { type SessionData } from 'express-session';
import connectPgSimple from 'connect-pg-simple';
import type { Knex } from 'knex';
import { staffPrincipalOf, staffPrincipalQuery, type StaffPrincipal, type StaffPrincipalRow } from '../../services/staff.service.js';

/** What the store read with a staff member's session: who it was read for, and that member now. */
export interface PreloadedStaff {
  staffId: number;
  principal: StaffPrincipal | null;
}

// A symbol: express-session neither copies it into req.session nor hashes or saves it.
const PRELOADED = Symbol('preloaded staff');
type LoadedSession = SessionData & { [PRELOADED]?: PreloadedStaff };

const PgStore = connectPgSimple(session);

/**
 * The admin area's session store on PostgreSQL: reads the session and, when a staff member is
 * signed in, that staff member's principal in one prepared statement. Every admin request needs
 * both; as two statements, planning the principal's (0.2 ms) and the second round trip took about
 * a fifth of the list's throughput. loadStaff takes the principal from the request
 * (`req.preloadedStaff`) and still checks its session version; sessions are written by the
 * connect-pg-simple store this extends.
 */
export class StaffSessionStore extends PgStore {
  readonly #knex: Knex;
  readonly #sql: string;

  constructor(knex: Knex, options: ConstructorParameters<typeof PgStore>[0]) {
    super(options);
    this.#knex = knex;
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

  async #read(sid: string): Promise<LoadedSession | null> {
    const client = this.#knex.client;
    const connection = await client.acquireConnection();
    try {
      const result = await connection.query({ name: 'staff-session', text: this.#sql, values: [sid, Math.ceil(Date.now() / 1000)] });
      if (!result.rows[0]) return null;
      // The statement bypasses knex, so its snake_case columns are mapped as knex would.
      const row = client.config.postProcessResponse(result.rows[0]) as StaffPrincipalRow & { sess: LoadedSession };
      const user = (row.sess as { passport?: { user?: { kind?: string; id?: number } } }).passport?.user;
      if (user?.kind === 'staff') row.sess[PRELOADED] = { staffId: Number(user.id), principal: staffPrincipalOf(row.id == null ? null : row) };
      return row.sess;
    } finally {
      await client.releaseConnection(connection);
    }
  }

  override createSession(req: Request, sess: SessionData) {
    const preloaded = (sess as LoadedSession)[PRELOADED];
    if (preloaded) req.preloadedStaff = preloaded;
    return super.createSession(req, sess);
  }
}
