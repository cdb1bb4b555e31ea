/** What `drover status` shows of a running step's activity: the heartbeat details of pending activities. */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { IacProgress } from '../activities/iac';
import { renderStatus } from '../cli/render';
import { activityProgress } from '../cli/runs';
import type { RunStatus } from '../contracts/run';

function describing(...details: unknown[]): WorkflowExecutionDescription {
  const pendingActivities = details.map((d) => ({ heartbeatDetails: d === undefined ? undefined : { payloads: [defaultPayloadConverter.toPayload(d)] } }));
  return { raw: { pendingActivities } } as unknown as WorkflowExecutionDescription;
}

test('given an apply heartbeat, it names the phase, the resource, the action and the count', () => {
  const p: IacProgress = { phase: 'apply', resource: 'aws_eks_node_group.node_group_general', action: 'create', done: 3, total: 11 };
  expect(activityProgress(describing(p))).toEqual(['apply: aws_eks_node_group.node_group_general create (3/11)']);
});

test('given a wait heartbeat and an activity that has not reported yet, it shows the wait only', () => {
  expect(activityProgress(describing({ waitingFor: 'cluster c and its node groups to be ACTIVE', progress: 'cluster CREATING' }, undefined))).toEqual([
    'waiting for cluster c and its node groups to be ACTIVE: cluster CREATING',
  ]);
});

test('given a rebuild at its apply step, the status view shows the cluster and the progress under the running step', () => {
  const status = {
    workflowId: 'rebuild-ak',
    runId: 'r1',
    kind: 'rebuild',
    runbook: 'ak',
    mode: 'planned',
    fromRegion: 'ap-south-1',
    targetRegion: 'ap-south-1',
    reason: 'corrupted',
    requestedBy: 'priya',
    startedAt: 0,
    phase: 'running',
    decisions: [],
    trafficPercent: 0,
    steps: [
      { id: 'plan', title: 'Plan (OpenTofu)', status: 'done', startedAt: 0, endedAt: 1000, notes: [] },
      { id: 'apply', title: 'Apply the approved plan', status: 'running', startedAt: 1000, notes: [] },
      { id: 'verify', title: 'Verify', status: 'pending', notes: [] },
    ],
    rebuild: { region: 'ap-south-1', cluster: 'ak-mumbai', force: false },
  } satisfies RunStatus;
  const lines = renderStatus(status, 5000, ['apply: aws_eks_cluster.cluster create (1/11)']);
  expect(lines[0]).toBe('rebuild ak: cluster ak-mumbai in ap-south-1, requested by priya: corrupted');
  const apply = lines.findIndex((l) => l.includes('Apply the approved plan'));
  expect(lines[apply + 1]).toBe('      … apply: aws_eks_cluster.cluster create (1/11)');
  expect(lines.join('\n')).not.toContain('traffic on');
});
