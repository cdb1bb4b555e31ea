import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { appStream, startConntrackProxy, WORKER_SOURCE, type ConntrackProxy, type ConntrackTarget } from '../infra/engines/conntrack';
import { ensureEngines } from '../infra/engines/install';
import { startMariadbPair, startPostgresPair, type EnginePair } from '../infra/engines/servers';
import { waitFor } from './harness/wait';

// The engine harness itself, against real servers: the pinned PostgreSQL and MariaDB builds, a primary and a replica
// of each, and the connection-tracking proxy. Jest runs the tests in random order, so each one stands alone (the only
// destructive step, promotion, ends the test that does it; the others need the primary only).

// Random per run: nothing here is a fixture credential, and the servers' data is removed by stop().
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const INSTALL_MS = 15 * 60_000;

let pgPair: EnginePair;
let myPair: EnginePair;
const proxies: ConntrackProxy[] = [];
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  const log = (l: string) => process.stderr.write(`[engines] ${l}\n`);
  const engines = await ensureEngines({ log });
  const started = await Promise.allSettled([startPostgresPair({ masterPassword: PASSWORD, engines, log }), startMariadbPair({ masterPassword: PASSWORD, engines, log })]);
  [pgPair, myPair] = started.map((s) => (s.status === 'fulfilled' ? s.value : (undefined as unknown as EnginePair)));
  // One failed: the other is stopped by afterAll, and the failure is this file's.
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
}, INSTALL_MS);

afterEach(async () => {
  await Promise.allSettled(closers.splice(0).map((c) => c()));
  await Promise.allSettled(proxies.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await Promise.allSettled([pgPair?.stop(), myPair?.stop()]);
});

/** A PostgreSQL session as drover_master: from 127.0.0.1 to `at`, or through `via` a stream (an application's source). */
async function pgClient(at: ConntrackTarget, via?: () => net.Socket): Promise<pg.Client & { lost: Error[] }> {
  const client = Object.assign(new pg.Client({ host: at.host, port: at.port, user: pgPair.masterUser, password: PASSWORD, database: pgPair.database, connectionTimeoutMillis: 5_000, ...(via ? { stream: via } : {}) }), { lost: [] as Error[] });
  // A session the server ends is an 'error' event: recorded, so a test can assert it.
  client.on('error', (e) => client.lost.push(e));
  await client.connect();
  closers.push(() => client.end());
  return client;
}

async function myConn(at: ConntrackTarget, via?: () => net.Socket): Promise<mysql.Connection> {
  const conn = await mysql.createConnection({ host: at.host, port: at.port, user: myPair.masterUser, password: PASSWORD, database: myPair.database, connectTimeout: 5_000, ...(via ? { stream: via } : {}) });
  conn.on('error', () => undefined);
  closers.push(() => conn.end());
  return conn;
}

async function proxyTo(target: ConntrackTarget): Promise<ConntrackProxy> {
  const proxy = await startConntrackProxy(target);
  proxies.push(proxy);
  return proxy;
}

/** How a connection attempt ended: 'connected', or the error's code. */
async function attempt(connect: () => Promise<unknown>): Promise<string> {
  try {
    await connect();
    return 'connected';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
}

describe('PostgreSQL pair', () => {
  test('given a streaming replica, a write on the primary is replayed there, and promoteReplica (twice) makes it a writer', async () => {
    const table = `t_${randomBytes(4).toString('hex')}`;
    const primary = await pgClient(pgPair.primary);
    await primary.query(`CREATE TABLE ${table} (id int PRIMARY KEY, note text)`);
    await primary.query(`INSERT INTO ${table} VALUES (1, 'written on the primary')`);

    const replica = await pgClient(pgPair.replica);
    const row = await waitFor(async () => (await replica.query(`SELECT note FROM ${table} WHERE id = 1`).catch(() => ({ rows: [] }))).rows[0] as { note: string } | undefined, { what: 'the row on the replica', timeoutMs: 30_000 });
    expect(row.note).toBe('written on the primary');
    expect((await replica.query('SELECT pg_is_in_recovery() AS r')).rows[0].r).toBe(true);
    // A hot standby refuses writes: read_only_sql_transaction.
    await expect(replica.query(`INSERT INTO ${table} VALUES (2, 'on the replica')`)).rejects.toMatchObject({ code: '25006' });

    await pgPair.promoteReplica();
    await pgPair.promoteReplica();
    expect((await replica.query('SELECT pg_is_in_recovery() AS r')).rows[0].r).toBe(false);
    await replica.query(`INSERT INTO ${table} VALUES (2, 'on the promoted replica')`);
    expect((await replica.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(2);
    // The old primary is now on its own: the promoted replica's write never reaches it.
    expect((await primary.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(1);
  });

  test('given the conntrack proxy, a fence keeps the application\'s open session, refuses its new one, and admits the worker', async () => {
    const proxy = await proxyTo(pgPair.primary);
    const app = await pgClient(proxy, appStream(proxy));
    // The server sees the proxy's address, not 127.0.0.5 (an instance on AWS sees the client's): only the proxy knows sources.
    expect((await app.query('SELECT host(inet_client_addr()) AS a')).rows[0].a).toBe(WORKER_SOURCE);
    expect(proxy.stats()).toEqual({ open: 1, refused: 0 });

    proxy.fence();
    expect(proxy.fenced).toBe(true);
    // The tracked flow keeps working after the fence.
    expect((await app.query('SELECT 41 + 1 AS n')).rows[0].n).toBe(42);
    // A new application connection is refused...
    expect(await attempt(() => pgClient(proxy, appStream(proxy)))).toBe('ECONNRESET');
    // ...and the worker's (from 127.0.0.1) is admitted.
    const worker = await pgClient(proxy);
    expect((await worker.query('SELECT 1 AS n')).rows[0].n).toBe(1);
    expect(proxy.stats()).toEqual({ open: 2, refused: 1 });

    proxy.unfence();
    const again = await pgClient(proxy, appStream(proxy));
    expect((await again.query('SELECT 2 AS n')).rows[0].n).toBe(2);
    expect(proxy.stats()).toEqual({ open: 3, refused: 1 });
  });

  test('given an open session, restartPrimary ends it and the primary answers on the same port again', async () => {
    const proxy = await proxyTo(pgPair.primary);
    const direct = await pgClient(pgPair.primary);
    const viaProxy = await pgClient(proxy, appStream(proxy));
    const port = pgPair.primary.port;

    await pgPair.restartPrimary();

    await expect(direct.query('SELECT 1')).rejects.toThrow();
    await expect(viaProxy.query('SELECT 1')).rejects.toThrow();
    expect(direct.lost.length + viaProxy.lost.length).toBeGreaterThan(0);
    await waitFor(() => proxy.stats().open === 0, { what: 'the proxy to drop the ended flow', timeoutMs: 5_000 });
    expect(pgPair.primary.port).toBe(port);
    const fresh = await pgClient(pgPair.primary);
    expect((await fresh.query('SELECT 1 AS n')).rows[0].n).toBe(1);
  });

  test('given killPrimary, the primary refuses connections until restartPrimary recovers it with its data', async () => {
    const table = `k_${randomBytes(4).toString('hex')}`;
    const before = await pgClient(pgPair.primary);
    await before.query(`CREATE TABLE ${table} (id int)`);
    await before.query(`INSERT INTO ${table} VALUES (7)`);

    await pgPair.killPrimary();
    expect(pgPair.primary.running).toBe(false);
    await expect(before.query('SELECT 1')).rejects.toThrow();
    expect(await attempt(() => pgClient(pgPair.primary))).toBe('ECONNREFUSED');

    await pgPair.restartPrimary();
    expect(pgPair.primary.running).toBe(true);
    const after = await pgClient(pgPair.primary);
    expect((await after.query(`SELECT id FROM ${table}`)).rows).toEqual([{ id: 7 }]);
  });
});

describe('MariaDB pair', () => {
  async function gtid(conn: mysql.Connection, variable: 'gtid_binlog_pos' | 'gtid_slave_pos'): Promise<string> {
    const [rows] = await conn.query(`SELECT @@${variable} AS pos`);
    return (rows as Array<{ pos: string }>)[0].pos;
  }

  test('given a GTID replica, it catches up with the primary\'s writes, and promoteReplica (twice) makes it a writer', async () => {
    const table = `t_${randomBytes(4).toString('hex')}`;
    const primary = await myConn(myPair.primary);
    await primary.query(`CREATE TABLE ${table} (id int PRIMARY KEY, note text)`);
    await primary.query(`INSERT INTO ${table} VALUES (1, 'written on the primary')`);
    const written = await gtid(primary, 'gtid_binlog_pos');
    expect(written).toMatch(/^0-1-\d+$/);

    const replica = await myConn(myPair.replica);
    await waitFor(async () => (await gtid(replica, 'gtid_slave_pos')) === written, { what: `the replica at GTID ${written}`, timeoutMs: 30_000 });
    const [rows] = await replica.query(`SELECT note FROM ${table} WHERE id = 1`);
    expect(rows).toEqual([{ note: 'written on the primary' }]);
    // read_only holds for the master user too (no READ_ONLY ADMIN, as on RDS): ER_OPTION_PREVENTS_STATEMENT.
    await expect(replica.query(`INSERT INTO ${table} VALUES (2, 'on the replica')`)).rejects.toMatchObject({ errno: 1290 });

    await myPair.promoteReplica();
    await myPair.promoteReplica();
    const [status] = await replica.query('SHOW SLAVE STATUS');
    expect(status).toEqual([]);
    await replica.query(`INSERT INTO ${table} VALUES (2, 'on the promoted replica')`);
    const [count] = await replica.query(`SELECT count(*) AS n FROM ${table}`);
    expect(count).toEqual([{ n: 2 }]);
    const [onPrimary] = await primary.query(`SELECT count(*) AS n FROM ${table}`);
    expect(onPrimary).toEqual([{ n: 1 }]);
  });

  test('given the conntrack proxy, a fence keeps the application\'s open session, refuses its new one, admits the worker, and retarget moves new flows only', async () => {
    const proxy = await proxyTo(myPair.primary);
    const app = await myConn(proxy, appStream(proxy));
    await app.query('SELECT 1');
    proxy.fence();
    const [rows] = await app.query('SELECT 41 + 1 AS n');
    expect(rows).toEqual([{ n: 42 }]);
    expect(await attempt(() => myConn(proxy, appStream(proxy)))).toBe('ECONNRESET');
    const worker = await myConn(proxy);
    const [w] = await worker.query('SELECT @@server_id AS id');
    expect(w).toEqual([{ id: 1 }]);
    expect(proxy.stats()).toEqual({ open: 2, refused: 1 });

    // retarget: new flows go to the new target (the replica, server_id 2); open ones stay where they were.
    proxy.retarget(myPair.replica);
    const moved = await myConn(proxy);
    expect((await moved.query('SELECT @@server_id AS id'))[0]).toEqual([{ id: 2 }]);
    expect((await app.query('SELECT @@server_id AS id'))[0]).toEqual([{ id: 1 }]);
    expect(proxy.stats()).toEqual({ open: 3, refused: 1 });
  });

  test('given an open session, restartPrimary ends it and the primary answers on the same port again', async () => {
    const session = await myConn(myPair.primary);
    const [idRows] = await session.query('SELECT CONNECTION_ID() AS id');
    expect((idRows as Array<{ id: number }>)[0].id).toBeGreaterThan(0);
    const port = myPair.primary.port;

    await myPair.restartPrimary();

    await expect(session.query('SELECT 1')).rejects.toThrow();
    expect(myPair.primary.port).toBe(port);
    const fresh = await myConn(myPair.primary);
    const [r] = await fresh.query('SELECT 1 AS n');
    expect(r).toEqual([{ n: 1 }]);
  });
});
