/**
 * `drover runs list` on the real Temporal dev server (which the harness starts with drover's search
 * attributes registered) and moto: runs of three runbooks, started through the CLI, with different
 * kinds and outcomes, listed through each filter. Visibility is eventually consistent: lists are polled.
 * Also a server without the attributes: runs still start and complete, the list says how to register them.
 */
import { execFileSync } from 'node:child_process';
import { workerSinks } from '../cli/worker';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createAwsClients } from '../aws/clients';
import { exec } from '../cli/main';
import { parseSince } from '../cli/commands/runs';
import type { RunRow } from '../cli/visibility';
import { SEARCH_ATTRIBUTES } from '../contracts/ids';
import { DRILLS_ANY_TIME, useCli } from './harness/drills';
import { IntegrationEnv, STANDBY } from './harness/env';
import { captureIO, eventually, onlyDatabase, setAlarm, testRunbooks, workflowBundle } from './harness/fixtures';
import { startOwnTemporal, type TemporalServer } from './harness/servers';
import { waitFor } from './harness/wait';

const env = new IntegrationEnv();
const saved = { ...process.env };

beforeAll(() => env.start(), 120_000);
afterAll(async () => {
  process.env = saved;
  await env.stop();
});

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIO();
  const code = await exec(args, io);
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

/** `drover runs list ... --json`, restricted to this test's runbooks (other test files share the server). */
async function listed(args: string[], ours: string[]): Promise<RunRow[]> {
  const r = await cli(['runs', 'list', ...args, '--json']);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return (JSON.parse(r.out) as RunRow[]).filter((row) => ours.includes(row.runbook));
}

/** Poll the list until it shows exactly `expected` (workflow id and outcome), in any order. */
async function listsEventually(args: string[], ours: string[], expected: Array<[string, string]>): Promise<RunRow[]> {
  const key = (pairs: Array<[string, string]>) => pairs.map(([id, outcome]) => `${id}=${outcome}`).sort().join(' ');
  let last: RunRow[] = [];
  try {
    return await eventually(async () => {
      last = await listed(args, ours);
      return key(last.map((r) => [r.workflowId, r.outcome])) === key(expected) ? last : undefined;
    }, `runs list ${args.join(' ')}`, 20_000);
  } catch (e) {
    throw new Error(`${(e as Error).message}: last saw ${key(last.map((r) => [r.workflowId, r.outcome]))}, expected ${key(expected)}`);
  }
}

describe('drover runs list', () => {
  test('given runs of three runbooks with different kinds and outcomes, each filter lists exactly the matching runs', async () => {
    const a = await env.seeded('runs-a', [[['approvals', 'gates'], []]]);
    const b = await env.seeded('runs-b', [[['approvals', 'gates'], []], DRILLS_ANY_TIME]);
    const c = await env.seeded('runs-c', [DRILLS_ANY_TIME]);
    const ours = [a.runbook.name, b.runbook.name, c.runbook.name];
    // One worker serves all three runbooks.
    useCli(env.moto.endpoint, a.taskQueue);
    const { drillB, drillC, sinceC } = await env.withWorker(a.taskQueue, async () => {
      // a: a failover that completes.
      const okRun = await cli(['failover', a.file, '--to', STANDBY, '--reason', 'runs list test', '--requested-by', 'ic-asha', '--time-scale', '0.01']);
      expect(okRun.code).toBe(0);
      expect(okRun.err).not.toContain('search attributes');
      // b: a failover refused at preflight (a target alarm firing), then a drill refused by the cooldown it leaves.
      await setAlarm(env.moto.endpoint, STANDBY, b.runbook.health.alarms[STANDBY][0], 'ALARM');
      expect((await cli(['failover', b.file, '--to', STANDBY, '--reason', 'runs list test', '--requested-by', 'ic-bala'])).code).toBe(1);
      const refused = await cli(['drill', 'run', b.file, '--requested-by', 'ic-bala', '--json']);
      expect(refused.code).toBe(3);
      // c: a drill whose failover fails its preflight (its replica's lag over the bound: readiness only calls that degraded,
      // so the drill starts, and the planned failover's preflight refuses it); the drill rolls back and fails.
      // `--since` below must fall after b's two runs started and before c's: one millisecond after the later
      // of b's start times (as Temporal recorded them), once the clock has passed it.
      const bStarts = await Promise.all([`failover-${b.runbook.name}`, JSON.parse(refused.out).workflowId as string].map(async (id) => (await env.client.workflow.getHandle(id).describe()).startTime.getTime()));
      const since = new Date(Math.max(...bStarts) + 1);
      await waitFor(() => Date.now() > since.getTime(), { what: `the clock to pass ${since.toISOString()}` });
      env.lag.set(onlyDatabase(c.runbook).replica.identifier, 3600);
      const failed = await cli(['drill', 'run', c.file, '--requested-by', 'ic-chen', '--json']);
      expect(failed.code).toBe(1);
      return { drillB: JSON.parse(refused.out).workflowId as string, drillC: JSON.parse(failed.out).workflowId as string, sinceC: since };
    });
    const failoverA = `failover-${a.runbook.name}`;
    const failoverB = `failover-${b.runbook.name}`;
    const childC = `${drillC}-failover`;

    // By runbook: the failover's promotion child carries no search attributes, so it is not a run of its own.
    const rowsA = await listsEventually(['--runbook', a.runbook.name], ours, [[failoverA, 'completed']]);
    expect(rowsA[0]).toEqual(expect.objectContaining({ kind: 'failover', runbook: a.runbook.name, mode: 'planned', requestedBy: 'ic-asha', closedAt: expect.any(String) }));
    expect(rowsA[0].durationMs).toBeGreaterThan(0);
    await listsEventually(['--runbook', b.file], ours, [[failoverB, 'failed'], [drillB, 'refused']]);
    // A drill's failover is listed too, as mode drill.
    const rowsC = await listsEventually(['--runbook', c.runbook.name], ours, [[drillC, 'failed'], [childC, 'failed']]);
    expect(rowsC.map((r) => `${r.workflowId} ${r.kind} ${r.mode} ${r.requestedBy}`).sort()).toEqual([`${drillC} drill drill ic-chen`, `${childC} failover drill ic-chen`].sort());

    // By outcome, kind and start time, across runbooks.
    await listsEventually(['--outcome', 'failed'], ours, [[failoverB, 'failed'], [drillC, 'failed'], [childC, 'failed']]);
    await listsEventually(['--outcome', 'completed', '--since', '1h'], ours, [[failoverA, 'completed']]);
    await listsEventually(['--kind', 'drill'], ours, [[drillB, 'refused'], [drillC, 'failed']]);
    await listsEventually(['--kind', 'failover', '--outcome', 'failed'], ours, [[failoverB, 'failed'], [childC, 'failed']]);
    await listsEventually(['--since', sinceC.toISOString()], ours, [[drillC, 'failed'], [childC, 'failed']]);
    await listsEventually(['--since', sinceC.toISOString(), '--runbook', b.runbook.name], ours, []);
    await listsEventually(['--outcome', 'running', '--runbook', a.runbook.name], ours, []);

    // The table: a header and one line per run, newest first.
    const table = await cli(['runs', 'list', '--runbook', c.runbook.name]);
    expect(table.code).toBe(0);
    const lines = table.out.split('\n');
    expect(lines[0]).toMatch(/^RUN\s+KIND\s+RUNBOOK\s+MODE\s+OUTCOME\s+REQUESTED BY\s+STARTED \(UTC\)\s+DURATION$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0]).sort()).toEqual([drillC, childC].sort());
    expect(lines.find((l) => l.startsWith(`${drillC} `))).toMatch(/ drill\s+runs-c-\S+\s+drill\s+failed\s+ic-chen\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\S+$/);
    expect((await cli(['runs', 'list', '--runbook', 'no-such-runbook'])).out).toBe('no runs match');
  });

  test.each([
    [['--since', 'yesterday'], '--since: expected a date (2026-11-20), a time with its zone'],
    [['--since', '2026-02-30'], '--since: "2026-02-30" is not a calendar date'],
    [['--since', '2999-01-01'], '--since: 2999-01-01T00:00:00.000Z is in the future'],
    [['--since', '2026-11-20T08:00:00'], '--since: expected a date'],
    [['--outcome', 'exploded'], '--outcome: expected "completed", "failed", "rejected", "aborted", "cancelled", "refused", "running", "terminated", got "exploded"'],
    [['--kind', 'restore'], '--kind: expected "failover", "failback", "promote", "rebuild", "cleanup", "drill", got "restore"'],
    [['--runbook', "x' OR 1=1"], '--runbook: expected a runbook name'],
    [['--limit', '0'], '--limit:'],
  ])('given %j, runs list exits 2 with a path-qualified message and no stack trace', async (args, message) => {
    const r = await cli(['runs', 'list', ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  test('given ages, dates and times with a zone, --since resolves them in UTC', () => {
    const now = Date.parse('2026-11-22T12:00:00Z');
    expect(parseSince('30m', now)).toEqual(new Date('2026-11-22T11:30:00Z'));
    expect(parseSince('7d', now)).toEqual(new Date('2026-11-15T12:00:00Z'));
    expect(parseSince('2026-11-20', now)).toEqual(new Date('2026-11-20T00:00:00Z'));
    expect(parseSince('2026-11-20T13:30:00+05:30', now)).toEqual(new Date('2026-11-20T08:00:00Z'));
  });

  describe('on a server without drover search attributes', () => {
    let own: TemporalServer;
    beforeAll(async () => {
      own = await startOwnTemporal();
      const connection = await Connection.connect({ address: own.address });
      await connection.operatorService.removeSearchAttributes({ namespace: 'default', searchAttributes: Object.values(SEARCH_ATTRIBUTES).map((k) => k.name) });
      await connection.close();
    }, 60_000);
    afterAll(() => own?.stop());

    test('a failover still starts and completes (with a note), runs list exits 5 naming the attributes and the commands that register them, and lists once they are registered', async () => {
      const { file, runbook: rb, taskQueue } = await env.seeded('runs-bare', [[['approvals', 'gates'], []]]);
      process.env.TEMPORAL_ADDRESS = own.address;
      process.env.AWS_ENDPOINT_URL = env.moto.endpoint;
      process.env.DROVER_TASK_QUEUE = taskQueue;
      const native = await NativeConnection.connect({ address: own.address });
      const connection = await Connection.connect({ address: own.address });
      const client = new Client({ connection });
      try {
        const worker = await Worker.create({ sinks: workerSinks(), connection: native, taskQueue, workflowBundle: await workflowBundle(), activities: createActivities({ aws: createAwsClients(env.config()), temporal: () => client, runbooks: testRunbooks }) });
        const run = await worker.runUntil(cli(['failover', file, '--to', STANDBY, '--reason', 'no attributes', '--time-scale', '0.01']));
        expect(run.code).toBe(0);
        expect(run.err).toContain("note: the Temporal namespace default lacks drover's search attributes (DroverRunbook, DroverKind, DroverMode, DroverOutcome, DroverRequestedBy): this run will not appear in `drover runs list`");

        const refused = await cli(['runs', 'list']);
        expect(refused.code).toBe(5);
        expect(refused.err).toContain(`drover: Temporal at ${own.address} (namespace default) lacks drover's search attributes DroverRunbook, DroverKind, DroverMode, DroverOutcome, DroverRequestedBy`);
        const commands = refused.err.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('temporal operator search-attribute create'));
        expect(commands).toHaveLength(5);
        expect(refused.err).not.toMatch(/\n\s+at /);

        // The printed commands, run with the Temporal CLI, register them; the earlier run stays unlisted.
        for (const c of commands) execFileSync(process.env.DROVER_TEST_TEMPORAL_BIN ?? 'temporal', [...c.split(' ').slice(1), '--address', own.address], { stdio: 'ignore' });
        const after = await cli(['runs', 'list', '--runbook', rb.name]);
        expect(after).toEqual({ code: 0, out: 'no runs match', err: '' });
      } finally {
        await connection.close();
        await native.close();
      }
    });
  });
});

describe('a decision sent while no worker answers', () => {
  test('given an unsigned approval no worker took up within 15 s, the same approval sent again once a worker runs is the same update (its id is the decision\'s): applied once, and the resend exits 0 instead of being refused', async () => {
    const { file, runbook: rb, taskQueue } = await env.seeded('ak-resend', []);
    useCli(env.moto.endpoint, taskQueue);
    const id = `failover-${rb.name}`;
    const handle = env.client.workflow.getHandle(id);
    // The run waits at its gate; then its worker goes away.
    await env.withWorker(taskQueue, async () => {
      expect((await cli(['failover', file, '--to', STANDBY, '--reason', 'resend test', '--time-scale', '0.01', '--detach'])).code).toBe(0);
      await eventually(async () => (await handle.query<{ pendingGate?: unknown }>('status')).pendingGate, 'the failover gate', 120_000);
    });
    const approve = ['approve', id, '--gate', 'failover', '--as', 'ic-priya', '--comment', 'go'];
    const first = await cli(approve);
    // Its worker polled within the last minute, so the queue still lists it: "busy" (the hint says the same decision
    // sent again is applied once); a minute later it would read "no drover worker answered".
    expect([first.code, first.err]).toEqual([5, expect.stringMatching(new RegExp(`^drover: run ${id}('s worker is busy: it did not take up the decision| is running, but no drover worker answered) within 15s`))]);
    await env.withWorker(taskQueue, async () => {
      // The operator sends it again: the server answers with the first update (still pending, or applied by now).
      const again = await cli(approve);
      expect([again.code, again.err]).toEqual([0, '']);
      const done = await handle.result() as { phase: string; decisions: Array<{ approver: string; decision: string }> };
      expect(done.phase).toBe('completed');
      expect(done.decisions.map((d) => [d.approver, d.decision])).toEqual([['ic-priya', 'approved']]);
    });
  });
});
