/**
 * DR drills end to end on the real Temporal dev server and moto: a full drill and its report,
 * every refusal, and a real failover that preempts a running drill.
 */
import fs from 'node:fs';
import { EKS } from '@aws-sdk/client-eks';
import path from 'node:path';
import { defaultAuditDir } from '../audit/jsonl-store';
import { exec } from '../cli/main';
import type { Report } from '../reports/report';
import type { FailoverInput } from '../workflows/regionFailover';
import { approveUpdate, rejectUpdate } from '../contracts/messages';
import { acquireLockUpdate, lockHolderQuery, lockWorkflowId, type LockAnswer } from '../contracts/lock';
import type { createActivities } from '../activities';
import type { RunStatus } from '../contracts/run';
import type { Runbook } from '../runbooks/schema';
import type { FailbackResult } from '../workflows/failback';
import { captureIO, dbArn, describeTopology, emulatorConfig, eventually, onlyDatabase, refOf } from './harness/fixtures';
import { drillOutcome, DRILLS_ANY_TIME, startDrill, useCli } from './harness/drills';
import { IntegrationEnv, PRIMARY, STANDBY } from './harness/env';
import { startInterposer, type Interposer } from './harness/interpose';
import { testTempDir } from './harness/servers';
import { recordHistory } from './harness/timeskipping';
import { waitFor } from './harness/wait';

const env = new IntegrationEnv();
const saved = { ...process.env };
let interposer: Interposer;
type Activities = ReturnType<typeof createActivities>;

beforeAll(async () => {
  await env.start();
  interposer = await startInterposer(env.moto.endpoint);
});
afterEach(() => interposer.disarm());
afterAll(async () => {
  process.env = saved;
  await interposer?.stop();
  await env.stop();
});

/** Whether a run has been asked to cancel (its history holds the request). */
async function cancelRequested(workflowId: string): Promise<boolean> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).some((e) => e.workflowExecutionCancelRequestedEventAttributes);
}

test('a drill fails over with gates auto-approved, verifies, fails back to the original topology, and its report measures RTO from the recorded timestamps', async () => {
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-drill', [DRILLS_ANY_TIME]);
  const seeded = await describeTopology(rb, env.moto.endpoint);
  useCli(env.moto.endpoint, taskQueue);
  await env.withWorker(taskQueue, async () => {
    const io = captureIO();
    expect(await exec(['drill', 'run', file, '--time-scale', '0.01', '--json'], io)).toBe(0);
    const drill = JSON.parse(io.stdout.join('\n'));
    expect(drill.phase).toBe('completed');
    expect(io.stderr.join('\n')).toContain(`== failover (drill mode): ${drill.failoverId}`);
    expect(io.stderr.join('\n')).toContain(`== automatic failback: ${drill.failbackId}`);
    // Both gates were approved by the drill, not by a person.
    expect([...drill.failover.decisions, ...drill.failback.decisions]).toEqual([
      expect.objectContaining({ gate: 'failover', approver: 'drover-drill', decision: 'approved' }),
      expect.objectContaining({ gate: 'failback', approver: 'drover-drill', decision: 'approved' }),
    ]);
    expect(drill.failover.drill).toBe(drill.workflowId);

    // Back where it started: weights, capacities, writer in the primary region, replica in the standby.
    const after = await describeTopology(rb, env.moto.endpoint);
    expect(after.weights).toEqual(seeded.weights);
    expect(after.nodeGroups).toEqual(seeded.nodeGroups);
    expect(after.writer).toMatch(new RegExp(`^${onlyDatabase(rb).primary.identifier}\\.`));
    expect(after.replica.source).toBe(dbArn(PRIMARY, onlyDatabase(rb).primary.identifier));
    // drills.retention defaults to delete: what the drill's failback replaced is gone, each after its final snapshot (which stays).
    const db = onlyDatabase(rb);
    const tag = (drill.failback as RunStatus).runId.replace(/-/g, '').slice(-8);
    expect((drill.failback as FailbackResult).topology.retired).toEqual([
      { region: PRIMARY, identifier: db.primary.identifier, action: 'deleted', snapshot: `${db.primary.identifier}-final-${tag}` },
      { region: STANDBY, identifier: db.replica.identifier, action: 'deleted', snapshot: `${db.replica.identifier}-final-${tag}` },
    ]);
    const kept = captureIO();
    expect(await exec(['cleanup', file], kept)).toBe(0);
    expect(kept.stdout).toEqual([`${rb.name}: no retained instance in ${PRIMARY} or ${STANDBY}`]);

    const json = captureIO();
    expect(await exec(['report', drill.workflowId, '--format', 'json'], json)).toBe(0);
    const report = JSON.parse(json.stdout.join('\n')).report as Report;
    const failover = drill.failover as RunStatus;
    const verify = failover.steps.find((s) => s.id === 'verify');
    expect(report.rto.ms).toBe((verify?.endedAt ?? 0) - failover.startedAt);
    // Run at --time-scale 0.01, so its RTO is never judged against the objective, and the drill does not pass.
    expect(report.rto).toMatchObject({ met: false, timeScale: 0.01, objectiveMs: 900_000 });
    expect(report.checks.find((c) => c.name === 'rto')).toEqual({ name: 'rto', passed: false, detail: `${report.rto.ms} ms, not judged against the objective of 900000 ms: a time-scaled run (×0.01), its soaks compressed` });
    expect(report.rpo.lagSeconds).toBe(0);
    expect(report.rpo.met).toBe(true);
    expect(report.passed).toBe(false);
    expect(report.steps.map((s) => `${s.run}:${s.id}`)).toEqual(expect.arrayContaining(['failover:promote-database', 'failback:switchover-db']));

    const md = captureIO();
    expect(await exec(['report', drill.workflowId], md)).toBe(0);
    expect(md.stdout.join('\n')).toContain(drill.workflowId);

    const status = captureIO();
    expect(await exec(['status', drill.workflowId], status)).toBe(0);
    expect(status.stdout[0]).toBe(`drill ${drill.workflowId} of ${rb.name} (manual, requested by ${drill.requestedBy}): completed`);
    expect(status.stdout).toEqual(expect.arrayContaining([`== failover (drill mode): ${drill.failoverId}`, `== automatic failback: ${drill.failbackId}`]));

    const history = captureIO();
    expect(await exec(['drill', 'history', rb.name, '--json'], history)).toBe(0);
    expect(JSON.parse(history.stdout.join('\n'))).toEqual([expect.objectContaining({ workflowId: drill.workflowId, rtoMs: report.rto.ms, passed: false })]);

    // One command verifies the drill's trail and every child run's (found in Temporal's histories), each against its own record.
    const tree = [drill.workflowId, drill.failoverId, `${drill.failoverId}-promote`, drill.failbackId, `${drill.failbackId}-switchover`];
    const verified = captureIO();
    expect(await exec(['audit', 'verify', drill.workflowId, '--children'], verified)).toBe(0);
    expect(verified.stderr).toEqual([]);
    expect(verified.stdout.filter((l) => l.startsWith('audit of '))).toEqual([
      ...tree.map((id) => expect.stringMatching(new RegExp(`^audit of ${id} verified: \\d+ events, head [0-9a-f]{64}$`))),
      `audit of ${drill.workflowId} and its 4 child runs: all 5 trails verified (${tree.join(', ')})`,
    ]);

    // A copy of the trails with one event of the promotion's rewritten: that trail fails, named; the other four still verify.
    const dir = testTempDir('drill-audit-');
    fs.cpSync(defaultAuditDir(), dir, { recursive: true });
    const promoteDir = path.join(dir, rb.name, `${drill.failoverId}-promote`);
    const [trailFile] = fs.readdirSync(promoteDir);
    const lines = fs.readFileSync(path.join(promoteDir, trailFile), 'utf8').trimEnd().split('\n');
    lines[0] = JSON.stringify({ ...(JSON.parse(lines[0]) as object), detail: 'rewritten by an attacker' });
    fs.writeFileSync(path.join(promoteDir, trailFile), `${lines.join('\n')}\n`);
    const promoteRun = trailFile.replace(/\.jsonl$/, '');
    const tampered = captureIO();
    expect(await exec(['audit', 'verify', drill.workflowId, '--children', '--dir', dir], tampered)).toBe(1);
    expect(tampered.stdout.filter((l) => l.startsWith('audit of ')).map((l) => l.split(' ')[2])).toEqual(tree.filter((id) => id !== `${drill.failoverId}-promote`));
    expect(tampered.stderr[0]).toBe(`drover: audit of ${drill.failoverId}-promote FAILED verification (run ${promoteRun})`);
    expect(tampered.stderr.slice(-2)).toEqual([`drover: audit of ${drill.workflowId} and its 4 child runs: 1 of 5 trails FAILED verification`, `  ${drill.failoverId}-promote (run ${promoteRun})`]);

    // Storage that cannot be reached is "could not be checked" (exit 5), never "failed verification".
    const offline = captureIO();
    const endpoint = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
    try {
      expect(await exec(['audit', 'verify', drill.workflowId, '--children', '--store', 's3', '--bucket', 'drover-audit-unreachable', '--region', STANDBY], offline)).toBe(5);
    } finally {
      process.env.AWS_ENDPOINT_URL = endpoint;
    }
    const summary = offline.stderr.indexOf(`drover: audit of ${drill.workflowId} and its 4 child runs: 5 of 5 trails could not be checked`);
    expect(summary).toBeGreaterThan(0);
    expect(offline.stderr.slice(summary + 1)).toEqual(tree.map((id) => expect.stringMatching(new RegExp(`^  ${id} \\(run [0-9a-f-]+\\): not checked \\(exit 5\\)$`))));
  });
});

test('drill run --plan says it would start, then plans the failover with gates the drill approves and the failback deleting what it replaces; reads only', async () => {
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-drill-plan', [DRILLS_ANY_TIME]);
  useCli(interposer.endpoint, taskQueue);
  const mark = interposer.log().length;
  const io = captureIO();
  expect(await exec(['drill', 'run', file, '--plan'], io)).toBe(0);
  expect(io.stderr).toEqual([]);
  expect([...new Set(interposer.log().slice(mark).map((r) => r.operation))].filter((op) => !/^(Describe|List|Get)/.test(op))).toEqual([]);
  const out = io.stdout;
  expect(out.slice(0, 3)).toEqual([`plan: drill of ${rb.name}: a planned failover ${PRIMARY} -> ${STANDBY}, then the automatic failback (a plan only: nothing was changed)`, 'would start now: yes', '== failover (drill mode)']);
  const auto = '       approved automatically in a drill, as drover-drill (drills.autoApprove)';
  expect(out.filter((l) => l === auto)).toHaveLength(2);
  const back = out.indexOf('== automatic failback (after the failover; a drill that never promoted rolls back instead)');
  expect(back).toBeGreaterThan(3);
  expect(out[back + 1]).toBe('steps:');
  // drills.retention (default delete), not the database's keep.
  expect(out.slice(back)).toEqual(expect.arrayContaining(['       main: fence with apnakart-db-fence, final snapshot, then delete it (kept renamed instead if deletion protection is on)']));
  expect(out.at(-1)).toMatch(/^estimated drill: \S+ excluding approval waits \(failover and failback estimates added\)/);

  const json = captureIO();
  expect(await exec(['drill', 'run', file, '--plan', '--json'], json)).toBe(0);
  const plan = JSON.parse(json.stdout.join('\n'));
  expect({ kind: plan.kind, refusals: plan.refusals, failover: plan.failover.kind, failback: plan.failback.kind }).toEqual({ kind: 'drill', refusals: [], failover: 'failover', failback: 'failback' });
  expect(plan.estimate.ms).toBe(plan.failover.estimate.rtoMs + plan.failback.estimate.rtoMs);
});

test('drills are refused, with the reason and nothing changed: not opted in, outside the window, a real failover active, within the cooldown', async () => {
  const { file: optedOut, taskQueue } = await env.seeded('ak-drill-no', [[['drills', 'enabled'], false]]);
  useCli(env.moto.endpoint, taskQueue);
  const no = captureIO();
  expect(await exec(['drill', 'run', optedOut, '--detach'], no)).toBe(3);
  expect(no.stderr.join('\n')).toContain('drills are not enabled for');
  const noPlan = captureIO();
  expect(await exec(['drill', 'run', optedOut, '--plan'], noPlan)).toBe(0);
  expect(noPlan.stdout.slice(1, 3)).toEqual(['would start now: no, it would be refused:', expect.stringMatching(/^ {2}- drills are not enabled for ak-drill-no-\d+-\d+: set drills.enabled: true \(and a window\) in the runbook$/)]);

  // Every day but today and tomorrow (UTC), so the test cannot straddle a window edge.
  const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
  const today = new Date().getUTCDay();
  const otherDays = days.filter((_, i) => i !== today && i !== (today + 1) % 7);
  const { file: closed, runbook: closedRb, taskQueue: closedQueue } = await env.seeded('ak-drill-window', [[['drills'], { enabled: true, windows: [{ days: otherDays, from: '00:00', to: '24:00', timezone: 'UTC' }] }]]);
  const seededClosed = await describeTopology(closedRb, env.moto.endpoint);
  useCli(env.moto.endpoint, closedQueue);
  await env.withWorker(closedQueue, async () => {
    const io = captureIO();
    expect(await exec(['drill', 'run', closed, '--json'], io)).toBe(3);
    expect(io.stderr.join('\n')).toMatch(/refused: .* is outside the drill windows \(\w{3}(,\w{3}){4} 00:00-24:00 UTC\)/);
    expect(await describeTopology(closedRb, env.moto.endpoint)).toEqual(seededClosed);
  });

  const { file, runbook: rb, taskQueue: q } = await env.seeded('ak-drill-busy', [DRILLS_ANY_TIME]);
  useCli(env.moto.endpoint, q);
  await env.withWorker(q, async () => {
    const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'real outage', requestedBy: 'ic-test', options: { timeScale: 0.01 } };
    const real = await env.client.workflow.start('regionFailover', { taskQueue: q, workflowId: `failover-${rb.name}`, args: [input] });
    await eventually(async () => (await real.query<RunStatus>('status')).pendingGate, 'the real failover gate');
    const busy = captureIO();
    expect(await exec(['drill', 'run', file], busy)).toBe(3);
    expect(busy.all()).toContain(`refused: a real failover of ${rb.name} is active (failover-${rb.name})`);

    await real.executeUpdate(rejectUpdate, { args: [{ gate: 'failover', approver: 'ic-priya', reason: 'false alarm' }] });
    await real.result().catch(() => undefined);
    const cooling = captureIO();
    expect(await exec(['drill', 'run', file], cooling)).toBe(3);
    expect(cooling.all()).toMatch(new RegExp(`refused: a real failover \\(failover-${rb.name}\\) ended at \\S+, less than the cooldown of 1h ago; drills are allowed again from \\S+`));
    // The plan says so too, with the same reason, and exits 0 (it is a plan).
    const planned = captureIO();
    expect(await exec(['drill', 'run', file, '--plan'], planned)).toBe(0);
    expect(planned.stdout[1]).toBe('would start now: no, it would be refused:');
    expect(planned.stdout[2]).toMatch(new RegExp(`^  - a real failover \\(failover-${rb.name}\\) ended at \\S+, less than the cooldown of 1h ago; drills are allowed again from \\S+$`));
  });
});

test('a real failover started during a drill, past its promotion, cancels the drill, which hands the standby it promoted over; the failover resumes from it and completes', async () => {
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-drill-preempt', [DRILLS_ANY_TIME]);
  useCli(env.moto.endpoint, taskQueue);
  // The drill's failover must still be running when the real failover preempts it. The interposer holds
  // the first alarm read of the drill's 50% soak (the first DescribeAlarms after the change to 50% landed)
  // until the drill has been asked to cancel: the soak cannot end before the preemption, however slow the machine.
  let drillId = '';
  const mark = interposer.log().length;
  const soaking = interposer.intercept({
    what: "the first alarm read of the drill's 50% soak",
    match: (req) => req.operation === 'DescribeAlarms' && interposer.log().slice(mark).some((r) => r.operation === 'ChangeResourceRecordSets' && r.body.includes('<Weight>50</Weight>') && r.status === 200),
    before: () => waitFor(() => cancelRequested(drillId), { what: 'the drill to be cancelled', timeoutMs: 120_000 }).then(() => undefined),
  });
  await env.withWorker(taskQueue, async () => {
    drillId = await startDrill(file);
    await soaking.held;
    expect((await env.client.workflow.getHandle(`${drillId}-failover`).query<RunStatus>('status')).currentStep).toBe('traffic-50');

    const io = captureIO();
    expect(await exec(['failover', file, '--to', STANDBY, '--reason', 'real outage in Mumbai', '--time-scale', '0.01', '--detach'], io)).toBe(0);
    await soaking.released;
    const real = env.client.workflow.getHandle(`failover-${rb.name}`);
    await eventually(async () => (await real.query<RunStatus>('status')).pendingGate, 'the real failover gate', 120_000);

    // By the time the real failover asks for approval, the drill has closed. It was past its promotion, and RDS cleared
    // the standby's source (the fidelity rule answers as RDS): it handed the standby over rather than fail back.
    const drill = await drillOutcome(env.client, drillId);
    expect(drill.phase).toBe('cancelled');
    expect(drill.failure).toContain('drill cancelled during the failover');
    expect(drill.handedOverTo).toBe(`failover-${rb.name}`);
    expect(drill.failure).toContain(`handed over to the real failover failover-${rb.name}, which resumes from ${onlyDatabase(rb).replica.identifier} (promoted by this drill); no failback`);
    expect(drill.failback).toBeUndefined();
    // The cancelled failover still wrote its whole audit trail, run end included.
    expect(drill.failover?.error?.message).not.toContain('audit trail could not be written');
    expect(drill.failover?.audit?.events).toBeGreaterThan(0);
    expect(drill.audit?.events).toBeGreaterThan(0);
    const verified = captureIO();
    expect(await exec(['audit', 'verify', drill.failoverId], verified)).toBe(0);
    const status = await real.query<RunStatus>('status');
    expect(status.steps.find((s) => s.id === 'preempt-drills')?.notes).toEqual([`cancelled, and ended (failed back, or handed over its promoted standby): ${drillId}`]);

    await real.executeUpdate(approveUpdate, { args: [{ gate: 'failover', approver: 'ic-priya' }] });
    const done = (await real.result()) as RunStatus;
    expect(done.phase).toBe('completed');
    expect(done.steps.find((s) => s.id === 'preflight')?.notes).toContain(`${onlyDatabase(rb).replica.identifier} was promoted by an earlier drover run: this failover resumes from there`);
    const after = await describeTopology(rb, env.moto.endpoint);
    expect(after.weights[`api.${rb.dns.hostedZone}`]).toEqual({ [PRIMARY]: 0, [STANDBY]: 100 });
    expect(after.writer).toBe(after.replica.endpoint);
  }, emulatorConfig(interposer.endpoint));
});

/** An EKS client straight to this file's moto. */
const eksIn = (region: string) => new EKS({ region, endpoint: env.moto.endpoint, credentials: { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' } });

/** Every node group's scaling (min, desired, max) of the runbook's clusters, by region/cluster/group. */
async function scalingOfAll(rb: Runbook): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const c of rb.compute.clusters) {
    const eks = eksIn(c.region);
    for (const g of c.nodeGroups) out[`${c.region}/${c.name}/${g.name}`] = (await eks.describeNodegroup({ clusterName: c.name, nodegroupName: g.name })).nodegroup?.scalingConfig;
  }
  return out;
}

test("given node groups whose floors differ from their sizes (as an autoscaler leaves them), a drill's failover raises them and its failback restores every group's min, desired and max exactly, saying so", async () => {
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-drill-floors', [DRILLS_ANY_TIME]);
  // The team's scaling: floors below the sizes, ceilings above.
  for (const c of rb.compute.clusters) {
    const eks = eksIn(c.region);
    for (const g of c.nodeGroups) {
      const desired = c.region === PRIMARY ? g.active : g.standby;
      await eks.updateNodegroupConfig({ clusterName: c.name, nodegroupName: g.name, scalingConfig: { minSize: Math.max(0, desired - 1), desiredSize: desired, maxSize: Math.max(g.max ?? 0, g.active) + 2 } });
    }
  }
  const team = await scalingOfAll(rb);
  useCli(env.moto.endpoint, taskQueue);
  await env.withWorker(taskQueue, async () => {
    const io = captureIO();
    expect(await exec(['drill', 'run', file, '--time-scale', '0.01', '--json'], io)).toBe(0);
    const drill = JSON.parse(io.stdout.join('\n'));
    expect(drill.phase).toBe('completed');
    // The failover set its targets (min = desired = active) on the standby, as the runbook says during a run.
    expect(drill.failover.steps.find((s: { id: string }) => s.id === 'scale-compute').status).toBe('done');
    const returned = (drill.failback as RunStatus).steps.find((s) => s.id === 'return-standby')?.notes ?? [];
    expect(returned.filter((n) => n.includes('(as the team had it)')).length).toBeGreaterThanOrEqual(1);
    // The drill proves the round trip: its failback compared with its own failover's fingerprint, and its report's check.
    expect((drill.failback as RunStatus).roundTrip).toEqual({ baseline: drill.failoverId, baselineTakenAt: expect.any(String), differences: [], restoredExactly: true });
    const shown = captureIO();
    expect(await exec(['report', drill.workflowId, '--format', 'json'], shown)).toBe(0);
    expect((JSON.parse(shown.stdout.join('\n')).report as Report).checks).toContainEqual({ name: 'round-trip', passed: true, detail: `restored exactly: equal, field by field, to what ${drill.failoverId} found before its first change` });
    // `DROVER_RECORD_HISTORIES=<dir> npx jest test/drill.integration.test.ts -t 'floors differ'` records the failback for the replay tests.
    await recordHistory(env.client.workflow.getHandle(drill.failbackId), 'failback-capacity-restored.json');
  });
  expect(await scalingOfAll(rb)).toEqual(team);
});

/**
 * In front of the worker's real `takeRunbook`: each run's call waits until the test lets that run's ask through, then
 * runs the real activity (a retried attempt passes at once). So two runs can reach the lock together, in an order
 * the test chooses, after both passed their own checks.
 */
function lockTurnstile() {
  type Turn = { arrived: () => void; reached: Promise<void>; go: () => void; open: Promise<void>; answered: (a: Promise<LockAnswer>) => void; answer: Promise<LockAnswer> };
  const runs = new Map<string, Turn>();
  const of = (workflowId: string): Turn => {
    const known = runs.get(workflowId);
    if (known) return known;
    const r = {} as Turn;
    r.reached = new Promise<void>((res) => (r.arrived = res));
    r.open = new Promise<void>((res) => (r.go = res));
    r.answer = new Promise<LockAnswer>((res) => (r.answered = res));
    runs.set(workflowId, r);
    return r;
  };
  return {
    wrap: (a: Activities): Activities => ({
      ...a,
      takeRunbook: async (input) => {
        const r = of(input.workflowId);
        r.arrived();
        await r.open;
        const answer = a.takeRunbook(input);
        r.answered(answer); // the first attempt's answer (a later one does not replace it)
        return answer;
      },
    }),
    reached: (workflowId: string) => of(workflowId).reached,
    /** Let `workflowId` ask, and return the lock's answer to its first attempt. */
    go: (workflowId: string): Promise<LockAnswer> => {
      const r = of(workflowId);
      r.go();
      return r.answer;
    },
  };
}

test.each([
  ['the drill asks first: it is granted, then the real failover takes the runbook from it before the drill changed anything', 'drill'],
  ['the real failover asks first: the lock refuses the drill', 'real'],
  ['both ask within the same milliseconds', 'together'],
] as const)('a drill and a real failover that both passed their own checks reach the lock together (%s): only the real one changes AWS', async (_, order) => {
  const { runbook: rb, taskQueue } = await env.seeded(`ak-race-${order}`, [DRILLS_ANY_TIME]);
  const seeded = await describeTopology(rb, env.moto.endpoint);
  const turnstile = lockTurnstile();
  await env.withWorker(
    taskQueue,
    async () => {
      const drillId = `drill-${rb.name}-race`;
      const failoverId = `failover-${rb.name}`;
      const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'real outage', requestedBy: 'ic-test', options: { timeScale: 0.01 } };
      // The drill passes its checks (no real run exists yet) and waits at the lock; the real failover starts then, so
      // neither the drill's checks nor the visibility list can order them: only the lock can.
      await env.client.workflow.start('drill', { taskQueue, workflowId: drillId, args: [{ runbookRef: refOf(rb), trigger: 'manual', requestedBy: 'sre-test', options: { timeScale: 0.01 } }] });
      await turnstile.reached(drillId);
      const real = await env.client.workflow.start('regionFailover', { taskQueue, workflowId: failoverId, args: [input] });
      await turnstile.reached(failoverId);
      if (order === 'drill') {
        expect(await turnstile.go(drillId)).toEqual({ granted: true, drills: [] });
        expect(await turnstile.go(failoverId)).toEqual({ granted: true, drills: [drillId] });
      } else if (order === 'real') {
        expect(await turnstile.go(failoverId)).toEqual({ granted: true, drills: [] });
        expect(await turnstile.go(drillId)).toMatchObject({ granted: false, heldBy: { workflowId: failoverId, kind: 'failover', drill: false } });
      } else {
        await Promise.all([turnstile.go(drillId), turnstile.go(failoverId)]);
      }
      await eventually(async () => (await real.query<RunStatus>('status')).pendingGate, 'the real failover gate', 120_000);
      const drill = await drillOutcome(env.client, drillId);
      const preempt = (await real.query<RunStatus>('status')).steps.find((s) => s.id === 'preempt-drills')?.notes;
      if (drill.phase === 'refused') {
        expect(order).not.toBe('drill');
        expect(drill.refusals).toEqual([`a failover of ${rb.name} is running (${failoverId}); one run per runbook at a time, so this drill changed nothing`]);
        expect(drill.failover).toBeUndefined();
      } else {
        expect(order).not.toBe('real');
        expect(drill.phase).toBe('cancelled');
        // Its failover stopped before its first change: no step that acts ran.
        expect((drill.failover?.steps ?? []).filter((s) => s.group === 'act' && s.status !== 'skipped' && s.status !== 'pending')).toEqual([]);
        expect(preempt).toEqual([`cancelled, and ended (failed back, or handed over its promoted standby): ${drillId}`]);
      }
      // Nothing the drill did is left: the topology is as seeded while the real failover waits at its gate.
      expect(await describeTopology(rb, env.moto.endpoint)).toEqual(seeded);
      expect(await env.client.workflow.getHandle(lockWorkflowId(rb.name)).query(lockHolderQuery)).toMatchObject({ workflowId: failoverId, kind: 'failover', drill: false });

      await real.executeUpdate(approveUpdate, { args: [{ gate: 'failover', approver: 'ic-priya' }] });
      const done = (await real.result()) as RunStatus;
      expect(done.phase).toBe('completed');
      // The drill ended before the real failover's first change.
      const firstChange = Math.min(...done.steps.filter((s) => s.group === 'act').map((s) => s.startedAt ?? Infinity));
      expect(drill.endedAt).toBeLessThan(firstChange);
      expect((await describeTopology(rb, env.moto.endpoint)).weights[`api.${rb.dns.hostedZone}`]).toEqual({ [PRIMARY]: 0, [STANDBY]: 100 });
    },
    undefined,
    { wrap: turnstile.wrap },
  );
});

test('the lock passes only from a run that has ended (read by the lock, not claimed), holds only running drover runs of its runbook (read, not claimed), and a lock no worker serves is reported at once', async () => {
  const { runbook: rb, taskQueue } = await env.seeded('ak-lock-stale', []);
  await env.withWorker(taskQueue, async () => {
    const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'real outage', requestedBy: 'ic-test', options: { timeScale: 0.01 } };
    const first = await env.client.workflow.start('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [input] });
    await eventually(async () => (await first.query<RunStatus>('status')).pendingGate, 'the first failover gate', 120_000);
    const lock = env.client.workflow.getHandle(lockWorkflowId(rb.name));
    expect(await lock.query(lockHolderQuery)).toEqual({ workflowId: `failover-${rb.name}`, runId: first.firstExecutionRunId, kind: 'failover', drill: false, mode: 'planned' });

    // Sent by hand (anyone who may send updates): a malformed ask is refused before it is recorded; an ask for a run
    // that is not a drover run of this runbook asking right now is refused by the lock, which reads who asks.
    await expect(lock.executeUpdate(acquireLockUpdate, { args: [{ holder: 'me' } as unknown as { workflowId: string }] })).rejects.toMatchObject({ cause: { message: 'acquire: expected { workflowId } of the run that asks' } });
    await expect(lock.executeUpdate(acquireLockUpdate, { args: [{ workflowId: `failback-${rb.name}` }] })).rejects.toMatchObject({ cause: { message: `failback-${rb.name} is not a drover run of ${rb.name} on task queue ${taskQueue} asking for it: it may not hold the runbook` } });
    await expect(lock.executeUpdate(acquireLockUpdate, { args: [{ workflowId: lockWorkflowId(rb.name) }] })).rejects.toMatchObject({ cause: { message: expect.stringContaining('is not a drover run') } });
    // Even naming the live holder: it is not asking now (no takeRunbook pending), so nothing is granted or changed.
    await expect(lock.executeUpdate(acquireLockUpdate, { args: [{ workflowId: `failover-${rb.name}` }] })).rejects.toMatchObject({ cause: { message: expect.stringContaining('asking for it') } });
    expect(await lock.query(lockHolderQuery)).toEqual({ workflowId: `failover-${rb.name}`, runId: first.firstExecutionRunId, kind: 'failover', drill: false, mode: 'planned' });

    // A cancel request to the lock is ignored: it keeps its holder, and answers the next acquire below.
    await lock.cancel();
    expect(await lock.query(lockHolderQuery)).toEqual({ workflowId: `failover-${rb.name}`, runId: first.firstExecutionRunId, kind: 'failover', drill: false, mode: 'planned' });

    // Terminated (never the way to stop a run): the lock reads that it has ended and passes it to the next run.
    await first.terminate('the test stands for a terminate');
    const second = await env.client.workflow.start('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [input] });
    await eventually(async () => (await second.query<RunStatus>('status')).pendingGate, 'the second failover gate', 120_000);
    expect(await lock.query(lockHolderQuery)).toEqual({ workflowId: `failover-${rb.name}`, runId: second.firstExecutionRunId, kind: 'failover', drill: false, mode: 'planned' });
    await second.executeUpdate(rejectUpdate, { args: [{ gate: 'failover', approver: 'ic-priya', reason: 'test over' }] });
    await second.result().catch(() => undefined);

    // A lock started where no worker of this deployment serves it: the next run is refused at once, saying how to clear it.
    await lock.terminate('the test moves it');
    await env.client.workflow.start('runbookLock', { taskQueue: `${taskQueue}-nobody`, workflowId: lockWorkflowId(rb.name), args: [{ displaced: [] }] });
    const third = await env.client.workflow.start('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [input] });
    const failed = await third.result().then(() => undefined, (e: { cause?: { type?: string; message?: string } }) => e.cause);
    expect(failed?.type).toBe('InvalidState');
    expect(failed?.message).toContain(`runs as runbookLock on task queue ${taskQueue}-nobody, not as runbookLock on ${taskQueue} where this worker serves it`);
    await lock.terminate('the test is over');
  });
});

test("a terminated failover keeps the runbook while the promotion it asked to cancel (REQUEST_CANCEL) still runs: the next run is refused, naming it, until the promotion has compensated and closed", async () => {
  const { runbook: rb, taskQueue } = await env.seeded('ak-lock-child', []);
  const db = onlyDatabase(rb);
  const input: FailoverInput = { runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'real outage', requestedBy: 'ic-test', options: { timeScale: 0.01 } };
  const promote = (n: number) => env.client.workflow.start('promoteReplica', { taskQueue, workflowId: `promote-${rb.name}-${n}`, args: [{ runbookRef: refOf(rb), toRegion: STANDBY, mode: 'planned', reason: 'test', requestedBy: 'ic-test' }] });
  const child = env.client.workflow.getHandle(`failover-${rb.name}-promote`);
  // The promotion's fence (ModifyDBInstance on the primary, answered to its end even when cancelled) is held while the
  // failover is terminated and the next run asks for the runbook: the promotion is still running, whatever the machine's speed.
  let refused: { type?: string; message?: string } | undefined;
  let refusedAgain: { type?: string; message?: string } | undefined;
  let childWhileRefused = '';
  const fencing = interposer.intercept({
    what: "the promotion's fence of the primary",
    match: (req) => req.operation === 'ModifyDBInstance' && req.region === PRIMARY && req.body.includes(db.primary.identifier),
    before: async () => {
      await env.client.workflow.getHandle(`failover-${rb.name}`).terminate('the test stands for a terminate');
      await waitFor(() => cancelRequested(child.workflowId), { what: 'the promotion to be asked to cancel', timeoutMs: 60_000 });
      const first = await promote(1);
      refused = await first.result().then(() => undefined, (e: { cause?: { type?: string; message?: string } }) => e.cause);
      // The usual next step, the same failover run again under its own id: refused too.
      const again = await env.client.workflow.start('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [input] });
      refusedAgain = await again.result().then(() => undefined, (e: { cause?: { type?: string; message?: string } }) => e.cause);
      childWhileRefused = (await child.describe()).status.name;
    },
  });
  await env.withWorker(taskQueue, async () => {
    const failover = await env.client.workflow.start('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [input] });
    await eventually(async () => (await failover.query<RunStatus>('status')).pendingGate, 'the failover gate', 120_000);
    await failover.executeUpdate(approveUpdate, { args: [{ gate: 'failover', approver: 'ic-priya' }] });
    await fencing.released;

    expect(childWhileRefused).toBe('RUNNING');
    expect(refused?.type).toBe('RunbookBusy');
    const held = `a failover of ${rb.name} (failover-${rb.name}) was terminated, and the runs it asked to cancel still run, compensating: failover-${rb.name}-promote`;
    expect(refused?.message).toBe(`${held}; one run per runbook at a time, so this promote changed nothing`);
    expect([refusedAgain?.type, refusedAgain?.message]).toEqual(['RunbookBusy', `${held}; one run per runbook at a time, so this failover changed nothing`]);

    // The promotion compensates (its fence is undone) and closes; then the runbook passes to the next run.
    await waitFor(async () => (await child.describe()).status.name !== 'RUNNING', { what: 'the promotion to close', timeoutMs: 120_000 });
    const after = await describeTopology(rb, env.moto.endpoint);
    expect([after.replicaPromotedTag, after.replica.source]).toEqual([false, expect.any(String)]);
    const second = await promote(2);
    await eventually(async () => (await second.query<RunStatus>('status')).pendingGate, 'the second promotion gate', 120_000);
    expect(await env.client.workflow.getHandle(lockWorkflowId(rb.name)).query(lockHolderQuery)).toMatchObject({ workflowId: `promote-${rb.name}-2`, kind: 'promote' });
    await second.executeUpdate(rejectUpdate, { args: [{ gate: 'failover', approver: 'ic-priya', reason: 'test over' }] });
    await second.result().catch(() => undefined);
    // `DROVER_RECORD_HISTORIES=<dir> npx jest test/drill.integration.test.ts -t 'terminated failover keeps'` records the lock for the replay tests.
    await recordHistory(env.client.workflow.getHandle(lockWorkflowId(rb.name)), 'runbook-lock-children.json');
  }, emulatorConfig(interposer.endpoint));
});

test('a real failover that takes the runbook from a terminated drill waits, in preempt-drills, until the children the drill asked to cancel have closed', async () => {
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-drill-term', [DRILLS_ANY_TIME]);
  useCli(interposer.endpoint, taskQueue);
  const db = onlyDatabase(rb);
  let drillId = '';
  let stepWhileHeld: string | undefined;
  const real = env.client.workflow.getHandle(`failover-${rb.name}`);
  // The drill's promotion fence is held while the drill is terminated and the real failover starts: its children are
  // still running (the fence is answered to its end, then undone) when the real failover asks for the runbook.
  const fencing = interposer.intercept({
    what: "the drill's promotion fence of the primary",
    match: (req) => req.operation === 'ModifyDBInstance' && req.region === PRIMARY && req.body.includes(db.primary.identifier),
    before: async () => {
      await env.client.workflow.getHandle(drillId).terminate('the test stands for a terminate');
      await waitFor(() => cancelRequested(`${drillId}-failover`), { what: "the drill's failover to be asked to cancel", timeoutMs: 60_000 });
      const io = captureIO();
      expect(await exec(['failover', file, '--to', STANDBY, '--reason', 'real outage in Mumbai', '--time-scale', '0.01', '--detach'], io)).toBe(0);
      await eventually(async () => ((await real.describe()).raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'preemptDrills'), 'the real failover to wait in preempt-drills', 60_000);
      await new Promise((r) => setTimeout(r, 2000));
      stepWhileHeld = (await real.query<RunStatus>('status')).currentStep;
    },
  });
  await env.withWorker(taskQueue, async () => {
    drillId = await startDrill(file);
    await fencing.released;
    expect(stepWhileHeld).toBe('preempt-drills');
    await eventually(async () => (await real.query<RunStatus>('status')).pendingGate, 'the real failover gate', 120_000);
    // By then the drill's failover and its promotion have closed, the fence undone.
    for (const id of [`${drillId}-failover`, `${drillId}-failover-promote`]) expect((await env.client.workflow.getHandle(id).describe()).status.name).not.toBe('RUNNING');
    expect((await real.query<RunStatus>('status')).steps.find((s) => s.id === 'preempt-drills')?.notes).toEqual([`cancelled, and ended (failed back, or handed over its promoted standby): ${drillId}`]);
    await real.executeUpdate(rejectUpdate, { args: [{ gate: 'failover', approver: 'ic-priya', reason: 'test over' }] });
    await real.result().catch(() => undefined);
  }, emulatorConfig(interposer.endpoint));
});
