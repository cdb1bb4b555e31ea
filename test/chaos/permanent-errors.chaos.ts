/**
 * Permanent errors: AccessDenied injected on one state-changing call. The run fails fast (no retry of
 * the denied call) with a PermissionDenied failure naming the call in IAM form (service:Action), which
 * is the permission that is missing; traffic never moves past the last healthy step; and where the
 * workflow has a compensation stack (failback), the compensation is recorded.
 */
import type { FailbackResult } from '../../workflows/failback';
import type { RunStatus } from '../../contracts/run';
import { describeTopology, refOf } from '../harness/fixtures';
import { ChaosWorld, failedStatus, faultCounts, PRIMARY, report, STANDBY } from './world';

const world = new ChaosWorld();
const lines: string[] = [];
const DENIED = { kind: 'error' as const, code: 'AccessDenied', status: 403 };

beforeAll(() => world.start(), 120_000);
afterAll(async () => {
  report('permanent errors (AccessDenied)', lines);
  await world.stop();
});

test('given AccessDenied on Route 53 ChangeResourceRecordSets at the 50% step, the failover fails fast with PermissionDenied naming route53:ChangeResourceRecordSets, and traffic stays at the last healthy step (10%)', async () => {
  const { runbook: rb, taskQueue } = await world.seed('ak-deny-fo', [[['approvals', 'gates'], []]]);
  const ch = await world.channel();
  world.worker(taskQueue, ch.endpoint);
  const workflowId = `failover-${rb.name}`;
  const handle = await world.client.workflow.start('regionFailover', {
    taskQueue,
    workflowId,
    args: [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'chaos: permanent error', requestedBy: 'ic-chaos', options: { timeScale: 0.05 } }],
  });
  // Once the 10% step soaks, every further ChangeResourceRecordSets is denied (so a retry would be denied too).
  await world.until(workflowId, (s) => s.currentStep === 'traffic-10' && s.trafficPercent === 10, 'the 10% soak');
  ch.faults.addRule({ id: 'deny', service: 'route53', operation: 'ChangeResourceRecordSets', fault: DENIED });
  const status = await failedStatus<RunStatus>(handle.result());
  const endedAt = Date.now();

  expect(status.error?.type).toBe('PermissionDenied');
  expect(status.error?.message).toMatch(/^route53:ChangeResourceRecordSets failed: AccessDenied: /);
  expect(status.steps.find((s) => s.id === 'traffic-50')?.status).toBe('failed');
  // Every step up to the 10% step done (whatever steps precede preflight), nothing after the failed one run.
  const ids = status.steps.map((s) => s.id);
  const failedAt = ids.indexOf('traffic-50');
  for (const id of ['preflight', 'scale-compute', 'promote-database', 'repoint-writer', 'traffic-10']) expect([id, status.steps.find((s) => s.id === id)?.status]).toEqual([id, 'done']);
  expect(status.steps.slice(failedAt + 1).map((s) => [s.id, s.status])).toEqual(ids.slice(failedAt + 1).map((id) => [id, 'pending']));
  expect(ids.slice(failedAt + 1)).toEqual(['traffic-100', 'verify']);
  // Fails fast: the denied call was sent once, never retried, and the run ended right after it.
  const denied = ch.faults.log().filter((e) => e.injected === 'error:AccessDenied');
  expect(denied).toHaveLength(1);
  // No traffic moved past the last healthy step.
  const after = await describeTopology(rb, world.moto.endpoint);
  expect(after.weights[`api.${rb.dns.hostedZone}`]).toEqual({ [PRIMARY]: 90, [STANDBY]: 10 });
  expect(after.weights[`www.${rb.dns.hostedZone}`]).toEqual({ [PRIMARY]: 90, [STANDBY]: 10 });
  expect(after.weights[`static.${rb.dns.hostedZone}`]).toEqual({ [PRIMARY]: 'PRIMARY', [STANDBY]: 'SECONDARY' });
  expect(status.trafficPercent).toBe(10);
  // The compensation record: what was deliberately kept, and the state the run left.
  expect(status.compensations).toEqual([
    `kept: traffic at 10% ${STANDBY}, the last step that soaked healthy; no later step was applied`,
    expect.stringMatching(new RegExp(`^kept: the database was promoted in ${STANDBY}`)),
    `kept: ${STANDBY} compute at active capacity, ready for a retry`,
  ]);
  lines.push(`failover: ${status.error?.type}: ${status.error?.message}`);
  lines.push(`  denied calls: ${denied.length}, run ended ${endedAt - denied[0].at} ms after the denial; traffic left at 10% (the last healthy step)`);
  lines.push(`  compensation recorded by regionFailover: ${JSON.stringify(status.compensations)}`);
  lines.push(`  injected faults: ${JSON.stringify(faultCounts(ch.faults.log()).byOperation)}`);
});

test('given AccessDenied on ChangeResourceRecordSets at the failback\'s 50% step, the failback fails fast with PermissionDenied, undoes its switchback steps and records the compensation', async () => {
  const { runbook: rb, taskQueue } = await world.seed('ak-deny-fb', [[['approvals', 'gates'], []]]);
  const ch = await world.channel();
  world.worker(taskQueue, ch.endpoint);
  const options = { timeScale: 0.05 };
  const fo = (await world.client.workflow.execute('regionFailover', { taskQueue, workflowId: `failover-${rb.name}`, args: [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'chaos: setup', requestedBy: 'ic-chaos', options }] })) as RunStatus;
  expect(fo.phase).toBe('completed');
  const afterFailover = await describeTopology(rb, world.moto.endpoint);

  const workflowId = `failback-${rb.name}`;
  const handle = await world.client.workflow.start('failback', { taskQueue, workflowId, args: [{ runbookRef: refOf(rb), reason: 'chaos: permanent error', requestedBy: 'ic-chaos', options }] });
  await world.until(workflowId, (s) => s.currentStep === 'traffic-back-10' && s.trafficPercent === 10, 'the failback 10% soak');
  // One denial: the compensation's own ChangeResourceRecordSets must go through.
  ch.faults.addRule({ id: 'deny', service: 'route53', operation: 'ChangeResourceRecordSets', count: 1, fault: DENIED });
  const status = await failedStatus<FailbackResult>(handle.result());
  const endedAt = Date.now();

  expect(status.error?.type).toBe('PermissionDenied');
  expect(status.error?.message).toMatch(/^route53:ChangeResourceRecordSets failed: AccessDenied: /);
  expect(status.steps.find((s) => s.id === 'traffic-back-50')?.status).toBe('failed');
  expect(status.steps.find((s) => s.id === 'traffic-back-100')?.status).toBe('pending');
  expect(status.steps.find((s) => s.id === 'return-standby')?.status).toBe('pending');
  const denied = ch.faults.log().filter((e) => e.injected === 'error:AccessDenied');
  expect(denied).toHaveLength(1);
  // Compensation: traffic back to 100% on the (healthy) standby, original-region compute back to standby size, and the database state said.
  expect(status.compensations).toEqual(
    expect.arrayContaining([`undone: traffic back to 100% ${STANDBY}`, expect.stringMatching(/^database: the writer is .* in ap-south-1 \(promoted\)/)]),
  );
  expect(status.error?.message).toContain(`compensation: undone: traffic back to 100% ${STANDBY}`);
  const after = await describeTopology(rb, world.moto.endpoint);
  expect(after.weights).toEqual(afterFailover.weights);
  // scale-original changed nothing (the original region was still at active capacity), so nothing is scaled down.
  expect(status.compensations?.some((c) => c.includes('back to standby capacity'))).toBe(false);
  for (const c of rb.compute.clusters.filter((x) => x.region === PRIMARY)) for (const g of c.nodeGroups) expect(after.nodeGroups[`${PRIMARY}/${c.name}/${g.name}`]).toBe(g.active);
  lines.push(`failback: ${status.error?.type}: ${status.error?.message}`);
  lines.push(`  compensations: ${JSON.stringify(status.compensations)}`);
  lines.push(`  denied calls: ${denied.length}, run ended ${endedAt - denied[0].at} ms after the denial (including the compensation)`);
  lines.push(`  injected faults: ${JSON.stringify(faultCounts(ch.faults.log()).byOperation)}`);
});
