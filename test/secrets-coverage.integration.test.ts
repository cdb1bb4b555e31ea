/**
 * What the suite's "no secrets" scan covers, on a real Temporal dev server: an activity still pending
 * when the scan runs (a redeploy hook the test terminated, a run left open) has heartbeat details that are
 * in no history yet; scanTemporal reads them through describe(). Server-free parts:
 * test/secrets-coverage.unit.test.ts. The planted server keeps its data outside the suite's temporary root
 * (like secrets-scan.integration.test.ts), so the suite's own teardown scan does not meet the planted secret.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { startTemporal } from '../infra/local/stack';
import { eventually } from './harness/fixtures';
import { scanHistory, scanTemporal } from './harness/secrets';

jest.setTimeout(120_000);

const PASSWORD = 'Tr0ub4dor-3-horse';
/** temporal.api.enums.v1.CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK */
const SCHEDULE_ACTIVITY_TASK = 1;

function plantDir(): string {
  const root = process.env.DROVER_TEST_TMP;
  if (!root) throw new Error('DROVER_TEST_TMP is not set: run the tests through jest (its global setup makes the root)');
  return fs.mkdtempSync(path.join(path.dirname(root), 'drover-scan-plant-'));
}

test('a pending activity\'s heartbeat details (in no history while it runs) are scanned, named by workflow, run and activity', async () => {
  const bin = process.env.DROVER_TEST_TEMPORAL_BIN;
  if (!bin) throw new Error('DROVER_TEST_TEMPORAL_BIN is not set: run the tests through jest (its global setup installs the servers)');
  const dir = plantDir();
  const server = await startTemporal({ bin, dbFile: path.join(dir, 'temporal.sqlite'), logFile: path.join(dir, 'temporal.log') });
  const connection = await Connection.connect({ address: server.address });
  try {
    const service = connection.workflowService;
    const namespace = 'default';
    const taskQueue = { name: 'heartbeat-plant' };
    const client = new Client({ connection });
    const handle = await client.workflow.start('hookWorkflow', { taskQueue: taskQueue.name, workflowId: 'pending-hook', args: [] });
    // A worker by hand: the workflow task schedules one activity, the activity task heartbeats a password and stays open.
    const poll = <T>(call: () => Promise<T>) => connection.withDeadline(Date.now() + 30_000, call);
    const wfTask = await poll(() => service.pollWorkflowTaskQueue({ namespace, taskQueue, identity: 'secrets-coverage' }));
    await service.respondWorkflowTaskCompleted({
      namespace,
      taskToken: wfTask.taskToken,
      identity: 'secrets-coverage',
      commands: [{ commandType: SCHEDULE_ACTIVITY_TASK, scheduleActivityTaskCommandAttributes: { activityId: 'redeploy-1', activityType: { name: 'runRedeployHook' }, taskQueue, startToCloseTimeout: msToTs(600_000) } }],
    });
    const activityTask = await poll(() => service.pollActivityTaskQueue({ namespace, taskQueue, identity: 'secrets-coverage' }));
    await service.recordActivityTaskHeartbeat({
      namespace,
      taskToken: activityTask.taskToken,
      identity: 'secrets-coverage',
      details: { payloads: [{ metadata: { encoding: new Uint8Array(Buffer.from('json/plain')) }, data: new Uint8Array(Buffer.from(JSON.stringify({ lastLine: `PGPASSWORD=${PASSWORD} psql` }))) }] },
    });
    await eventually(async () => ((await handle.describe()).raw.pendingActivities ?? []).some((p) => (p.heartbeatDetails?.payloads?.length ?? 0) > 0), 'the heartbeat to be recorded');
    // The history holds the activity's scheduling, not its heartbeat: scanning histories alone finds nothing.
    expect(scanHistory(await handle.fetchHistory(), [])).toEqual([]);

    const report = await scanTemporal(server.address, { registry: [] });
    const store = `temporal ${server.address} histories`;
    expect(report).toEqual({ store, items: 1, unit: 'histories', findings: [{ store, location: `default/pending-hook (run ${handle.firstExecutionRunId}), pending activity redeploy-1`, kind: 'password', encoding: 'bytes' }] });
  } finally {
    await connection.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
