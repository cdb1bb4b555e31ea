import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowBundle } from './harness/fixtures';

const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };
const load = (file: string) => historyFromJSON(JSON.parse(fs.readFileSync(path.join(__dirname, 'histories', file), 'utf8')));

describe('replay of committed workflow histories', () => {
  test.each([
    ['failover-planned.json', 'failover-apnakart', 'a failover recorded before the promote-as-child patch'],
    ['failover-planned-child.json', 'failover-apnakart', 'a failover whose database step ran the promoteReplica child'],
    ['promote-planned.json', 'failover-apnakart-promote', 'a planned promotion (fence, lag 0, promote)'],
    ['failback.json', 'failback-apnakart', 'a failback (protect, replicate, approve, switchover, shift back, return standby)'],
    ['drill.json', 'drill-apnakart-recorded', 'a drill: refusal checks, failover child, failback child'],
    ['drill-failover.json', 'drill-apnakart-recorded-failover', "a drill's failover, gates auto-approved"],
    ['drill-failback.json', 'drill-apnakart-recorded-failback', "a drill's failback, starting from the current weights"],
    ['failover-preempt-drills.json', 'failover-apnakart', 'a real failover that first stops running drills'],
    ['failback-shift-from-current.json', 'failback-apnakart', 'a failback whose shift starts from the current weights'],
    ['failover-multi-database.json', 'failover-apnakart', 'a failover of three databases: a promotion child each, in parallel, then three writer repoints'],
    ['failback-multi-database.json', 'failback-apnakart', 'a failback of three databases: protect, replicate, switchover child and return of the standby per database'],
    ['rebuild.json', 'rebuild-ak-rebuild-24274-1', 'a cluster rebuild (synthesize, plan, plan gate, apply, wait, redeploy, verify), with gate policies and notifications'],
    ['drill-worker-runbooks.json', 'drill-apnakart-v2', 'a drill since worker-owned runbooks: its runbook resolved by the worker from a reference, passed to its children'],
    ['drill-worker-runbooks-failover.json', 'drill-apnakart-v2-failover', "a drill's failover since worker-owned runbooks: runbook and drill link from its parent"],
    ['drill-worker-runbooks-failback.json', 'drill-apnakart-v2-failback', "a drill's failback since worker-owned runbooks"],
    ['failover-worker-runbooks.json', 'failover-apnakart', 'a failover since worker-owned runbooks and approvals-v2: the runbook resolved from a reference, the requester step, the gate'],
    ['failover-preflight-endpoints.json', 'failover-apnakart', 'a failover whose preflight also probes the target and reads each writer record (preflight-endpoints-v1)'],
    ['drill-retention-failback.json', 'drill-apnakart-v3-failback', "a drill's failback that deletes what it replaces (drill-retention-v1)"],
    ['cleanup.json', 'cleanup-apnakart', 'a cleanup of two retained instances: find, the cleanup gate, final snapshots, deletion requests and waits'],
    ['drill-cancelled.json', 'drill-apnakart-v4', 'a drill cancelled during its failover: the rollback, which checks the primary for a fence left behind (drill-unfences-v1)'],
    ['drill-cancelled-failover.json', 'drill-apnakart-v4-failover', "a drill's failover cancelled mid-way (its compute and promotion awaited to their ends, act-settled-v1): it ends through its failure path as RunCancelled"],
    ['promote-fence-compensation.json', 'failover-apnakart-promote', 'a planned promotion that first reads whether it resumes (resume-promoted-v1) and compensates its fence from the moment it is asked for (fence-compensation-v1)'],
    ['failback-undo-before-scale.json', 'failback-apnakart', "a failback whose scale-up registers its undo from the sizes read before the change (undo-before-scale-v1)"],
    ['drill-lock.json', 'drill-apnakart-v5', "a drill that takes the runbook's lock after its refusal checks and gives it back at its end (runbook-lock-v1)"],
    ['drill-lock-failover.json', 'drill-apnakart-v5-failover', "a drill's failover that checks its drill still holds the runbook before each step"],
    ['failover-lock.json', 'failover-apnakart', "a real failover that takes the runbook's lock in its preempt-drills step and gives it back at its end"],
    ['failback-lock.json', 'failback-apnakart', "a failback that takes the runbook's lock at its start and gives it back at its end"],
    ['runbook-lock.json', 'lock-apnakart', "the runbook's lock itself: acquire and release updates from a drill, a failover and a failback"],
  ])('given %s (%s, %s), the current workflows replay it without nondeterminism', async (file, workflowId) => {
    const history = load(file);
    expect(history.events?.length).toBeGreaterThan(20);
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId)).resolves.toBeUndefined();
  });

  test('given a workflow change that adds a timer before preflight, replaying the recorded failover fails with a determinism violation', async () => {
    const changed = await bundleWorkflowCode({ workflowsPath: require.resolve('./fixtures/changed-workflows'), logger: silent });
    await expect(Worker.runReplayHistory({ workflowBundle: changed }, load('failover-planned.json'), 'failover-apnakart')).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
