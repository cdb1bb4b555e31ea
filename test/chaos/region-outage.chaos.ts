/**
 * Region outage: every ap-south-1 (primary region) API call is blackholed by the fault proxy (accepted,
 * never answered). An unplanned failover completes without calling the primary region; a planned one
 * is refused at preflight with the reason, and changes nothing.
 */
import type { RunStatus } from '../../contracts/run';
import { describeTopology, prepareRunbook, refOf } from '../harness/fixtures';
import { ChaosWorld, failedStatus, faultCounts, PRIMARY, report, STANDBY } from './world';

const world = new ChaosWorld();
const lines: string[] = [];
const BLACKHOLE = [{ id: 'outage', region: PRIMARY, fault: { kind: 'blackhole' as const } }];

beforeAll(() => world.start(), 120_000);
afterAll(async () => {
  report('region outage (ap-south-1 blackholed)', lines);
  await world.stop();
});

test('given the primary region blackholed, an unplanned failover completes without calling it, and a planned one is refused at preflight naming the primary database', async () => {
  const gatesOff: Array<[Array<string | number>, unknown]> = [[['approvals', 'gates'], []]];
  const unplanned = await world.seed('ak-out-u', gatesOff);
  // drover prepare: an unplanned failover moves traffic through these controls, never Route 53's API.
  await prepareRunbook(unplanned.runbook, world.moto.endpoint);
  const planned = await world.seed('ak-out-p', gatesOff);
  const chU = await world.channel({ rules: BLACKHOLE });
  const chP = await world.channel({ rules: BLACKHOLE });
  world.worker(unplanned.taskQueue, chU.endpoint);
  world.worker(planned.taskQueue, chP.endpoint);
  const beforePlanned = await describeTopology(planned.runbook, world.moto.endpoint);
  const input = (rb: typeof planned.runbook, mode: 'planned' | 'unplanned') => ({ runbookRef: refOf(rb), targetRegion: STANDBY, mode, reason: 'chaos: region outage', requestedBy: 'ic-chaos', options: { timeScale: 0.05 } });

  const started = Date.now();
  const [u, p] = await Promise.all([
    world.client.workflow.execute('regionFailover', { taskQueue: unplanned.taskQueue, workflowId: `failover-${unplanned.runbook.name}`, args: [input(unplanned.runbook, 'unplanned')] }) as Promise<RunStatus>,
    failedStatus<RunStatus>(world.client.workflow.execute('regionFailover', { taskQueue: planned.taskQueue, workflowId: `failover-${planned.runbook.name}`, args: [input(planned.runbook, 'planned')] })),
  ]);

  // Unplanned: completes, the primary region never contacted, traffic and writer on the standby.
  expect(u.phase).toBe('completed');
  expect(u.steps.find((s) => s.id === 'preflight')?.notes).toContain(`unplanned: primary region ${PRIMARY} not contacted (assumed lost)`);
  expect(chU.faults.log().filter((e) => e.region === PRIMARY)).toEqual([]);
  const afterU = await describeTopology(unplanned.runbook, world.moto.endpoint);
  // The records stay as they were; the primary's control withdrew its sets (and its writer set) from DNS answers.
  for (const r of unplanned.runbook.dns.records) {
    expect(afterU.weights[r.name]).toEqual(r.routing === 'weighted' ? { [PRIMARY]: 100, [STANDBY]: 0 } : { [PRIMARY]: 'PRIMARY', [STANDBY]: 'SECONDARY' });
  }
  expect(u.dataPlane?.control.region).toBe(PRIMARY);
  expect(chU.faults.log().filter((e) => e.service === 'route53')).toEqual([]);
  expect(afterU.replicaPromotedTag).toBe(true);
  expect(u.rpo?.note).toMatch(/^unplanned: accepted the last observed ReplicaLag/);

  // Planned: refused at preflight, with the primary database named as the reason, and nothing changed.
  expect(p.phase).toBe('failed');
  expect(p.error?.type).toBe('PreflightFailed');
  expect(p.error?.message).toContain('preflight failed, nothing was changed');
  expect(p.error?.message).toContain('primary database: ');
  expect(p.steps.find((s) => s.id === 'preflight')?.status).toBe('failed');
  // Nothing after preflight ran (steps before it, if any, only read).
  const pre = p.steps.findIndex((s) => s.id === 'preflight');
  expect(p.steps.slice(pre + 1).filter((s) => s.status !== 'pending')).toEqual([]);
  expect(await describeTopology(planned.runbook, world.moto.endpoint)).toEqual(beforePlanned);
  const held = chP.faults.log().filter((e) => e.injected === 'blackhole');
  expect(held.length).toBeGreaterThan(0);
  expect(held.every((e) => e.region === PRIMARY)).toBe(true);

  lines.push(`unplanned failover: ${u.phase}; primary-region calls: ${chU.faults.log().filter((e) => e.region === PRIMARY).length}; RPO note: ${u.rpo?.note}`);
  lines.push(`planned failover refused after ${Math.round((Date.now() - started) / 1000)} s: ${p.error?.type}: ${p.error?.message.replace(/\n/g, ' | ')}`);
  lines.push(`injected faults (planned run): ${JSON.stringify(faultCounts(chP.faults.log()).byOperation)}`);
}, 600_000);
