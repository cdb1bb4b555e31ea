/**
 * Region loss under worker kills: an unplanned failover through the data plane (docs/region-loss.md), the primary
 * region lost (the fault proxy's region-loss model), its `drover worker` process SIGKILLed twice in the step that
 * flips the primary's control: once after the PutMetricData landed with its answer lost, once in the wait for the
 * alarm to read ALARM. The run completes, no request reaches the lost region, and the control is flipped once
 * (every datapoint sent says withdrawn, none restored).
 */
import type { RunStatus } from '../../contracts/run';
import { controlOf } from '../../contracts/controls';
import { callsTo, regionLoss } from '../../infra/faults/proxy';
import { prepareRunbook, refOf } from '../harness/fixtures';
import type { TapEntry } from './tap';
import { ChaosWorld, PRIMARY, report, sleep, STANDBY } from './world';

const world = new ChaosWorld();
const lines: string[] = [];

beforeAll(() => world.start(), 120_000);
afterAll(async () => {
  report('region loss: worker kills in the flip of the control', lines);
  await world.stop();
});

test('given the primary region lost and the worker SIGKILLed after the control datapoint landed and again mid-wait for ALARM, the unplanned failover completes and the control is flipped once', async () => {
  const seeded = await world.seed('ak-rl-kill', [[['approvals', 'gates'], []]]);
  const rb = seeded.runbook;
  await prepareRunbook(rb, world.moto.endpoint);
  const channel = await world.channel({ tap: true, rules: regionLoss(PRIMARY) });
  const worker = world.worker(seeded.taskQueue, channel.endpoint);
  const tap = channel.tap as NonNullable<typeof channel.tap>;
  const spec = controlOf(rb, PRIMARY);
  const isPut = (e: TapEntry) => e.operation === 'PutMetricData' && e.region === STANDBY;

  const handle = await world.client.workflow.start('regionFailover', {
    taskQueue: seeded.taskQueue,
    workflowId: `failover-${rb.name}`,
    args: [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'unplanned', reason: 'chaos: region lost', requestedBy: 'ic-chaos', options: { timeScale: 0.05 } }],
  });

  // 1. The datapoint landed; its answer never comes back: the worker dies.
  const put = await tap.hold({ label: 'PutMetricData landed, answer lost', mode: 'response', match: isPut });
  const deadline = Date.now() + 10_000;
  while (tap.log().find((e) => e.seq === put.entry.seq)?.status === undefined && Date.now() < deadline) await sleep(20);
  await worker.kill();
  lines.push(`kill 1: ${put.entry.operation} ${put.entry.region} landed (HTTP ${tap.log().find((e) => e.seq === put.entry.seq)?.status}), answer withheld`);
  // 2. Restarted; killed again while it reads the alarm (the hold keeps that read from landing).
  const read = tap.hold({ label: 'mid wait for ALARM', mode: 'request', match: (e) => e.operation === 'DescribeAlarms' && e.region === STANDBY && e.seq > put.entry.seq });
  worker.start();
  const held = await read;
  await worker.kill();
  lines.push(`kill 2: ${held.entry.operation} ${held.entry.region} held before it landed`);
  worker.start();

  const done = (await handle.result()) as RunStatus;

  expect(done.phase).toBe('completed');
  expect(worker.kills).toBe(2);
  expect(done.dataPlane?.control).toEqual({ region: PRIMARY, alarmName: spec.alarmName, alarmRegion: STANDBY });
  expect(callsTo(channel.faults.log(), PRIMARY)).toEqual([]);
  expect(channel.faults.log().filter((e) => e.service === 'route53')).toEqual([]);
  // Flipped once: every datapoint sent (the first, and each retry's: Route 53 follows the data, so a retry publishes
  // again) says withdrawn; none says restored.
  const puts = tap.log().filter((e) => isPut(e) && e.forwarded);
  expect(puts.length).toBeGreaterThanOrEqual(1);
  expect(puts.filter((e) => e.status !== 200 || !e.detail.includes('"Value":1') || !e.detail.includes(`"Value":"${PRIMARY}"`))).toEqual([]);
  lines.push(`PutMetricData forwarded: ${puts.length}; requests to ${PRIMARY}: 0; run completed in ${Math.round(((done.rto?.ms ?? 0) / 1000) * 10) / 10}s`);
}, 600_000);
