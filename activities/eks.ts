import type { Issue, Update } from '@aws-sdk/client-eks';
import { ApplicationFailure } from '@temporalio/common';
import type { EksApi } from '../aws/clients';
import { aws, awsErrorCode } from '../aws/errors';
import { FailureType } from '../contracts/failures';
import { pollUntil } from './wait';

export interface NodeGroupTarget {
  name: string;
  size: number;
  max?: number;
}

/** A node group's scaling configuration as the team had it. */
export interface Capacity {
  min: number;
  desired: number;
  max: number;
}

/**
 * The cluster tag that keeps a node group's scaling configuration from before drover first changed it (one a group,
 * written only when absent, removed once restored). On the cluster, not the node group: both are taggable on AWS
 * (EKS TagResource), moto tags clusters only. Tag keys allow letters, numbers, spaces and `+ - = . _ : / @`, up to
 * 128 characters, values up to 256, 50 tags a resource (EKS, "Tagging your Amazon EKS resources").
 */
export const capacityTag = (group: string): string => `drover:capacity-before:${group}`;
export const formatCapacity = (c: Capacity): string => `min=${c.min} desired=${c.desired} max=${c.max}`;
export function parseCapacity(value: string | undefined): Capacity | undefined {
  const m = /^min=(\d+) desired=(\d+) max=(\d+)$/.exec(value ?? '');
  if (!m) return undefined;
  const [min, desired, max] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // As EKS keeps them (NodegroupScalingConfig): min <= desired <= max, max >= 1. Anything else was not written by drover.
  return min <= desired && desired <= max && max >= 1 ? { min, desired, max } : undefined;
}

/**
 * How scaleNodeGroups returns groups to what the team had (their capacity tag), instead of min = desired = size:
 * `exact`, the recorded min, desired and max (a region that serves nothing: the standby); `serving`, the recorded
 * min and max with desired at least `size` (a region that serves: never below its active capacity). A group without
 * a tag is set as without `restore`.
 */
export type CapacityRestore = 'exact' | 'serving';

/** Whether a group's scaling is what scaleNodeGroups sets it to. */
const atTarget = (state: NodeGroupState, g: Target): boolean => state.desiredSize === g.size && state.minSize === g.min && (!g.exact || state.maxSize === g.max);

/** What scaleNodeGroups sets one group to. */
interface Target {
  name: string;
  size: number;
  min: number;
  /** Set exactly (a restore), else raised to cover `size`. */
  max?: number;
  exact: boolean;
}

export interface NodeGroupState {
  name: string;
  status: string;
  desiredSize?: number;
  minSize?: number;
  maxSize?: number;
}

/** The updates scaleNodeGroups follows for one node group: those it waits for, and which of them are its own (their failure is its). */
interface Follow {
  /** Update id → its last status. */
  waitFor: Map<string, string>;
  own: Set<string>;
  /** Whether this attempt has looked for updates already in progress (ListUpdates). */
  lookedUp: boolean;
}

/** A node group health issue by name: its code, message and the resources it afflicts. */
function describeIssue(i: Issue): string {
  return `${i.code ?? 'Unknown'}: ${i.message ?? '(no message)'}${i.resourceIds?.length ? ` (${i.resourceIds.join(', ')})` : ''}`;
}

/** The step's own update ended Failed or Cancelled: the errors EKS gives for it. */
function updateFailed(cluster: string, name: string, u: Update): ApplicationFailure {
  const errors = (u.errors ?? []).map((e) => `${e.errorCode ?? 'Unknown'}: ${e.errorMessage ?? '(no message)'}${e.resourceIds?.length ? ` (${e.resourceIds.join(', ')})` : ''}`);
  return ApplicationFailure.create({
    type: FailureType.InvalidState,
    message: `eks: update ${u.id} of node group ${cluster}/${name} is ${u.status}${errors.length ? `: ${errors.join('; ')}` : ''}`,
    nonRetryable: true,
    details: [{ cluster, nodegroup: name, updateId: u.id, status: u.status, errors: u.errors ?? [] }],
  });
}

/** EKS activities: cluster and node group state, idempotent scaling with a wait for its updates and the groups' health. */
export function createEksActivities(eks: (region: string) => EksApi) {
  async function nodeGroupHealth(region: string, cluster: string, name: string): Promise<{ state: NodeGroupState; issues: Issue[] }> {
    const out = await aws(`eks:DescribeNodegroup(${cluster}/${name})`, () => eks(region).describeNodegroup({ clusterName: cluster, nodegroupName: name }));
    const ng = out.nodegroup;
    return {
      state: { name, status: ng?.status ?? 'UNKNOWN', desiredSize: ng?.scalingConfig?.desiredSize, minSize: ng?.scalingConfig?.minSize, maxSize: ng?.scalingConfig?.maxSize },
      // "NodegroupHealth.issues: Any issues that are associated with the node group" (API_NodegroupHealth.html).
      issues: ng?.health?.issues ?? [],
    };
  }

  async function nodeGroup(region: string, cluster: string, name: string): Promise<NodeGroupState> {
    return (await nodeGroupHealth(region, cluster, name)).state;
  }

  return {
    /** The cluster's status and its node groups' states; missing ones are reported, not thrown. */
    async describeCompute(input: { region: string; cluster: string; nodeGroups: string[] }): Promise<{ clusterStatus: string; nodeGroups: NodeGroupState[]; problems: string[] }> {
      const problems: string[] = [];
      let clusterStatus = 'MISSING';
      try {
        const out = await aws(`eks:DescribeCluster(${input.cluster})`, () => eks(input.region).describeCluster({ name: input.cluster }));
        clusterStatus = out.cluster?.status ?? 'UNKNOWN';
        if (clusterStatus !== 'ACTIVE') problems.push(`cluster ${input.cluster} is ${clusterStatus}, not ACTIVE`);
      } catch (e) {
        problems.push(`cluster ${input.cluster} in ${input.region}: ${(e as Error).message}`);
        return { clusterStatus, nodeGroups: [], problems };
      }
      const nodeGroups: NodeGroupState[] = [];
      for (const name of input.nodeGroups) {
        try {
          const ng = await nodeGroup(input.region, input.cluster, name);
          nodeGroups.push(ng);
          if (ng.status !== 'ACTIVE') problems.push(`node group ${input.cluster}/${name} is ${ng.status}, not ACTIVE`);
        } catch (e) {
          problems.push(`node group ${input.cluster}/${name}: ${(e as Error).message}`);
        }
      }
      return { clusterStatus, nodeGroups, problems };
    },

    /**
     * Set each node group to its target size (min = desired = size), skipping groups already there, then wait
     * until every group's update is Successful and the group is ACTIVE at that size with no health issues.
     *
     * EKS applies a node group update asynchronously: "The response output includes an update ID that you can
     * use to track the status of your node group update with the DescribeUpdate API operation"
     * (https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateNodegroupConfig.html), and "When the
     * status of the update is Successful, the update is complete. If an update fails, the status is Failed, and
     * an error detail explains the reason for the failure" (https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeUpdate.html);
     * its status is one of "InProgress | Failed | Cancelled | Successful" (https://docs.aws.amazon.com/eks/latest/APIReference/API_Update.html).
     * An update can succeed while the Auto Scaling group cannot launch the nodes: the node group then reports
     * "AsgInstanceLaunchFailures: Your Auto Scaling group is experiencing failures while attempting to launch
     * instances" in its health issues (https://docs.aws.amazon.com/eks/latest/APIReference/API_Issue.html), so a
     * group scaled up (or at its size already, as on a retry) with any issue is not done; a scale-down is done at its
     * size. The wait's progress names each issue (code, message, resources), and WaitTimedOut at the bound carries it. Whether the nodes joined Kubernetes is not read (drover has no
     * Kubernetes client here): update Successful, ACTIVE at size and no health issue is the signal.
     *
     * Resumable: a group already at size sends nothing; if it is UPDATING, its updates still InProgress (an earlier
     * attempt's, or anyone's) are found with ListUpdates and waited for (a group ACTIVE has none: its history is not read). EKS refuses an update while another is in progress:
     * ResourceInUseException, "The specified resource is in use" (https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateNodegroupConfig.html#API_UpdateNodegroupConfig_Errors),
     * HTTP 409 ("… currently has update … in progress", https://github.com/aws-controllers-k8s/community/issues/1192):
     * the step waits for the updates in progress, then sends its own (Temporal's retry would also get there, later).
     */
    // `sendOnly`: return once each group's update is sent (or nothing is to send): a caller that must not be cancelled
    // while its request is under way runs this to its answer, then waits with a second, cancellable call.
    async scaleNodeGroups(input: { region: string; cluster: string; groups: NodeGroupTarget[]; timeoutMs?: number; restore?: CapacityRestore; sendOnly?: boolean }): Promise<{ before: NodeGroupState[]; after: NodeGroupState[]; requestIds: string[]; restored?: string[] }> {
      const api = eks(input.region);
      const cluster = input.cluster;
      const before = await Promise.all(input.groups.map((g) => nodeGroup(input.region, cluster, g.name)));
      // The team's capacity: recorded on the cluster before drover first changes a group, restored with `restore`.
      const described = (await aws(`eks:DescribeCluster(${cluster})`, () => api.describeCluster({ name: cluster }))).cluster;
      const clusterArn = described?.arn;
      const tags = described?.tags ?? {};
      const recorded = input.groups.map((g) => parseCapacity(tags[capacityTag(g.name)]));
      const targets: Target[] = input.groups.map((g, i) => {
        const r = recorded[i];
        if (!input.restore || !r) return { name: g.name, size: g.size, min: g.size, max: g.max, exact: false };
        const desired = input.restore === 'exact' ? r.desired : Math.max(r.desired, g.size);
        return { name: g.name, size: desired, min: Math.min(r.min, desired), max: Math.max(r.max, desired), exact: true };
      });
      if (!input.restore && clusterArn) {
        const record: Record<string, string> = {};
        before.forEach((b, i) => {
          const t = targets[i];
          const changes = b.desiredSize !== t.size || b.minSize !== t.min;
          if (changes && recorded[i] === undefined && b.minSize !== undefined && b.desiredSize !== undefined && b.maxSize !== undefined) {
            record[capacityTag(t.name)] = formatCapacity({ min: b.minSize, desired: b.desiredSize, max: b.maxSize });
          }
        });
        // Before the change: a retried attempt finds the tag and keeps it (it reads its own earlier change as "before").
        if (Object.keys(record).length > 0) await aws(`eks:TagResource(${cluster})`, () => api.tagResource({ resourceArn: clusterArn, tags: record }));
      }
      const sent: string[][] = input.groups.map(() => []);
      const follows: Follow[] = input.groups.map(() => ({ waitFor: new Map(), own: new Set(), lookedUp: false }));

      /** The updates of a node group still InProgress (ListUpdates lists them all, whatever their status). */
      async function updatesInProgress(name: string): Promise<string[]> {
        const ids: string[] = [];
        let nextToken: string | undefined;
        do {
          const page = await aws(`eks:ListUpdates(${cluster}/${name})`, () => api.listUpdates({ name: cluster, nodegroupName: name, nextToken }));
          ids.push(...(page.updateIds ?? []));
          nextToken = page.nextToken;
        } while (nextToken);
        const busy: string[] = [];
        for (let i = 0; i < ids.length; i += 10) {
          const updates = await Promise.all(ids.slice(i, i + 10).map((id) => describeUpdate(name, id)));
          busy.push(...updates.filter((u) => u.status === 'InProgress').map((u) => u.id as string));
        }
        return busy;
      }

      async function describeUpdate(name: string, id: string): Promise<Update> {
        const out = await aws(`eks:DescribeUpdate(${cluster}/${name}/${id})`, () => api.describeUpdate({ name: cluster, nodegroupName: name, updateId: id }));
        return { ...out.update, id };
      }

      /** One poll of one group: sends its update when it is not at size and nothing is in progress; what it still waits for, if anything. */
      async function poll(g: Target, i: number): Promise<{ state: NodeGroupState; pending?: string }> {
        const f = follows[i];
        for (const id of [...f.waitFor.keys()]) {
          const u = await describeUpdate(g.name, id);
          // Only an update's end stops the wait: Successful, or Failed or Cancelled (InProgress, or no status, waits).
          if (u.status !== 'Successful' && u.status !== 'Failed' && u.status !== 'Cancelled') {
            f.waitFor.set(id, u.status ?? 'without a status');
            continue;
          }
          f.waitFor.delete(id);
          // Another's update that failed no longer blocks this step's (which comes next); this step's own failed it.
          if ((u.status === 'Failed' || u.status === 'Cancelled') && f.own.has(id)) throw updateFailed(cluster, g.name, u);
        }
        const { state, issues } = await nodeGroupHealth(input.region, cluster, g.name);
        const label = `${g.name} ${state.status} ${state.desiredSize}`;
        if (f.waitFor.size > 0) {
          const ids = [...f.waitFor].map(([id, status]) => `update ${id} ${status}${f.own.has(id) ? '' : ' (found in progress)'}`);
          return { state, pending: `${label}: ${ids.join(', ')}` };
        }
        if (!atTarget(state, g)) {
          const maxSize = g.exact && g.max !== undefined ? g.max : Math.max(g.size, g.max ?? 0, state.maxSize ?? 0, 1);
          try {
            const out = await aws(`eks:UpdateNodegroupConfig(${cluster}/${g.name})`, () =>
              api.updateNodegroupConfig({ clusterName: cluster, nodegroupName: g.name, scalingConfig: { minSize: g.min, desiredSize: g.size, maxSize } }),
            );
            if (out.$metadata.requestId) sent[i].push(out.$metadata.requestId);
            f.lookedUp = true;
            const id = out.update?.id;
            if (id) {
              f.own.add(id);
              f.waitFor.set(id, out.update?.status ?? 'sent');
            }
            return { state, pending: `${label}: update ${id ?? '(no id)'} ${out.update?.status ?? 'sent'}` };
          } catch (e) {
            if (awsErrorCode(e) !== 'ResourceInUseException') throw e;
            // Another update is in progress (EKS runs one at a time): wait for it, then send this one.
            const busy = await updatesInProgress(g.name);
            for (const id of busy) f.waitFor.set(id, 'InProgress');
            f.lookedUp = true;
            return { state, pending: `${label}: ResourceInUseException, ${busy.length ? `update ${busy.join(', ')} InProgress; this step's is sent after it` : 'sent again at the next poll'}` };
          }
        }
        // At size without an update of this attempt: an earlier attempt's (or anyone's) may still be in progress. Only a
        // group UPDATING has one (ListUpdates lists a group's whole history, each to be described: not read for nothing).
        if (!f.lookedUp && state.status === 'UPDATING') {
          f.lookedUp = true;
          // Not counted as its own: when one ends, whatever it left is checked again (sent again if not at size).
          const busy = await updatesInProgress(g.name);
          for (const id of busy) f.waitFor.set(id, 'InProgress');
          if (busy.length > 0) return { state, pending: `${label}: update ${busy.join(', ')} InProgress (found in progress)` };
        }
        if (state.status !== 'ACTIVE') return { state, pending: label };
        // Issues hold a scale-up, or a retried one (the nodes it asked for may never launch); a scale-down is done at size.
        if (issues.length > 0 && g.size >= (before[i].desiredSize ?? 0)) return { state, pending: `${label}: health issues: ${issues.map(describeIssue).join('; ')}` };
        return { state };
      }

      const after = await pollUntil(
        { what: input.sendOnly ? `${cluster} node group updates to be sent` : `${cluster} node groups to be ACTIVE at size`, timeoutMs: input.timeoutMs ?? 30 * 60_000, initialIntervalMs: 500, maxIntervalMs: 10_000 },
        async () => {
          const polled = await Promise.all(targets.map((g, i) => poll(g, i)));
          // sendOnly: done once each group's own update is sent (or it is at its target): the wait is the caller's.
          const pending = polled.flatMap((p, i) => (p.pending && !(input.sendOnly && (follows[i].own.size > 0 || atTarget(p.state, targets[i]))) ? [p.pending] : []));
          return { done: pending.length === 0, value: polled.map((p) => p.state), progress: pending.join('; ') || 'all ACTIVE' };
        },
      );
      if (!input.restore || input.sendOnly) return { before, after, requestIds: sent.flat() };
      // Restored: the record goes (the next change records afresh). Groups without one were set to their size.
      const restored = targets.filter((t) => t.exact).map((t) => t.name);
      // One key a call: EKS takes up to 50 (UntagResource tagKeys), moto (5.2) reads only the first of a repeated query parameter.
      if (clusterArn) for (const name of restored) await aws(`eks:UntagResource(${cluster})`, () => api.untagResource({ resourceArn: clusterArn, tagKeys: [capacityTag(name)] }));
      return { before, after, requestIds: sent.flat(), restored };
    },
  };
}
