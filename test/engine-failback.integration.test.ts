/**
 * A whole round trip on real engines: a planned region failover, then a failback, with the application writing
 * throughout (test/harness/engine-app.ts), on a PostgreSQL and a MariaDB pair (infra/engines) with the real Temporal dev
 * server and moto. As in engine-fence.integration.test.ts, the RDS instances moto holds are mapped to the servers and
 * the calls drover makes are mirrored onto them, here by identifier, whichever role it plays now: the security-group
 * swap fences the proxy in front of that identifier's server, PromoteReadReplica promotes it, RebootDBInstance restarts
 * it, and CreateDBInstanceReadReplica re-seeds it from the other (the writer) as RDS makes a new replica. So the
 * failback re-creates the original region's instance as a replica of the promoted writer, switches over to it (the
 * engine fence now on the standby's writer), then re-creates the standby's replica from it.
 *
 * Checked: both promotions completed with the engines' evidence (the fenced writer's final position, replayed by the
 * replica); no fenced writer acknowledged a write after its fence; every acknowledged write is on the final writer;
 * the re-created replica replicates; and the failback read that the old primary had not gone past the promotion.
 */
import { Context } from '@temporalio/activity';
import { SecretsManager } from '@aws-sdk/client-secrets-manager';
import type { Activities } from '../activities';
import type { RunStatus } from '../contracts/run';
import { startConntrackProxy, type ConntrackProxy } from '../infra/engines/conntrack';
import { startMariadbPair, startPostgresPair, type EnginePair, type PairSide } from '../infra/engines/servers';
import type { Runbook } from '../runbooks/schema';
import type { FailbackResult } from '../workflows/failback';
import type { PromoteResult } from '../workflows/promoteReplica';
import { Application, engineSuite, appSchema, direct, idsOn, lostAcked, type Engine } from './harness/engine-app';
import { onlyDatabase, refOf } from './harness/fixtures';
import { ENGINE_MASTER_PASSWORD } from './harness/fixture-credentials';
import { IntegrationEnv, PRIMARY, STANDBY } from './harness/env';
import { waitFor } from './harness/wait';

const env = new IntegrationEnv();
const { bins, pairs, proxies } = engineSuite(env);
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };
const NO_GATES: [Array<string | number>, unknown] = [['approvals', 'gates'], []];

/** What the old primary held when the failback re-created it, read just before its data was replaced. */
interface OldPrimary {
  ids: Set<number>;
  /** Its write position then (PostgreSQL: pg_current_wal_lsn; MariaDB: gtid_binlog_pos). */
  position: string;
  /** PostgreSQL: the WAL records it wrote from the failover's fence position to `position` (pg_walinspect). */
  walPastFence?: Array<{ rmgr: string; type: string; xid: number }>;
}

interface World {
  engine: Engine;
  rb: Runbook;
  taskQueue: string;
  pair: EnginePair;
  /** Each server's security groups, modelled: the proxy in front of it (its identifier's fence group when fenced). */
  proxies: Record<PairSide, ConntrackProxy>;
  /** Where the application writes: the server whose promotion was mirrored last (DNS's writer record, modelled). */
  writer: PairSide;
  /** When the application was pointed at each writer, in order. */
  pointed: Array<{ side: PairSide; at: number }>;
  /** Each re-seed mirrored, in order. */
  reseeded: PairSide[];
  /** The failover's fence position of the old primary (set by the test once the failover completed). */
  fencePosition?: string;
  oldPrimary?: OldPrimary;
  app: Application;
}

/** A fresh engine pair, a proxy before each server, a seeded runbook over it, its credentials, the app's table. */
async function world(prefix: string, engine: Engine): Promise<World> {
  const pair = await (engine === 'postgres' ? startPostgresPair : startMariadbPair)({ masterPassword: ENGINE_MASTER_PASSWORD, engines: bins() });
  pairs.push(pair);
  const sides = { primary: await startConntrackProxy(pair.primary), replica: await startConntrackProxy(pair.replica) };
  proxies.push(sides.primary, sides.replica);
  const secretName = `${prefix}-${process.pid}/db-master`;
  const access = { secretId: secretName, tls: 'off', quietWindow: '1s', proofTimeout: '20s' };
  const { runbook: rb, taskQueue } = await env.seeded(prefix, [NO_GATES, [['database', 'engine'], engine], [['database', 'lagZeroTimeout'], '60s'], [['database', 'access'], access]]);
  for (const region of [PRIMARY, STANDBY]) {
    await new SecretsManager({ region, endpoint: env.moto.endpoint, credentials: CREDS }).createSecret({ Name: secretName, SecretString: JSON.stringify({ username: 'drover_master', password: ENGINE_MASTER_PASSWORD }) });
  }
  // PostgreSQL: no autovacuum on the table (nor its autoanalyze, which commits a transaction of its own), so what the
  // old primary writes after its fence is the engine's own records only, and the check on its WAL below can say so.
  await appSchema(engine, pair.primary, { autovacuum: false });
  const w: World = { engine, rb, taskQueue, pair, proxies: sides, writer: 'primary', pointed: [{ side: 'primary', at: Date.now() }], reseeded: [], app: undefined as unknown as Application };
  w.app = new Application(engine, () => ({ ...w.proxies[w.writer], name: w.writer }));
  return w;
}

/** The old primary's content and position, read directly (it is about to be replaced). */
async function readOldPrimary(w: World): Promise<OldPrimary> {
  const ids = await idsOn(w.engine, w.pair.primary);
  if (w.engine === 'mariadb') {
    const [{ pos }] = await direct(w.engine, w.pair.primary, (q) => q('SELECT @@GLOBAL.gtid_binlog_pos AS pos'));
    return { ids, position: String(pos) };
  }
  return direct(w.engine, w.pair.primary, async (q) => {
    // The position first: the extension's own catalog writes come after it, outside the range read.
    const [{ lsn }] = await q('SELECT pg_current_wal_lsn()::text AS lsn');
    await q('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
    const from = w.fencePosition ?? String(lsn);
    const rows = from === lsn ? [] : await q('SELECT resource_manager AS rmgr, record_type AS type, xid::text::bigint AS xid FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)', [from, lsn]);
    return { ids, position: String(lsn), walPastFence: rows.map((r) => ({ rmgr: String(r.rmgr), type: String(r.type), xid: Number(r.xid) })) };
  });
}

/**
 * The worker, each instance mapped by identifier to its server through the proxy before it (the fence group admits
 * the worker), and the calls that change instances mirrored onto the server that identifier names.
 */
function withEngines<T>(w: World, fn: () => Promise<T>): Promise<T> {
  const db = onlyDatabase(w.rb);
  const sideOf = (identifier: string): PairSide | undefined => (identifier === db.primary.identifier ? 'primary' : identifier === db.replica.identifier ? 'replica' : undefined);
  const wrap = (a: Activities): Activities => ({
    ...a,
    fenceInstance: async (input) => {
      const out = await a.fenceInstance(input);
      const side = sideOf(input.identifier);
      if (side) w.proxies[side].fence();
      return out;
    },
    unfenceInstance: async (input) => {
      const out = await a.unfenceInstance(input);
      const side = sideOf(input.identifier);
      if (side) w.proxies[side].unfence();
      return out;
    },
    promoteReplica: async (input) => {
      const out = await a.promoteReplica(input);
      const side = sideOf(input.identifier);
      if (side) {
        await w.pair.promote(side);
        // The writer record now names it: the application's new connections go there.
        w.writer = side;
        w.pointed.push({ side, at: Date.now() });
      }
      return out;
    },
    rebootToFence: async (input) => {
      const out = await a.rebootToFence(input);
      const side = sideOf(input.identifier);
      if (side) await w.pair.restart(side);
      return out;
    },
    createReplica: async (input) => {
      const out = await a.createReplica(input);
      const side = sideOf(input.identifier);
      // A retried attempt finds the instance made already: re-seeded only if it does not replicate yet.
      if (side && (out.created || !(await w.pair.replicating(side)))) {
        if (side === 'primary') w.oldPrimary = await readOldPrimary(w);
        // The activity's heartbeat (30 s timeout) goes on while the server is re-seeded.
        const ctx = Context.current();
        const beat = setInterval(() => ctx.heartbeat('re-seeding the engine'), 2_000);
        try {
          await w.pair.reseed(side);
        } finally {
          clearInterval(beat);
        }
        w.reseeded.push(side);
        // A new instance, with the security groups it was made with: not the fence group its predecessor had.
        w.proxies[side].unfence();
      }
      return out;
    },
  });
  const endpoint = (_region: string, identifier: string) => {
    const side = sideOf(identifier);
    return side ? w.proxies[side] : undefined;
  };
  return env.withWorker(w.taskQueue, fn, env.config(), { engines: { endpoint }, wrap });
}

/** The fence step's end in a promotion child's record. */
function fenceEnded(p: PromoteResult): number {
  const at = p.steps.find((s) => s.id === 'fence')?.endedAt;
  if (!at) throw new Error(`the promotion recorded no fence step end: ${JSON.stringify(p.steps.map((s) => [s.id, s.status]))}`);
  return at;
}

describe.each([['postgres' as const], ['mariadb' as const]])('%s: a planned failover, then a failback, under load', (engine) => {
  test('both promotions fence and replay the final position; no acknowledged write is lost; the re-created replicas replicate; the old primary had not gone past the promotion', async () => {
    const w = await world(`ak-fback-${engine === 'postgres' ? 'pg' : 'my'}`, engine);
    const failoverId = `failover-${w.rb.name}`;
    const failbackId = `failback-${w.rb.name}`;
    const opts = { timeScale: 0.005 };

    await w.app.start();
    await new Promise((r) => setTimeout(r, 500));
    let failover: RunStatus, failback: FailbackResult, first: PromoteResult, second: PromoteResult;
    try {
      ({ failover, failback, first, second } = await withEngines(w, async () => {
        const failover = (await env.client.workflow.execute('regionFailover', { taskQueue: w.taskQueue, workflowId: failoverId, args: [{ runbookRef: refOf(w.rb), targetRegion: STANDBY, mode: 'planned', reason: 'engine failback test', requestedBy: 'ic-test', options: opts }] })) as RunStatus;
        const first = (await env.client.workflow.getHandle(`${failoverId}-promote`).result()) as PromoteResult;
        w.fencePosition = first.rpo?.evidence?.writer?.value;
        // The application writes to the promoted writer for a while before the failback.
        await new Promise((r) => setTimeout(r, 700));
        const failback = (await env.client.workflow.execute('failback', { taskQueue: w.taskQueue, workflowId: failbackId, args: [{ runbookRef: refOf(w.rb), reason: 'engine failback test', requestedBy: 'ic-test', options: opts }] })) as FailbackResult;
        const second = (await env.client.workflow.getHandle(`${failbackId}-switchover`).result()) as PromoteResult;
        return { failover, failback, first, second };
      }));
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await w.app.stop();
    }

    expect(failover.phase).toBe('completed');
    expect(failback.phase).toBe('completed');
    // The servers' roles followed the calls: the original region's server re-created, promoted back; the standby's re-created.
    expect(w.reseeded).toEqual(['primary', 'replica']);
    expect(w.pointed.map((p) => p.side)).toEqual(['primary', 'replica', 'primary']);
    expect(await w.pair.replicating('primary')).toBe(false);
    expect(await w.pair.replicating('replica')).toBe(true);

    // Both promotions: the engines' evidence, the replica having replayed the fenced writer's final position.
    for (const p of [first, second]) {
      expect(p.phase).toBe('completed');
      const evidence = p.rpo?.evidence;
      expect(evidence).toMatchObject({ kind: 'engine', fencedBy: 'sessions' });
      expect(evidence?.writer?.kind).toBe(engine === 'postgres' ? 'lsn' : 'gtid');
      expect(evidence?.replica?.value).toBe(evidence?.writer?.value);
    }
    expect(failover.rpo?.evidence).toEqual(first.rpo?.evidence);
    expect(failback.rpo?.evidence).toEqual(second.rpo?.evidence);
    // The application's pooled sessions on each writer were ended by the engine fence.
    expect(first.rpo?.evidence?.sessionsEnded).toBeGreaterThanOrEqual(3);
    expect(second.rpo?.evidence?.sessionsEnded).toBeGreaterThanOrEqual(3);

    // The application wrote on each writer in turn, and no fenced writer acknowledged a write after its fence (until
    // it was the writer again).
    const acked = w.app.acked();
    const on = (side: PairSide) => acked.filter((a) => a.to === side);
    const back = w.pointed[2].at;
    expect(on('primary').filter((a) => a.at < fenceEnded(first)).length).toBeGreaterThan(10);
    expect(on('replica').length).toBeGreaterThan(10);
    expect(on('primary').filter((a) => a.at > back).length).toBeGreaterThan(10);
    expect(on('primary').filter((a) => a.at > fenceEnded(first) && a.at < back)).toEqual([]);
    expect(on('replica').filter((a) => a.at > fenceEnded(second))).toEqual([]);

    // Every acknowledged write is on the final writer, the original region's re-created server.
    const final = await idsOn(engine, w.pair.primary);
    expect(lostAcked(w.app, final)).toEqual([]);

    // The re-created standby replicates from it: what the writer has now, and a write made now, reach it.
    await direct(engine, w.pair.primary, (q) => q(engine === 'postgres' ? 'INSERT INTO writes (id) VALUES ($1)' : 'INSERT INTO writes (id) VALUES (?)', [-1]));
    await waitFor(async () => (await idsOn(engine, w.pair.replica)).has(-1), { what: 'the marker write on the re-created standby replica' });
    const onReplica = await idsOn(engine, w.pair.replica);
    expect([...final].filter((id) => !onReplica.has(id))).toEqual([]);

    // The failback's divergence read: the old primary, read once fenced, against the failover's fence position.
    const row = failback.divergence?.[0];
    const old = w.oldPrimary;
    if (!row?.final || !old) throw new Error(`no divergence read, or the old primary not captured: ${JSON.stringify(failback.divergence)}`);
    expect(row.promotedAt?.value).toBe(first.rpo?.evidence?.writer?.value);
    expect(row.note).toContain(`when ${failoverId} fenced it`);
    // Nothing on the old primary that the promoted replica lacked, and nothing written there after the fence.
    expect([...old.ids].filter((id) => !final.has(id))).toEqual([]);
    if (engine === 'mariadb') {
      expect(row.past).toEqual({ kind: 'gtid', transactions: 0 });
      expect(row.final.value).toBe(row.promotedAt?.value);
      expect(old.position).toBe(row.final.value);
    } else {
      // WAL past the fence position there may be, the engine's own (standby snapshots, a checkpoint): no transaction
      // in it. Read up to just before the old primary was replaced, which is at or past what the failback read.
      expect(row.past?.kind).toBe('lsn');
      const lsn = (s: string) => s.split('/').reduce((acc, part) => acc * 2n ** 32n + BigInt(`0x${part}`), 0n);
      expect(lsn(row.final.value)).toBeLessThanOrEqual(lsn(old.position));
      expect(row.past?.bytes).toBe(Number(lsn(row.final.value) - lsn(row.promotedAt?.value ?? '')));
      const transactions = (old.walPastFence ?? []).filter((r) => r.xid !== 0 || r.rmgr === 'Transaction' || r.rmgr === 'Heap' || r.rmgr === 'Btree');
      expect(transactions).toEqual([]);
      if ((row.past?.bytes ?? 0) > 0) expect(old.walPastFence?.length).toBeGreaterThan(0);
    }
  });
});
