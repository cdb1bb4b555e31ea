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

export interface NodeGroupState {
  name: string;
  status: string;
  desiredSize?: number;
  minSize?: number;
  maxSize?: number;
  /** The instance types the group launches (DescribeNodegroup's instanceTypes): read only when asked (`launch`). */
  instanceTypes?: string[];
  /** ON_DEMAND (the default), SPOT or CAPACITY_BLOCK (DescribeNodegroup's capacityType): read only when asked (`launch`). */
  capacityType?: string;
}

/** A node group's scaling configuration as the team had it, and the floor drover set over it. */
export interface Capacity {
  min: number;
  desired: number;
  max: number;
  /** The min drover set when it recorded this: the record is live while the group's min is still that. */
  set?: number;
}

/**
 * The cluster tag that keeps a node group's scaling configuration from before drover changed it (one a group). On the
 * cluster, not the node group: both are taggable on AWS (EKS TagResource), moto tags clusters only. Tag keys allow
 * letters, numbers, spaces and `+ - = . _ : / @`, up to 128 characters, values up to 256, 50 tags a resource (EKS,
 * "Tagging your Amazon EKS resources"). A record is live while the group's min is the one drover set (`set`): the
 * Cluster Autoscaler changes desired, not min. Anything else (the team changed the group since, an old run's record)
 * is not applied: a scale-up records afresh, a restore leaves the group as it is.
 */
export const capacityTag = (group: string): string => `drover:capacity-before:${group}`;
export const formatCapacity = (c: Capacity): string => `min=${c.min} desired=${c.desired} max=${c.max}${c.set !== undefined ? ` set=${c.set}` : ''}`;
export function parseCapacity(value: string | undefined): Capacity | undefined {
  const m = /^min=(\d+) desired=(\d+) max=(\d+)(?: set=(\d+))?$/.exec(value ?? '');
  if (!m) return undefined;
  const [min, desired, max] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // As EKS keeps them (NodegroupScalingConfig): min <= desired <= max, max >= 1. Anything else was not written by drover.
  if (!(min <= desired && desired <= max && max >= 1)) return undefined;
  return { min, desired, max, ...(m[4] !== undefined ? { set: Number(m[4]) } : {}) };
}

/**
 * How scaleNodeGroups returns groups to what the team had (their live capacity record), instead of min = desired =
 * size. Bounded either way, so a stale or forged record cannot empty or cap a group:
 * - `exact` (a region that serves nothing: the standby, an undone scale-up): the recorded min, desired and max, with
 *   desired at least `size` (the runbook's standby) and max no higher than the group's current max or the runbook's;
 * - `serving` (a region that serves again): only the floor comes back (min = the recorded min, at most desired);
 *   desired stays at least its current size and `size`, max at least its current max: never tightened under load.
 * A group without a live record goes to `size` (exact: as before records existed) or is left as it is (serving).
 */
export type CapacityRestore = 'exact' | 'serving';

/** Whether a group's scaling is what scaleNodeGroups sets it to (a group left as it is always is). */
const atTarget = (state: NodeGroupState, g: Target): boolean => g.leave === true || (state.desiredSize === g.size && state.minSize === g.min && (!g.exact || state.maxSize === g.max));

/** What scaleNodeGroups sets one group to. */
interface Target {
  name: string;
  size: number;
  min: number;
  /** Set exactly (a restore), else raised to cover `size`. */
  max?: number;
  exact: boolean;
  /** A restore without a live record: the group is left as it is. */
  leave?: boolean;
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
  async function nodeGroupHealth(region: string, cluster: string, name: string, launch = false): Promise<{ state: NodeGroupState; issues: Issue[] }> {
    const out = await aws(`eks:DescribeNodegroup(${cluster}/${name})`, () => eks(region).describeNodegroup({ clusterName: cluster, nodegroupName: name }));
    const ng = out.nodegroup;
    return {
      state: { name, status: ng?.status ?? 'UNKNOWN', desiredSize: ng?.scalingConfig?.desiredSize, minSize: ng?.scalingConfig?.minSize, maxSize: ng?.scalingConfig?.maxSize, ...(launch && ng?.instanceTypes?.length ? { instanceTypes: ng.instanceTypes } : {}), ...(launch && ng?.capacityType ? { capacityType: ng.capacityType } : {}) },
      // "NodegroupHealth.issues: Any issues that are associated with the node group" (API_NodegroupHealth.html).
      issues: ng?.health?.issues ?? [],
    };
  }

  async function nodeGroup(region: string, cluster: string, name: string, launch = false): Promise<NodeGroupState> {
    return (await nodeGroupHealth(region, cluster, name, launch)).state;
  }

  return {
    /**
     * The cluster's status and its node groups' states; missing ones are reported, not thrown. `launch`: with what each
     * group launches (instance types, capacity type), which readiness reads and a run's records do not carry.
     */
    async describeCompute(input: { region: string; cluster: string; nodeGroups: string[]; launch?: boolean }): Promise<{ clusterStatus: string; nodeGroups: NodeGroupState[]; problems: string[] }> {
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
          const ng = await nodeGroup(input.region, input.cluster, name, input.launch === true);
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
    // `sendOnly`: return once each group's update is sent (or nothing is to send), with the ids of its updates: a caller
    // that must not be cancelled while its request is under way runs this to its answer, then waits with a second,
    // cancellable call, `waitOnly` with those ids in `follow`, which sends nothing (a cancel that reaches it late never
    // sends a scale-up after an undo).
    async scaleNodeGroups(input: {
      region: string;
      cluster: string;
      groups: NodeGroupTarget[];
      timeoutMs?: number;
      restore?: CapacityRestore;
      sendOnly?: boolean;
      waitOnly?: boolean;
      follow?: Record<string, string[]>;
    }): Promise<{ before: NodeGroupState[]; after: NodeGroupState[]; requestIds: string[]; restored?: string[]; updates?: Record<string, string[]>; notes?: string[] }> {
      const api = eks(input.region);
      const cluster = input.cluster;
      const before = await Promise.all(input.groups.map((g) => nodeGroup(input.region, cluster, g.name)));
      const notes: string[] = [];
      // The team's capacity: recorded on the cluster before drover changes a group, restored with `restore`. Bookkeeping:
      // a record that cannot be read or written (no eks:TagResource, the 50-tag limit) is a note, never the step's failure.
      const described = await aws(`eks:DescribeCluster(${cluster})`, () => api.describeCluster({ name: cluster })).then((o) => o.cluster).catch((e: unknown) => {
        notes.push(`capacity records of ${cluster} not read: ${(e as Error).message}`);
        return undefined;
      });
      const clusterArn = described?.arn;
      const tags = described?.tags ?? {};
      const recorded = input.groups.map((g, i) => {
        const r = parseCapacity(tags[capacityTag(g.name)]);
        // Live while the group's floor is still the one drover set; an older record says nothing of the team's now.
        return r && r.set !== undefined && before[i].minSize === r.set ? r : undefined;
      });
      const targets: Target[] = input.groups.map((g, i) => {
        if (!input.restore) return { name: g.name, size: g.size, min: g.size, max: g.max, exact: false };
        const r = recorded[i];
        const now = before[i];
        // No live record: a standby goes to the runbook's size (as before records existed: a failover by older code, a
        // record drover could not write); a region that serves is left as it is.
        if (!r && input.restore === 'exact') return { name: g.name, size: g.size, min: g.size, max: g.max, exact: false };
        if (!r) return { name: g.name, size: now.desiredSize ?? g.size, min: now.minSize ?? g.size, max: now.maxSize, exact: false, leave: true };
        if (input.restore === 'exact') {
          const desired = Math.max(r.desired, g.size);
          const ceiling = Math.max(now.maxSize ?? 0, g.max ?? 0, desired);
          return { name: g.name, size: desired, min: Math.min(r.min, desired), max: Math.min(Math.max(r.max, desired), ceiling), exact: true };
        }
        const desired = Math.max(now.desiredSize ?? 0, g.size);
        return { name: g.name, size: desired, min: Math.min(r.min, desired), max: Math.max(now.maxSize ?? 0, desired, 1), exact: true };
      });
      if (!input.restore && !input.waitOnly && clusterArn) {
        const record: Record<string, string> = {};
        before.forEach((b, i) => {
          const t = targets[i];
          const changes = b.desiredSize !== t.size || b.minSize !== t.min;
          // A live record keeps the team's values (a retried attempt reads its own earlier change as "before"), with the
          // floor this call sets; anything else is replaced by what the group has now.
          const live = recorded[i];
          if (changes && live) {
            if (live.set !== t.min) record[capacityTag(t.name)] = formatCapacity({ ...live, set: t.min });
          } else if (changes && b.minSize !== undefined && b.desiredSize !== undefined && b.maxSize !== undefined) {
            record[capacityTag(t.name)] = formatCapacity({ min: b.minSize, desired: b.desiredSize, max: b.maxSize, set: t.min });
          }
        });
        // Before the change, so a crash after it still has the record.
        if (Object.keys(record).length > 0) {
          await aws(`eks:TagResource(${cluster})`, () => api.tagResource({ resourceArn: clusterArn, tags: record })).catch((e: unknown) => {
            notes.push(`capacity of ${Object.keys(record).map((k) => k.slice(capacityTag('').length)).join(', ')} not recorded (a failback will leave ${Object.keys(record).length > 1 ? 'them' : 'it'} at the runbook's size): ${(e as Error).message}`);
          });
        }
      }
      const sent: string[][] = input.groups.map(() => []);
      // `follow`: the updates a sendOnly call sent, waited for as this call's own (their failure is its).
      const follows: Follow[] = input.groups.map((g) => {
        const ids = input.follow?.[g.name] ?? [];
        return { waitFor: new Map(ids.map((id) => [id, 'sent'])), own: new Set(ids), lookedUp: ids.length > 0 };
      });

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
        if (g.leave) return { state }; // left as it is: nothing of it to wait for
        const label = `${g.name} ${state.status} ${state.desiredSize}`;
        if (f.waitFor.size > 0) {
          const ids = [...f.waitFor].map(([id, status]) => `update ${id} ${status}${f.own.has(id) ? '' : ' (found in progress)'}`);
          return { state, pending: `${label}: ${ids.join(', ')}` };
        }
        if (!atTarget(state, g) && input.waitOnly) return { state, pending: `${label}: not at its target yet (this call waits; it sends nothing)` };
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
        if (issues.length > 0 && !g.leave && (input.restore ? g.size > (before[i].desiredSize ?? 0) : g.size >= (before[i].desiredSize ?? 0))) return { state, pending: `${label}: health issues: ${issues.map(describeIssue).join('; ')}` };
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
      const updates = Object.fromEntries(targets.map((t, i) => [t.name, [...follows[i].own]]));
      if (!input.restore || input.sendOnly) return { before, after, requestIds: sent.flat(), updates, ...(notes.length ? { notes } : {}) };
      // Restored: the record goes (the next change records afresh); a group without a live record was left as it is.
      const restored = targets.filter((t) => t.exact).map((t) => t.name);
      const left = targets.filter((t) => t.leave).map((t) => t.name);
      const sized = targets.filter((t) => !t.exact && !t.leave).map((t) => t.name);
      if (left.length > 0) notes.push(`${left.join(', ')} left as ${left.length > 1 ? 'they are' : 'it is'}: no live record of the team's scaling (drover did not change ${left.length > 1 ? 'them' : 'it'}, or it was restored already)`);
      if (sized.length > 0) notes.push(`${sized.join(', ')} at the runbook's size: no live record of the team's scaling`);
      // One key a call: EKS takes up to 50 (UntagResource tagKeys), moto (5.2) reads only the first of a repeated query
      // parameter. A record left behind is no longer live once the team's floor is back (its `set` no longer matches).
      if (clusterArn) {
        for (const name of restored) {
          await aws(`eks:UntagResource(${cluster})`, () => api.untagResource({ resourceArn: clusterArn, tagKeys: [capacityTag(name)] })).catch((e: unknown) => {
            notes.push(`capacity record of ${name} not removed (no longer live, so never applied again): ${(e as Error).message}`);
          });
        }
      }
      return { before, after, requestIds: sent.flat(), restored, updates, ...(notes.length ? { notes } : {}) };
    },
  };
}
