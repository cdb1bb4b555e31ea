/**
 * A fence that really stops writes, checked Jepsen-style on real engines: a PostgreSQL primary with a streaming replica
 * and a MariaDB primary with a GTID replica (infra/engines, from Debian's packages), behind a proxy that models the
 * fence group as AWS's connection tracking does (new application connections refused, open ones kept), with the real
 * Temporal dev server and moto. The RDS instances moto holds are mapped to the servers (the worker's test-only endpoint
 * override), and the calls drover makes are mirrored onto them: the fence's security-group swap applies the proxy's
 * fence, PromoteReadReplica promotes the real replica, RebootDBInstance restarts the server.
 *
 * An application client writes through a pool opened before the promotion and logs each write and whether it was
 * acknowledged. Planned: every acknowledged write is on the new writer, and none was acknowledged after the fence.
 * Unplanned: the acknowledged writes missing on the new writer are exactly those past the position drover recorded.
 * The security-group fence alone, on purpose: the same check catches the writes it lets through. A MariaDB writer with
 * a parameter group of its own is also held read_only (ModifyDBParameterGroup mirrored onto the engine), and the
 * engine refuses writes through a path the fence group still admits.
 */
import { RDS } from '@aws-sdk/client-rds';
import { SecretsManager } from '@aws-sdk/client-secrets-manager';
import mysql from 'mysql2/promise';
import type { Activities } from '../activities';
import { createDbLifecycleActivities } from '../activities/dblifecycle';
import { createEngineActivities } from '../activities/engines';
import { createAwsClients } from '../aws/clients';
import { divergence } from '../contracts/engines';
import { startConntrackProxy, type ConntrackProxy } from '../infra/engines/conntrack';
import { freePorts, startMariadbPair, startPostgresPair, type EnginePair } from '../infra/engines/servers';
import type { RunStatus } from '../contracts/run';
import type { Runbook } from '../runbooks/schema';
import type { PromoteResult } from '../workflows/promoteReplica';
import { APP_USER, Application, engineSuite, appSchema, direct, idsOn, lostAcked, type Engine } from './harness/engine-app';
import { onlyDatabase, refOf } from './harness/fixtures';
import { ENGINE_MASTER_PASSWORD } from './harness/fixture-credentials';
import { IntegrationEnv, PRIMARY, STANDBY } from './harness/env';
import { waitFor } from './harness/wait';

const env = new IntegrationEnv();
const { bins, pairs, proxies } = engineSuite(env);
const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };

interface World {
  rb: Runbook;
  taskQueue: string;
  pair: EnginePair;
  /** The fence group's model, in front of the writer. */
  proxy: ConntrackProxy;
  app: Application;
  /** MariaDB: what the engine answered a write tried, through a path the fence group admits, once read_only was held. */
  readOnlyAnswers: string[];
}

const NO_GATES: [Array<string | number>, unknown] = [['approvals', 'gates'], []];

/** A fresh engine pair, a seeded runbook over it, its credentials in Secrets Manager (both regions), the app's table. */
async function world(prefix: string, engine: Engine, opts: { access?: boolean; secret?: string } = {}): Promise<World> {
  const pair = await (engine === 'postgres' ? startPostgresPair : startMariadbPair)({ masterPassword: ENGINE_MASTER_PASSWORD, engines: bins() });
  pairs.push(pair);
  const proxy = await startConntrackProxy(pair.primary);
  proxies.push(proxy);
  const secretName = `${prefix}-${process.pid}/db-master`;
  // One secret, by name, in both regions (Secrets Manager's replication keeps the name): read in each side's region.
  const access = { secretId: secretName, tls: 'off', quietWindow: '1s', proofTimeout: '20s' };
  const { runbook: rb, taskQueue } = await env.seeded(prefix, [NO_GATES, [['database', 'engine'], engine], [['database', 'lagZeroTimeout'], '60s'], ...(opts.access === false ? [] : [[['database', 'access'], access] as [Array<string | number>, unknown]])]);
  for (const region of [PRIMARY, STANDBY]) {
    await new SecretsManager({ region, endpoint: env.moto.endpoint, credentials: CREDS }).createSecret({ Name: secretName, SecretString: opts.secret ?? JSON.stringify({ username: 'drover_master', password: ENGINE_MASTER_PASSWORD }) });
  }
  await appSchema(engine, pair.primary);
  return { rb, taskQueue, pair, proxy, app: new Application(engine, proxy), readOnlyAnswers: [] };
}

/**
 * What RDS does with a parameter group's read_only (a dynamic parameter): the writer's engine takes the value moto now
 * holds for its group, whatever drover's call answered (no value of the team's: the default, off on a writer).
 */
async function applyGroup(w: World, identifier: string): Promise<void> {
  const rds = new RDS({ region: PRIMARY, endpoint: env.moto.endpoint, credentials: CREDS });
  const group = (await rds.describeDBInstances({ DBInstanceIdentifier: identifier })).DBInstances?.[0]?.DBParameterGroups?.[0]?.DBParameterGroupName;
  // moto lists no default group (its values are the engine's: read_only off on a writer).
  const value = group && !group.startsWith('default.') ? (await rds.describeDBParameters({ DBParameterGroupName: group })).Parameters?.find((p) => p.ParameterName === 'read_only')?.ParameterValue : undefined;
  await w.pair.setReadOnly('primary', /^(1|on|true)$/i.test(value ?? ''));
}

/**
 * The worker, its instances mapped to the engines, the calls that change instances mirrored onto them. `writerFor`:
 * where the worker reaches the writer (default through the fence group's proxy, as its rule admits the worker).
 */
function withEngines<T>(w: World, fn: () => Promise<T>, writerFor?: { host: string; port: number }): Promise<T> {
  const db = onlyDatabase(w.rb);
  const endpoint = (_region: string, identifier: string): { host: string; port: number } | undefined => (identifier === db.primary.identifier ? (writerFor ?? w.proxy) : identifier === db.replica.identifier ? w.pair.replica : undefined);
  const wrap = (a: Activities): Activities => ({
    ...a,
    fenceInstance: async (input) => {
      const out = await a.fenceInstance(input);
      if (input.identifier === db.primary.identifier) w.proxy.fence();
      return out;
    },
    unfenceInstance: async (input) => {
      const out = await a.unfenceInstance(input);
      if (input.identifier === db.primary.identifier) w.proxy.unfence();
      // The unfence restores the group's read_only too: RDS applies it to the engine.
      if (w.pair.engine === 'mariadb' && input.identifier === db.primary.identifier) await applyGroup(w, input.identifier);
      return out;
    },
    promoteReplica: async (input) => {
      const out = await a.promoteReplica(input);
      if (input.identifier === db.replica.identifier) await w.pair.promoteReplica();
      return out;
    },
    rebootToFence: async (input) => {
      const out = await a.rebootToFence(input);
      if (input.identifier === db.primary.identifier) await w.pair.restartPrimary();
      return out;
    },
    // The group's read_only applies to the engine at once (a dynamic parameter); then a write through a path the
    // fence group admits (direct, as the application's own user) is tried, while the pooled sessions are still open.
    holdReadOnly: async (input) => {
      const out = await a.holdReadOnly(input);
      if (input.identifier === db.primary.identifier) {
        await applyGroup(w, input.identifier);
        const c = await mysql.createConnection({ host: w.pair.primary.host, port: w.pair.primary.port, user: APP_USER, password: ENGINE_MASTER_PASSWORD, database: 'app' });
        try {
          await c.query('INSERT INTO writes (id) VALUES (?)', [-1]);
          w.readOnlyAnswers.push('accepted');
        } catch (e) {
          w.readOnlyAnswers.push(String((e as { code?: string }).code));
        } finally {
          await c.end().catch(() => undefined);
        }
      }
      return out;
    },
    releaseReadOnly: async (input) => {
      const out = await a.releaseReadOnly(input);
      if (input.identifier === db.primary.identifier) await applyGroup(w, input.identifier);
      return out;
    },
  });
  return env.withWorker(w.taskQueue, fn, env.config(), { engines: { endpoint: (region, identifier) => endpoint(region, identifier) }, wrap });
}

function promote(w: World, mode: 'planned' | 'unplanned'): Promise<PromoteResult> {
  return env.client.workflow.execute('promoteReplica', { taskQueue: w.taskQueue, workflowId: `promote-${w.rb.name}`, args: [{ runbookRef: refOf(w.rb), toRegion: STANDBY, mode, reason: 'engine fence test', requestedBy: 'ic-test' }] }) as Promise<PromoteResult>;
}

/** The application writes for a while, the promotion runs meanwhile, and the application goes on a while after it. */
async function promoteUnderLoad(w: World, writerFor?: { host: string; port: number }): Promise<{ result: PromoteResult; fenceEnded: number }> {
  await w.app.start();
  await new Promise((r) => setTimeout(r, 500));
  try {
    const result = await withEngines(w, () => promote(w, 'planned'), writerFor);
    await new Promise((r) => setTimeout(r, 500));
    return { result, fenceEnded: result.steps.find((s) => s.id === 'fence')?.endedAt ?? 0 };
  } finally {
    await w.app.stop();
  }
}

describe.each([['postgres' as const], ['mariadb' as const]])('%s: a planned promotion with the engine fence', (engine) => {
  test('ends the pooled sessions the security groups let through, waits for the replica to replay the final position, and loses no acknowledged write', async () => {
    const w = await world(`ak-fence-${engine === 'postgres' ? 'pg' : 'my'}`, engine);
    const { result, fenceEnded } = await promoteUnderLoad(w);

    expect(result.phase).toBe('completed');
    const acked = w.app.acked();
    expect(acked.length).toBeGreaterThan(20);
    // The promise: every acknowledged write is on the new writer, and the old one acknowledged none after the fence.
    expect(lostAcked(w.app, await idsOn(engine, w.pair.replica))).toEqual([]);
    expect(acked.filter((a) => a.at > fenceEnded)).toEqual([]);
    // The application's three pooled connections were ended by the engine, and the proxy refused them coming back.
    expect(result.rpo?.evidence).toMatchObject({ kind: 'engine', fencedBy: 'sessions', sessionsEnded: expect.any(Number) });
    expect(result.rpo?.evidence?.sessionsEnded).toBeGreaterThanOrEqual(3);
    expect(w.proxy.stats().refused).toBeGreaterThan(0);
    // The evidence: the writer's final position, replayed by the replica before promotion.
    const { writer, replica } = result.rpo?.evidence ?? {};
    expect(writer?.kind).toBe(engine === 'postgres' ? 'lsn' : 'gtid');
    expect(replica?.value).toBe(writer?.value);
    expect(result.steps.find((s) => s.id === 'wait-lag-zero')?.notes.join('\n')).toContain(`replayed ${writer?.value}`);
  });
});

describe("mariadb: read_only in the writer's own parameter group", () => {
  const rds = () => new RDS({ region: PRIMARY, endpoint: env.moto.endpoint, credentials: CREDS });
  /** A parameter group of the writer's own (the seeded instances have the default one). */
  async function ownGroup(w: World, name: string): Promise<void> {
    await rds().createDBParameterGroup({ DBParameterGroupName: name, DBParameterGroupFamily: 'mariadb10.11', Description: 'the writer\'s own' });
    const id = onlyDatabase(w.rb).primary.identifier;
    await rds().modifyDBInstance({ DBInstanceIdentifier: id, DBParameterGroupName: name, ApplyImmediately: true });
    // The proxy models RDS's `modifying` after a ModifyDBInstance: the fence's own change waits for it to pass.
    await waitFor(async () => (await rds().describeDBInstances({ DBInstanceIdentifier: id })).DBInstances?.[0]?.DBInstanceStatus === 'available', { timeoutMs: 60_000, what: `${id} available again` });
  }
  async function readOnlyOf(group: string): Promise<{ value?: string; tag?: string }> {
    const p = (await rds().describeDBParameters({ DBParameterGroupName: group })).Parameters?.find((x) => x.ParameterName === 'read_only');
    const arn = (await rds().describeDBParameterGroups({ DBParameterGroupName: group })).DBParameterGroups?.[0]?.DBParameterGroupArn;
    const tag = (await rds().listTagsForResource({ ResourceName: arn })).TagList?.find((t) => t.Key === 'drover:read-only-from')?.Value;
    return { ...(p?.ParameterValue !== undefined ? { value: p.ParameterValue } : {}), ...(tag !== undefined ? { tag } : {}) };
  }
  const engines = () => {
    const aws = createAwsClients(env.config());
    return createEngineActivities({ rds: aws.rds, secrets: aws.secrets });
  };

  test('a planned promotion holds it before the sessions are ended (the engine refuses a write through a path the fence group admits), loses no acknowledged write, and restores the default once the replica is the writer', async () => {
    const w = await world('ak-fence-ro', 'mariadb');
    const group = `ak-ro-${process.pid}`;
    await ownGroup(w, group);
    const { result, fenceEnded } = await promoteUnderLoad(w);

    expect(result.phase).toBe('completed');
    expect(result.rpo?.evidence).toMatchObject({ kind: 'engine', fencedBy: 'sessions', readOnly: { held: true, group, engine: true } });
    // 1290: "The MariaDB server is running with the --read-only option so it cannot execute this statement".
    expect(w.readOnlyAnswers).toEqual(['ER_OPTION_PREVENTS_STATEMENT']);
    expect(lostAcked(w.app, await idsOn('mariadb', w.pair.replica))).toEqual([]);
    expect(w.app.acked().filter((a) => a.at > fenceEnded)).toEqual([]);
    // Restored once the replica was the writer: the group lists no read_only of its own (the default), the tag is gone.
    expect(await readOnlyOf(group)).toEqual({});
    expect(result.steps.find((s) => s.id === 'old-primary')?.notes.join('\n')).toContain(`read_only in ${group} restored to the default`);
    expect(Number((await direct('mariadb', w.pair.primary, (q) => q('SELECT @@GLOBAL.read_only AS ro')))[0].ro)).toBe(0);
  });

  test("the team's own value is what comes back; a retried hold keeps it; an unfence restores it; a planted tag is not trusted; a group another writer uses, one that is read_only already, or a default one, is not held", async () => {
    const w = await world('ak-fence-ro-own', 'mariadb');
    const db = onlyDatabase(w.rb);
    const group = `ak-ro-own-${process.pid}`;
    await ownGroup(w, group);
    await rds().modifyDBParameterGroup({ DBParameterGroupName: group, Parameters: [{ ParameterName: 'read_only', ParameterValue: '0', ApplyMethod: 'immediate' }] });
    const writer = { region: PRIMARY, identifier: db.primary.identifier };

    expect(await engines().holdReadOnly(writer)).toEqual({ held: true, group, from: 'user:0' });
    expect(await readOnlyOf(group)).toEqual({ value: '1', tag: 'user:0' });
    // A retried attempt (its first answer lost) finds the tag: what the team had stays what is restored.
    expect(await engines().holdReadOnly(writer)).toEqual({ held: true, group, from: 'user:0' });
    expect(await engines().releaseReadOnly(writer)).toEqual({ released: true, group, restored: '0' });
    expect(await readOnlyOf(group)).toEqual({ value: '0' });
    expect(await engines().releaseReadOnly(writer)).toEqual({ released: false, group });

    // Every unfence restores it with the groups (a failed promotion's compensation, a drill's rollback).
    const aws = createAwsClients(env.config());
    const lifecycle = createDbLifecycleActivities(aws.rds, aws.ec2);
    await lifecycle.fenceInstance({ ...writer, fenceGroupName: db.fence.groupName ?? '' });
    await engines().holdReadOnly(writer);
    expect(await lifecycle.unfenceInstance(writer)).toMatchObject({ unfenced: true, readOnly: { released: true, group, restored: '0' } });
    expect(await readOnlyOf(group)).toEqual({ value: '0' });

    // A tag drover does not write (planted: "restore read_only = 1") is not trusted: the group is read again.
    const arn = (await rds().describeDBParameterGroups({ DBParameterGroupName: group })).DBParameterGroups?.[0]?.DBParameterGroupArn;
    await rds().addTagsToResource({ ResourceName: arn, Tags: [{ Key: 'drover:read-only-from', Value: 'user:1' }] });
    expect(await engines().holdReadOnly(writer)).toEqual({ held: true, group, from: 'user:0' });
    await rds().addTagsToResource({ ResourceName: arn, Tags: [{ Key: 'drover:read-only-from', Value: 'user:ON' }] });
    expect(await engines().releaseReadOnly(writer)).toEqual({ released: true, group, restored: 'the default', note: expect.stringContaining('said user:ON, not a value drover writes') });
    expect(await readOnlyOf(group)).toEqual({});

    // A group that already says read_only (a writer's would refuse every write already): left alone.
    await rds().modifyDBParameterGroup({ DBParameterGroupName: group, Parameters: [{ ParameterName: 'read_only', ParameterValue: 'ON', ApplyMethod: 'immediate' }] });
    expect(await engines().holdReadOnly(writer)).toEqual({ held: false, reason: expect.stringContaining(`${group} already sets read_only = ON`) });
    // The team's own, with no tag of drover's: said by a release (a promotion's new writer), never changed.
    expect(await engines().releaseReadOnly(writer)).toEqual({ released: false, group, on: 'ON' });
    expect(await readOnlyOf(group)).toEqual({ value: 'ON' });
    await rds().modifyDBParameterGroup({ DBParameterGroupName: group, Parameters: [{ ParameterName: 'read_only', ParameterValue: '0', ApplyMethod: 'immediate' }] });

    // Another writer in the region with the same group: read_only would stop it too.
    const other = `ak-ro-other-${process.pid}`;
    await rds().createDBInstance({ DBInstanceIdentifier: other, Engine: 'mariadb', EngineVersion: '10.11.9', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'admin', ManageMasterUserPassword: true, DBParameterGroupName: group });
    expect(await engines().holdReadOnly(writer)).toEqual({ held: false, reason: expect.stringContaining(`${group} is also that of ${other}`) });
    // The default group: RDS lets no one modify it.
    await rds().modifyDBInstance({ DBInstanceIdentifier: db.primary.identifier, DBParameterGroupName: 'default.mariadb10.11', ApplyImmediately: true });
    expect(await engines().holdReadOnly(writer)).toEqual({ held: false, reason: expect.stringContaining('default parameter group default.mariadb10.11') });
    expect(await readOnlyOf(group)).toEqual({ value: '0' });
  });
});

describe('postgres: an unplanned promotion', () => {
  test('records what the replica had received and replayed; the acknowledged writes it lacks are exactly those past that position', async () => {
    const w = await world('ak-fence-lost', 'postgres');
    await w.app.start();
    await new Promise((r) => setTimeout(r, 500));
    // The link to the lost region goes first: the replica stops receiving, the writer goes on acknowledging.
    await direct('postgres', w.pair.replica, async (q) => {
      await q("ALTER SYSTEM SET primary_conninfo = ''");
      await q('SELECT pg_reload_conf()');
    });
    await new Promise((r) => setTimeout(r, 700));
    await w.pair.killPrimary();
    await w.app.stop();

    const result = await withEngines(w, () => promote(w, 'unplanned'));
    expect(result.phase).toBe('completed');
    const position = result.rpo?.evidence?.replica;
    expect(result.rpo?.evidence?.kind).toBe('engine');
    const lossStart = position?.received ?? position?.value ?? '';
    expect(lossStart).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);

    const present = await idsOn('postgres', w.pair.replica);
    const lost = w.app.acked().filter((a) => !present.has(a.id));
    expect(lost.length).toBeGreaterThan(0);
    // Every lost write committed past the position drover recorded; every write committed before it is there.
    const lsn = (s: string) => s.split('/').reduce((acc, part) => acc * 2n ** 32n + BigInt(`0x${part}`), 0n);
    // (A write whose WAL position after its commit could not be read, the writer killed in between, is bounded below only.)
    const bounded = lost.filter((l) => l.lsnAfter !== undefined);
    expect(bounded.length).toBeGreaterThan(0);
    for (const l of bounded) expect(lsn(l.lsnAfter ?? '')).toBeGreaterThan(lsn(lossStart));
    const before = w.app.acked().filter((a) => a.lsnAfter !== undefined && lsn(a.lsnAfter) <= lsn(lossStart));
    expect(before.length).toBeGreaterThan(0);
    expect(before.filter((a) => !present.has(a.id))).toEqual([]);
    // And every write that began past it is lost.
    const past = w.app.acked().filter((a) => a.lsnBefore !== undefined && lsn(a.lsnBefore) > lsn(lossStart));
    expect(past.length).toBeGreaterThan(0);
    expect(past.filter((a) => present.has(a.id))).toEqual([]);
    expect(result.rpo?.note).toContain(lossStart);

    // The old writer comes back (its region recovers): a failback reads its final position, and how far it got past
    // the promotion covers every lost write.
    await w.pair.restartPrimary();
    const db = onlyDatabase(w.rb);
    const aws = createAwsClients(env.config());
    const engines = createEngineActivities({ rds: aws.rds, secrets: aws.secrets, endpoint: (_r, id) => (id === db.primary.identifier ? w.pair.primary : undefined) });
    if (!db.access) throw new Error('the runbook has no database.access');
    const final = await engines.writerPosition({ region: PRIMARY, identifier: db.primary.identifier, engine: 'postgres', access: db.access, side: 'primary' });
    if (!final.reached || !position) throw new Error(`the old primary's position was not read: ${JSON.stringify(final)}`);
    const beyond = divergence(final.position, position);
    expect(beyond?.bytes).toBe(Number(lsn(final.position.value) - lsn(lossStart)));
    expect(beyond?.bytes).toBeGreaterThan(0);
    for (const l of bounded) expect(lsn(l.lsnAfter ?? '')).toBeLessThanOrEqual(lsn(final.position.value));
  });
});

describe('the security-group fence alone, on purpose', () => {
  test('the application check catches what it lets through: pooled connections keep writing past the fence and the promotion, and those acknowledged writes are lost', async () => {
    const w = await world('ak-fence-sgonly', 'postgres', { access: false });
    const { result, fenceEnded } = await promoteUnderLoad(w);

    expect(result.phase).toBe('completed');
    expect(result.rpo?.evidence).toBeUndefined();
    const lost = lostAcked(w.app, await idsOn('postgres', w.pair.replica));
    // The check a planned promotion must pass (nothing acknowledged lost, nothing acknowledged after the fence) fails here.
    expect(lost.length).toBeGreaterThan(0);
    expect(w.app.acked().filter((a) => a.at > fenceEnded).length).toBeGreaterThan(0);
    expect(() => expect(lost).toEqual([])).toThrow();
  });
});

describe('credentials', () => {
  test('a secret whose password the engine refuses fails the planned promotion with PermissionDenied naming the secret, before its fence: nothing fenced, nothing promoted', async () => {
    const w = await world('ak-fence-badpw', 'postgres', { secret: JSON.stringify({ username: 'drover_master', password: 'not-the-password-4c1' }) });
    const err = await withEngines(w, () => promote(w, 'planned')).then(
      () => undefined,
      (e: Error & { cause?: { type?: string; message?: string; details?: unknown[] } }) => e.cause,
    );
    expect(err).toMatchObject({ type: 'PermissionDenied', message: expect.stringMatching(/refused the credentials of ak-fence-badpw-\d+\/db-master \(28P01\)/) });
    expect(w.proxy.fenced).toBe(false);
    expect(w.proxy.stats().refused).toBe(0);
    const record = err?.details?.[0] as RunStatus | undefined;
    expect(record?.steps.find((s) => s.id === 'promote')?.status).toBe('pending');
    // The engines were asked first (engine-preflight-v1): the security groups were never swapped.
    const fence = record?.steps.find((s) => s.id === 'fence')?.notes.join('\n') ?? '';
    expect(fence).not.toMatch(/security groups|compensation/);
    const aws = createAwsClients(env.config());
    const tags = await aws.rds(PRIMARY).listTagsForResource({ ResourceName: (await aws.rds(PRIMARY).describeDBInstances({ DBInstanceIdentifier: onlyDatabase(w.rb).primary.identifier })).DBInstances?.[0]?.DBInstanceArn });
    expect(tags.TagList?.map((t) => t.Key)).not.toContain('drover:fenced-from');
    // The old writer still takes writes (it was unfenced), the replica still replicates.
    await direct('postgres', w.pair.replica, async (q) => expect((await q('SELECT pg_is_in_recovery() AS r'))[0].r).toBe(true));
  });
});

describe('postgres: an engine the worker cannot reach', () => {
  test('a writer the worker cannot reach is fenced by RebootDBInstance (its pooled sessions end with the restart), and the RPO rests on ReplicaLag, labelled weaker', async () => {
    const w = await world('ak-fence-reboot', 'postgres');
    // Nothing listens there: the worker's path to the writer is broken, the application's is not.
    const [closed] = await freePorts(1);
    const { result, fenceEnded } = await promoteUnderLoad(w, { host: '127.0.0.1', port: closed });

    expect(result.phase).toBe('completed');
    expect(result.rpo?.evidence).toMatchObject({ kind: 'replica-lag', fencedBy: 'reboot', weaker: expect.stringMatching(new RegExp(`could not be reached .*127\\.0\\.0\\.1:${closed}`)) });
    expect(result.steps.find((s) => s.id === 'fence')?.notes.join('\n')).toMatch(/rebooting it to end its sessions[\s\S]*rebooted/);
    // The reboot ended the pooled sessions; the fence group refused them coming back.
    expect(w.app.acked().filter((a) => a.at > fenceEnded)).toEqual([]);
    expect(lostAcked(w.app, await idsOn('postgres', w.pair.replica))).toEqual([]);
  });
});
