/**
 * What drover's AWS clients report (telemetry/aws.ts), through the fault proxy in front of moto: a call is counted
 * once however many attempts it took, each throttled attempt is counted, a call that fails after its retries is an
 * error; the workflows' metric sink lands in the same registry (telemetry/sinks.ts), drill refusals as bounded reasons.
 */
import type { WorkflowInfo } from '@temporalio/workflow';
import { createAwsClients } from '../aws/clients';
import { startFaultProxy, type FaultProxy } from '../infra/faults/proxy';
import { enableMetrics, type DroverMetrics } from '../telemetry/metrics';
import { drillRefusalReason, metricSinks } from '../telemetry/sinks';
import { cooldownRefusal } from '../activities/drills';
import { describeHolder } from '../contracts/lock';
import { emulatorConfig } from './harness/fixtures';
import { startOwnMoto, type MotoServer } from './harness/servers';

let moto: MotoServer;
let proxy: FaultProxy;
let metrics: DroverMetrics;

beforeAll(async () => {
  moto = await startOwnMoto();
  proxy = await startFaultProxy({ target: moto.endpoint, seed: 11 });
  metrics = enableMetrics();
});
afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

const count = async (name: string, labels: Record<string, string>) => {
  const family = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const found = family?.values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val) && !String((v as { metricName?: string }).metricName ?? '').match(/_(bucket|sum)$/));
  return found?.reduce((sum, v) => sum + v.value, 0) ?? 0;
};

test('an AWS call is counted once, its throttled attempts each, and an error once its retries are spent', async () => {
  const aws = createAwsClients({ ...emulatorConfig(proxy.endpoint), maxAttempts: 3 });
  const rds = { service: 'rds', operation: 'DescribeDBInstances' };
  // Throttled once, then answered: one call, one throttled attempt, no error.
  proxy.addRule({ service: 'rds', operation: 'DescribeDBInstances', count: 1, fault: { kind: 'throttle' } });
  await aws.rds('ap-south-1').describeDBInstances({});
  expect(await count('drover_aws_calls_total', rds)).toBe(1);
  expect(await count('drover_aws_throttled_attempts_total', rds)).toBe(1);
  expect(await count('drover_aws_call_errors_total', rds)).toBe(0);
  // Throttled on every attempt: one more call, three more throttled attempts, one error.
  proxy.addRule({ service: 'rds', operation: 'DescribeDBInstances', count: 3, fault: { kind: 'throttle' } });
  await expect(aws.rds('ap-south-1').describeDBInstances({})).rejects.toMatchObject({ name: 'Throttling' });
  expect(await count('drover_aws_calls_total', rds)).toBe(2);
  expect(await count('drover_aws_throttled_attempts_total', rds)).toBe(4);
  expect(await count('drover_aws_call_errors_total', rds)).toBe(1);
  // A refusal that is not a throttle (EKS, REST-JSON: a missing cluster): an error, no throttle.
  const eks = { service: 'eks', operation: 'DescribeCluster' };
  await expect(aws.eks('ap-south-1').describeCluster({ name: 'no-such-cluster' })).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  expect([await count('drover_aws_calls_total', eks), await count('drover_aws_call_errors_total', eks), await count('drover_aws_throttled_attempts_total', eks)]).toEqual([1, 1, 0]);
  const histogram = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'drover_aws_call_duration_seconds');
  expect(histogram?.values.find((v) => (v as { metricName?: string }).metricName === 'drover_aws_call_duration_seconds_count' && v.labels.operation === 'DescribeDBInstances')?.value).toBe(2);
});

const info = { workflowId: 'failover-sink-rb', runId: 'run-1' } as WorkflowInfo;
const other = (runId: string) => ({ workflowId: 'failover-sink-rb', runId }) as WorkflowInfo;

test('the workflows\' sink: runs, steps, gates, the last RTO and RPO of a completed failover, and drills not run by reason', async () => {
  const sink = metricSinks().droverMetrics;
  const run = { runbook: 'sink-rb', kind: 'failover', mode: 'planned', drill: true };
  void sink.runStarted.fn(info, run);
  void sink.stepEnded.fn(info, { kind: 'failover', step: 'approve', nth: 1, outcome: 'done', ms: 4_000, gate: true });
  void sink.stepEnded.fn(info, { kind: 'failover', step: 'promote-db', nth: 1, outcome: 'done', ms: 1_500, gate: false });
  void sink.runFinished.fn(info, { ...run, outcome: 'completed', endedAt: 1_800_000_000_000, rto: { ms: 90_000, objectiveMs: 900_000, met: true }, rpo: { seconds: 2, objectiveMs: 60_000 } });
  // A promotion's end sets the objectives, never the last RTO (only a failover measures one).
  // A workflow task retried after its sink calls ran runs them again: counted once.
  void sink.runStarted.fn(info, run);
  void sink.stepEnded.fn(info, { kind: 'failover', step: 'promote-db', nth: 1, outcome: 'done', ms: 1_500, gate: false });
  void sink.runFinished.fn(info, { ...run, outcome: 'completed', endedAt: 1_800_000_000_000, rto: { ms: 90_000, objectiveMs: 900_000, met: true }, rpo: { seconds: 2, objectiveMs: 60_000 } });
  // A time-scaled drill's failover is counted, but its RTO is not the last measured one.
  void sink.runFinished.fn(other('run-scaled'), { ...run, outcome: 'completed', endedAt: 1_800_000_050_000, timeScale: 0.05, rto: { ms: 4_000, objectiveMs: 900_000, met: false }, rpo: { seconds: 0, objectiveMs: 60_000 } });
  void sink.runFinished.fn(other('run-promote'), { ...run, kind: 'promote', outcome: 'completed', endedAt: 1_800_000_100_000, rpo: { seconds: 7, objectiveMs: 60_000 } });
  const labels = { runbook: 'sink-rb', kind: 'failover', mode: 'planned', drill: 'true' };
  expect(await count('drover_runs_started_total', labels)).toBe(1);
  expect(await count('drover_runs_finished_total', { ...labels, outcome: 'completed' })).toBe(2);
  const json = await metrics.registry.getMetricsAsJSON();
  const gauge = (name: string) => json.find((m) => m.name === name)?.values.filter((v) => v.labels.runbook === 'sink-rb').map((v) => [v.labels.drill, v.value]);
  expect(gauge('drover_last_rto_seconds')).toEqual([['true', 90]]);
  expect(gauge('drover_last_rto_met')).toEqual([['true', 1]]);
  expect(gauge('drover_last_rto_timestamp_seconds')).toEqual([['true', 1_800_000_000]]);
  expect(gauge('drover_last_rpo_seconds')).toEqual([['true', 2]]);
  expect(gauge('drover_rto_objective_seconds')).toEqual([[undefined, 900]]);
  expect(gauge('drover_rpo_objective_seconds')).toEqual([[undefined, 60]]);
  const gateCount = json.find((m) => m.name === 'drover_gate_wait_seconds')?.values.find((v) => (v as { metricName?: string }).metricName === 'drover_gate_wait_seconds_sum' && v.labels.gate === 'approve');
  expect(gateCount?.value).toBe(4);
  const steps = json.find((m) => m.name === 'drover_step_duration_seconds')?.values.filter((v) => (v as { metricName?: string }).metricName === 'drover_step_duration_seconds_count').map((v) => v.labels.step);
  expect(steps).toEqual(expect.arrayContaining(['approve', 'promote-db']));
  const promoteCount = json.find((m) => m.name === 'drover_step_duration_seconds')?.values.find((v) => (v as { metricName?: string }).metricName === 'drover_step_duration_seconds_count' && v.labels.step === 'promote-db');
  expect(promoteCount?.value).toBe(1);
  // A step that really ends again in the run (its second end) counts.
  void sink.stepEnded.fn(info, { kind: 'failover', step: 'promote-db', nth: 2, outcome: 'done', ms: 500, gate: false });
  const again = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'drover_step_duration_seconds')?.values.find((v) => (v as { metricName?: string }).metricName === 'drover_step_duration_seconds_count' && v.labels.step === 'promote-db');
  expect(again?.value).toBe(2);

  // An unknown loss window (lag -1) is NaN, never a better figure than a real one.
  void sink.runFinished.fn(other('run-unknown'), { ...run, drill: false, mode: 'unplanned', outcome: 'completed', endedAt: 1_800_000_200_000, rto: { ms: 60_000, objectiveMs: 900_000, met: true }, rpo: { seconds: -1, objectiveMs: 60_000 } });
  const rpo = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'drover_last_rpo_seconds')?.values.find((v) => v.labels.runbook === 'sink-rb' && v.labels.drill === 'false');
  expect(rpo?.value).toBeNaN();

  void sink.drillNotRun.fn(info, { runbook: 'sink-rb', refusals: [describeHolder({ workflowId: 'failover-sink-rb', kind: 'failover', drill: false } as Parameters<typeof describeHolder>[0], 'sink-rb')] });
  void sink.drillNotRun.fn(other('drill-2'), { runbook: 'sink-rb', refusals: [cooldownRefusal('failover', 'failover-sink-rb', new Date(0), new Date(1_000), 60_000) ?? ''] });
  expect(await count('drover_drills_not_run_total', { runbook: 'sink-rb', outcome: 'skipped', reason: 'runbook-busy' })).toBe(1);
  expect(await count('drover_drills_not_run_total', { runbook: 'sink-rb', outcome: 'refused', reason: 'cooling-down' })).toBe(1);
  // A runbook whose name reads like a requester problem: its refusal is classed by the text around the name.
  void sink.drillNotRun.fn(other('drill-3'), { runbook: 'identity-requests', refusals: ['a lock problem with identity-requests'] });
  expect(await count('drover_drills_not_run_total', { runbook: 'identity-requests', outcome: 'refused', reason: 'other' })).toBe(1);
});

test('a drill\'s refusals become bounded reasons', () => {
  expect(drillRefusalReason('drills are not enabled for x: set drills.enabled: true (and a window) in the runbook')).toEqual({ outcome: 'refused', reason: 'disabled' });
  expect(drillRefusalReason('2026-12-06T00:00:00.000Z is outside the drill windows (Sat 02:00-04:00 UTC)')).toEqual({ outcome: 'refused', reason: 'outside-window' });
  expect(drillRefusalReason('a real failover of x is active (failover-x)')).toEqual({ outcome: 'skipped', reason: 'real-run-active' });
  expect(drillRefusalReason('another drill of x is running (drill-x-1)')).toEqual({ outcome: 'skipped', reason: 'drill-running' });
  expect(drillRefusalReason('the drill says its schedule started it, but schedule drill-x did not start this run')).toEqual({ outcome: 'refused', reason: 'unconfirmed-schedule' });
  expect(drillRefusalReason('readiness: replica:main is not ready (db-replica does not exist in ap-southeast-1); fix: re-create it')).toEqual({ outcome: 'refused', reason: 'not-ready' });
  expect(drillRefusalReason('anything else at all')).toEqual({ outcome: 'refused', reason: 'other' });
});
