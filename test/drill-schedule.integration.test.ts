/**
 * Drill schedules (Temporal Schedules, overlap SKIP) and a drill whose check fails mid-way, on the
 * real Temporal dev server and moto.
 */
import { exec } from '../cli/main';
import type { DrillResult } from '../contracts/run';
import { DRILL_WORKFLOW_TYPE, MEMO_RUNBOOK } from '../contracts/ids';
import { captureIO, describeTopology, emulatorConfig, eventually, onlyDatabase } from './harness/fixtures';
import { drillOutcome, drillRecord, DRILLS_ANY_TIME, startDrill, useCli } from './harness/drills';
import { IntegrationEnv, STANDBY } from './harness/env';
import { startInterposer, type Interposer } from './harness/interpose';

const env = new IntegrationEnv();
const saved = { ...process.env };
let interposer: Interposer;

beforeAll(async () => {
  await env.start();
  interposer = await startInterposer(env.moto.endpoint);
});
afterAll(async () => {
  process.env = saved;
  await interposer?.stop();
  await env.stop();
});
afterEach(() => {
  env.apps.apps[STANDBY].setHealthy(true);
  interposer.disarm();
});

async function drillsOf(runbook: string): Promise<Array<{ id: string; status: string }>> {
  const out: Array<{ id: string; status: string }> = [];
  for await (const w of env.client.workflow.list({ query: `WorkflowType = '${DRILL_WORKFLOW_TYPE}'` })) {
    if (w.memo?.[MEMO_RUNBOOK] === runbook) out.push({ id: w.workflowId, status: w.status.name });
  }
  return out;
}

test('a drill schedule starts a drill when triggered; a second trigger while it runs is skipped by the overlap policy; pause, unpause and delete work', async () => {
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-sched', [DRILLS_ANY_TIME]);
  useCli(env.moto.endpoint, taskQueue);
  await env.withWorker(taskQueue, async () => {
    const created = captureIO();
    expect(await exec(['drill', 'schedule', file, '--cron', '0 3 * * 6', '--timezone', 'Asia/Kolkata', '--time-scale', '0.01'], created)).toBe(0);
    expect(created.stdout[0]).toBe(`created schedule drill-${rb.name}: "0 3 * * 6" Asia/Kolkata, overlap SKIP, catch-up 10m`);
    // The next Saturday 03:00 in Kolkata is 21:30 UTC on a Friday.
    expect(created.stdout[1]).toMatch(/^next drill: \d{4}-\d\d-\d\dT21:30:00\.000Z$/);
    expect(new Date(created.stdout[1].slice('next drill: '.length)).getUTCDay()).toBe(5);

    const triggered = captureIO();
    expect(await exec(['drill', 'trigger', rb.name], triggered)).toBe(0);
    const first = await eventually(async () => (await drillsOf(rb.name)).find((d) => d.status === 'RUNNING'), 'the scheduled drill to start');
    expect(first.id.startsWith(`drill-${rb.name}-scheduled-`)).toBe(true);
    // The trigger names the drill it started and its run (for report --run-id and audit verify --run-id).
    const runId = (await env.client.workflow.getHandle(first.id).describe()).runId;
    expect(triggered.stdout).toEqual([`triggered drill-${rb.name}: started ${first.id} (run ${runId})`]);
    const again = captureIO();
    expect(await exec(['drill', 'trigger', file], again)).toBe(0);
    expect(again.stdout).toEqual([`triggered drill-${rb.name}: skipped, drill ${first.id} is running`]);
    expect((await env.client.schedule.getHandle(`drill-${rb.name}`).describe()).info.numActionsSkippedOverlap).toBe(1);

    const drill = await drillOutcome(env.client, first.id);
    expect(drill.phase).toBe('completed');
    expect(drill.trigger).toBe('schedule');
    expect(await drillsOf(rb.name)).toEqual([{ id: first.id, status: 'COMPLETED' }]);

    expect(await exec(['drill', 'pause', rb.name], captureIO())).toBe(0);
    const listed = captureIO();
    expect(await exec(['drill', 'schedules', '--json'], listed)).toBe(0);
    expect(JSON.parse(listed.stdout.join('\n'))).toContainEqual(expect.objectContaining({ scheduleId: `drill-${rb.name}`, runbook: rb.name, cron: '0 3 * * 6', timezone: 'Asia/Kolkata', paused: true }));
    expect(await exec(['drill', 'unpause', rb.name], captureIO())).toBe(0);
    expect((await env.client.schedule.getHandle(`drill-${rb.name}`).describe()).state.paused).toBe(false);
    expect(await exec(['drill', 'delete', rb.name], captureIO())).toBe(0);
    const gone = captureIO();
    expect(await exec(['drill', 'trigger', rb.name], gone)).toBe(4);
    expect(gone.stderr[0]).toBe(`drover: no drill schedule for ${rb.name}`);
  });
});

test('a schedule whose next drills fall outside every drill window is created with a warning naming how many; one inside the windows gets none', async () => {
  // ApnaKart's own window: Saturday and Sunday, 02:00 to 06:00 in Kolkata.
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-sched-window');
  useCli(env.moto.endpoint, taskQueue);
  try {
    const outside = captureIO();
    expect(await exec(['drill', 'schedule', file, '--cron', '0 12 * * 1', '--timezone', 'Asia/Kolkata'], outside)).toBe(0);
    expect(outside.stdout[0]).toBe(`created schedule drill-${rb.name}: "0 12 * * 1" Asia/Kolkata, overlap SKIP, catch-up 10m`);
    const count = (await env.client.schedule.getHandle(`drill-${rb.name}`).describe()).info.nextActionTimes.length;
    expect(count).toBeGreaterThan(0);
    expect(outside.stderr).toEqual([`warning: none of the next ${count} drills would start in a drill window (sat,sun 02:00-06:00 Asia/Kolkata); a drill started outside every window is refused`]);

    const inside = captureIO();
    expect(await exec(['drill', 'schedule', file, '--cron', '0 3 * * 6', '--timezone', 'Asia/Kolkata'], inside)).toBe(0);
    expect(inside.stdout[0]).toBe(`updated schedule drill-${rb.name}: "0 3 * * 6" Asia/Kolkata, overlap SKIP, catch-up 10m`);
    expect(inside.stderr).toEqual([]);
  } finally {
    await env.client.schedule.getHandle(`drill-${rb.name}`).delete();
  }
});

test('a failed check during a drill stops it at once: it fails back, records what failed, and ends in the original topology', async () => {
  const { file, runbook: rb, taskQueue } = await env.seeded('ak-drill-fail', [DRILLS_ANY_TIME]);
  const seeded = await describeTopology(rb, env.moto.endpoint);
  useCli(env.moto.endpoint, taskQueue);
  // The worker reaches moto through the interposer, which holds the Route 53 change to 50% (the only change
  // that sets a weight of 50) until the standby's probes fail: the 50% soak (1.2 s at this scale) starts
  // with them failing, and the 10% soak before it saw them healthy, however slow the machine.
  const broken = interposer.intercept({
    what: 'the Route 53 change to 50%',
    match: (req) => req.operation === 'ChangeResourceRecordSets' && req.body.includes('<Weight>50</Weight>'),
    before: () => env.apps.apps[STANDBY].setHealthy(false),
  });
  await env.withWorker(taskQueue, async () => {
    const drillId = await startDrill(file);
    await broken.released;
    await eventually(async () => (await drillRecord(env.client, drillId))?.phase === 'failing-back', 'the drill to fail back');
    env.apps.apps[STANDBY].setHealthy(true);

    const drill: DrillResult = await drillOutcome(env.client, drillId);
    expect(drill.phase).toBe('failed');
    expect(drill.failure).toMatch(/^failover check failed: health breach at 50% in ap-southeast-1: probe .+; traffic reverted to 10%$/);
    expect(drill.failover?.steps.find((s) => s.id === 'traffic-100')?.status).toBe('pending');
    expect(drill.failback?.phase).toBe('completed');
    // The failback started from where traffic was (10% on the standby), never moving more of it there.
    expect(drill.failback?.steps.filter((s) => s.status === 'skipped' && s.id.startsWith('traffic-back')).map((s) => s.id)).toEqual(['traffic-back-10', 'traffic-back-50']);

    const after = await describeTopology(rb, env.moto.endpoint);
    expect(after.weights).toEqual(seeded.weights);
    expect(after.nodeGroups).toEqual(seeded.nodeGroups);
    expect(after.writer).toMatch(new RegExp(`^${onlyDatabase(rb).primary.identifier}\\.`));

    const report = captureIO();
    expect({ code: await exec(['report', drillId, '--format', 'json'], report), err: report.stderr }).toEqual({ code: 0, err: [] });
    const r = JSON.parse(report.stdout.join('\n')).report;
    expect(r.passed).toBe(false);
    expect(r.note).toBe(drill.failure);
  }, emulatorConfig(interposer.endpoint));
});
