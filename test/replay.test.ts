import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowBundle } from './harness/fixtures';

const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };
const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(__dirname, 'histories/failover-planned.json'), 'utf8')));

describe('replay of committed workflow histories', () => {
  test('given the recorded planned failover, the current regionFailover replays it without nondeterminism', async () => {
    expect(history.events?.length).toBeGreaterThan(20);
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'failover-apnakart')).resolves.toBeUndefined();
  });

  test('given a workflow change that adds a timer before preflight, replaying the recorded history fails with a determinism violation', async () => {
    const changed = await bundleWorkflowCode({ workflowsPath: require.resolve('./fixtures/changed-workflows'), logger: silent });
    await expect(Worker.runReplayHistory({ workflowBundle: changed }, history, 'failover-apnakart')).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
