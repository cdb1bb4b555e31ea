/**
 * A Jepsen-style application client for the real-engine tests (infra/engines): pooled connections through the fence
 * group's model (infra/engines/conntrack.ts) from the application's own address, each write logged with whether the
 * engine acknowledged it, and the checker's direct reads. Its target may move (a failover, then a failback): a
 * connection that breaks is opened again to wherever the application is pointed then, as a pool behind DNS does.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { appStream, type ConntrackProxy, type ConntrackTarget } from '../../infra/engines/conntrack';
import { ensureEngines, type EngineBins } from '../../infra/engines/install';
import type { EnginePair } from '../../infra/engines/servers';
import type { IntegrationEnv } from './env';
import { ENGINE_MASTER_PASSWORD } from './fixture-credentials';

export type Engine = EnginePair['engine'];

/** One write the application tried: its id, whether the engine acknowledged it, when, where, and (PostgreSQL) the WAL around it. */
export interface Write {
  id: number;
  acked: boolean;
  at: number;
  /** The name of the target the connection was opened to (the application's `target().name` then). */
  to?: string;
  /** The WAL insert position inside the write's transaction, and the flushed position after its commit: its commit lies between. */
  lsnBefore?: string;
  lsnAfter?: string;
}

/** A client of the application: a connection as the application makes one, from its own address, through the proxy. */
export interface AppConnection {
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

export async function appConnection(engine: Engine, proxy: ConntrackTarget): Promise<AppConnection> {
  if (engine === 'postgres') {
    const c = new pg.Client({ user: 'drover_master', password: ENGINE_MASTER_PASSWORD, database: 'app', stream: appStream(proxy), connectionTimeoutMillis: 2000 });
    c.on('error', () => undefined);
    await c.connect();
    return { query: async (sql, params) => (await c.query(sql, params)).rows, close: () => c.end().catch(() => undefined) };
  }
  // The application's own user, with no privilege past its tables, as applications should connect: on RDS the master
  // user has neither SUPER nor READ_ONLY ADMIN, so no user it makes writes past the fence's read_only.
  const c = await mysql.createConnection({ user: APP_USER, password: ENGINE_MASTER_PASSWORD, database: 'app', stream: appStream(proxy), connectTimeout: 2000 });
  c.on('error', () => undefined);
  return { query: async (sql, params) => (await c.query(sql, params))[0] as Array<Record<string, unknown>>, close: () => c.end().catch(() => undefined) };
}

/** MariaDB's application user (SELECT and INSERT on the app's database only). */
export const APP_USER = 'app_rw';

/**
 * The application's table on a pair's writer (replicated), and on MariaDB its user. PostgreSQL's table has autovacuum
 * off where a test compares WAL exactly (an auto-analyze commits a transaction of its own).
 */
export async function appSchema(engine: Engine, writer: { host: string; port: number }, opts: { autovacuum?: boolean } = {}): Promise<void> {
  await direct(engine, writer, async (q) => {
    await q(engine === 'postgres' && opts.autovacuum === false ? 'CREATE TABLE writes (id INT PRIMARY KEY) WITH (autovacuum_enabled = false)' : 'CREATE TABLE writes (id INT PRIMARY KEY)');
    if (engine === 'mariadb') {
      await q(`CREATE USER '${APP_USER}'@'%' IDENTIFIED BY ?`, [ENGINE_MASTER_PASSWORD]);
      await q(`GRANT SELECT, INSERT ON app.* TO '${APP_USER}'@'%'`);
    }
  });
}

/** drover's side (and the checker's): a direct connection from the worker's address. */
export async function direct<T>(engine: Engine, server: { host: string; port: number }, fn: (q: AppConnection['query']) => Promise<T>): Promise<T> {
  if (engine === 'postgres') {
    const c = new pg.Client({ host: server.host, port: server.port, user: 'drover_master', password: ENGINE_MASTER_PASSWORD, database: 'app' });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return await fn(async (sql, params) => (await c.query(sql, params)).rows);
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  const c = await mysql.createConnection({ host: server.host, port: server.port, user: 'drover_master', password: ENGINE_MASTER_PASSWORD, database: 'app' });
  try {
    return await fn(async (sql, params) => (await c.query(sql, params))[0] as Array<Record<string, unknown>>);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Where the application writes: a proxy (the fence group's model in front of a writer), and its name for the log. */
export interface AppTarget extends ConntrackTarget {
  name?: string;
}

/**
 * The application: `connections` pooled connections opened now, each writing ids in a loop; a connection that breaks
 * is opened again to `target()` as it is then (through its proxy, which refuses it while fenced), as a pool does.
 * Every attempt is logged.
 */
export class Application {
  readonly writes: Write[] = [];
  private next = 1;
  private running = true;
  private loops: Array<Promise<void>> = [];
  private readonly target: () => AppTarget;

  constructor(
    private readonly engine: Engine,
    target: AppTarget | (() => AppTarget),
  ) {
    this.target = typeof target === 'function' ? target : () => target;
  }

  async start(connections = 3): Promise<void> {
    const opened = await Promise.all(Array.from({ length: connections }, () => this.open()));
    this.loops = opened.map((c) => this.loop(c));
  }

  private async open(): Promise<AppConnection & { to?: string }> {
    const t = this.target();
    return { ...(await appConnection(this.engine, t)), ...(t.name ? { to: t.name } : {}) };
  }

  private async loop(first: AppConnection & { to?: string }): Promise<void> {
    let conn: (AppConnection & { to?: string }) | undefined = first;
    while (this.running) {
      if (!conn) {
        conn = await this.open().catch(() => undefined);
        if (!conn) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
      }
      const id = this.next++;
      const w: Write = { id, acked: false, at: Date.now(), ...(conn.to ? { to: conn.to } : {}) };
      try {
        if (this.engine === 'postgres') {
          const [row] = await conn.query('INSERT INTO writes (id) VALUES ($1) RETURNING pg_current_wal_insert_lsn()::text AS lsn', [id]);
          w.lsnBefore = String(row.lsn);
          w.acked = true;
          w.at = Date.now();
          w.lsnAfter = String((await conn.query('SELECT pg_current_wal_lsn()::text AS lsn'))[0].lsn);
        } else {
          await conn.query('INSERT INTO writes (id) VALUES (?)', [id]);
          w.acked = true;
          w.at = Date.now();
        }
      } catch {
        await conn.close();
        conn = undefined;
      }
      this.writes.push(w);
      await new Promise((r) => setTimeout(r, 5));
    }
    await conn?.close();
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  acked(): Write[] {
    return this.writes.filter((w) => w.acked);
  }
}

/** The ids on a server now. */
export async function idsOn(engine: Engine, server: { host: string; port: number }): Promise<Set<number>> {
  return direct(engine, server, async (q) => new Set((await q('SELECT id FROM writes')).map((r) => Number(r.id))));
}

/** The promise a planned promotion makes: every acknowledged write is on the new writer. The ids missing there. */
export function lostAcked(app: Application, onNewWriter: Set<number>): number[] {
  return app
    .acked()
    .map((w) => w.id)
    .filter((id) => !onNewWriter.has(id));
}

/**
 * A real-engine suite's lifecycle: the integration environment and the engines' binaries before its tests; every pair
 * and proxy its tests started (pushed onto `pairs` and `proxies`) stopped after them, then the environment.
 */
export function engineSuite(env: IntegrationEnv): { bins: () => EngineBins; pairs: EnginePair[]; proxies: ConntrackProxy[] } {
  let bins: EngineBins | undefined;
  const pairs: EnginePair[] = [];
  const proxies: ConntrackProxy[] = [];
  beforeAll(async () => {
    await env.start();
    bins = await ensureEngines({ log: (l) => process.stderr.write(`[engines] ${l}\n`) });
  }, 15 * 60_000);
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all(pairs.map((p) => p.stop()));
    await env.stop();
  });
  return {
    bins: () => {
      if (!bins) throw new Error('the engines are installed in beforeAll: ask for them inside a test');
      return bins;
    },
    pairs,
    proxies,
  };
}
