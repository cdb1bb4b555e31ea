/**
 * Server restart: a private Temporal dev server (its own SQLite file) is stopped in the middle of a
 * failover and started again on the same ports with the same SQLite file. The worker process is left
 * running throughout (it has to reconnect by itself); the run completes with the intended topology.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RunStatus } from '../../contracts/run';
import { describeTopology, refOf } from '../harness/fixtures';
import { startOwnTemporal, testTempDir, type TemporalServer } from '../harness/servers';
import { ChaosWorld, PRIMARY, report, sleep, STANDBY } from './world';

let temporal: TemporalServer;
const dbFile = path.join(testTempDir('temporal-restart-'), 'temporal.sqlite');
const world = new ChaosWorld({ temporalAddress: () => temporal.address });
const lines: string[] = [];

beforeAll(async () => {
  temporal = await startOwnTemporal({ dbFile });
  await world.start();
}, 120_000);

afterAll(async () => {
  report('Temporal server restart', lines);
  await world.stop();
  await temporal?.stop();
});

test('given the Temporal dev server stopped mid-failover and started again on the same SQLite file, the run completes', async () => {
  const { runbook: rb, taskQueue } = await world.seed('ak-restart', [[['approvals', 'gates'], []]]);
  const ch = await world.channel();
  const worker = world.worker(taskQueue, ch.endpoint);
  const workflowId = `failover-${rb.name}`;
  const handle = await world.client.workflow.start('regionFailover', {
    taskQueue,
    workflowId,
    args: [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'chaos: server restart', requestedBy: 'ic-chaos', options: { timeScale: 0.1 } }],
  });
  const runId = handle.firstExecutionRunId;
  const at = await world.until(workflowId, (s) => s.currentStep === 'traffic-10' && s.trafficPercent === 10, 'the 10% soak');
  const doneBefore = at.steps.filter((s) => s.status === 'done').map((s) => s.id);

  const { port, uiPort } = temporal;
  await world.disconnect();
  const stoppedAt = Date.now();
  await temporal.stop();
  expect(fs.existsSync(dbFile)).toBe(true);
  await sleep(3000);
  temporal = await startOwnTemporal({ dbFile, port, uiPort });
  const downMs = Date.now() - stoppedAt;
  await world.connect();
  lines.push(`stopped the server during the 10% soak (steps done: ${doneBefore.join(', ')}); down ${downMs} ms; restarted on ${temporal.address} with ${dbFile}`);

  // The same run (same run id) continues from the persisted history.
  const desc = await world.client.workflow.getHandle(workflowId).describe();
  expect(desc.runId).toBe(runId);
  const result = (await world.client.workflow.getHandle(workflowId).result()) as RunStatus;
  lines.push(`worker process ${worker.alive() ? 'stayed up and reconnected by itself' : 'EXITED while the server was down'}; run ${result.phase}`);
  expect(worker.alive()).toBe(true);
  expect(worker.kills).toBe(0);
  expect(result.phase).toBe('completed');
  expect(result.steps.find((s) => s.id === 'verify')?.status).toBe('done');
  const after = await describeTopology(rb, world.moto.endpoint);
  for (const r of rb.dns.records) {
    expect(after.weights[r.name]).toEqual(r.routing === 'weighted' ? { [PRIMARY]: 0, [STANDBY]: 100 } : { [PRIMARY]: 'SECONDARY', [STANDBY]: 'PRIMARY' });
  }
  expect(after.replicaPromotedTag).toBe(true);
  expect(after.writer).toBe(after.replica.endpoint);
  // Nothing was repeated across the restart.
  expect(ch.faults.log().filter((e) => e.operation === 'PromoteReadReplica')).toHaveLength(1);
}, 600_000);
