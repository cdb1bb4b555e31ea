import type { GlobalCluster } from '@aws-sdk/client-rds';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../contracts/failures';
import type { AuroraApi } from '../aws/clients';
import { aws, awsErrorCode, toFailure } from '../aws/errors';
import { pollUntil } from './wait';

export interface GlobalMember {
  clusterArn: string;
  region: string;
  isWriter: boolean;
}

/** A switchover or failover RDS reports as under way (DescribeGlobalClusters FailoverState). */
export interface GlobalTransition {
  /** pending | switching-over | failing-over | cancelling */
  status: string;
  fromArn?: string;
  toArn?: string;
  /** True for an unplanned failover (AllowDataLoss), false for a switchover. */
  dataLossAllowed?: boolean;
}

export interface GlobalClusterState {
  identifier: string;
  status: string;
  members: GlobalMember[];
  writerArn?: string;
  transition?: GlobalTransition;
}

export interface GlobalWriterChange {
  /** The target already was the writer: nothing was called. */
  alreadyWriter: boolean;
  /** A switchover/failover toward the target was already under way (a previous attempt's call landed): nothing was called. */
  alreadyInProgress: boolean;
  requestId?: string;
  before: GlobalClusterState;
}

const IN_TRANSITION = new Set(['switching-over', 'failing-over']);
// FailoverState.Status; the SDK's FailoverStatus enum predates 'switching-over', which RDS also reports.
const TRANSITION_ACTIVE = new Set(['pending', 'switching-over', 'failing-over']);

/** arn:aws:rds:<region>:<account>:cluster:<id> */
const regionOf = (arn: string) => arn.split(':')[3] ?? '';
const clusterIdOf = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1);

function toState(gc: GlobalCluster, fallbackId: string): GlobalClusterState {
  const members = (gc.GlobalClusterMembers ?? [])
    .filter((m) => m.DBClusterArn)
    .map((m) => ({ clusterArn: m.DBClusterArn as string, region: regionOf(m.DBClusterArn as string), isWriter: m.IsWriter === true }));
  const fs = gc.FailoverState;
  return {
    identifier: gc.GlobalClusterIdentifier ?? fallbackId,
    status: gc.Status ?? 'unknown',
    members,
    writerArn: members.find((m) => m.isWriter)?.clusterArn,
    transition: fs?.Status ? { status: fs.Status, fromArn: fs.FromDbClusterArn, toArn: fs.ToDbClusterArn, dataLossAllowed: fs.IsDataLossAllowed } : undefined,
  };
}

/** The member named by a DB cluster identifier or ARN (cluster identifiers are case-insensitive). */
function findMember(state: GlobalClusterState, target: string): GlobalMember {
  const wanted = target.trim().toLowerCase();
  const member = state.members.find((m) => {
    const arn = m.clusterArn.toLowerCase();
    return wanted.startsWith('arn:') ? arn === wanted : arn.endsWith(`:cluster:${wanted}`);
  });
  if (!member) {
    const names = state.members.map((m) => clusterIdOf(m.clusterArn)).join(', ') || 'none';
    throw ApplicationFailure.create({
      type: FailureType.NotFound,
      message: `DB cluster ${target} is not a member of global cluster ${state.identifier} (members: ${names})`,
      nonRetryable: true,
    });
  }
  return member;
}

/**
 * Whether the global cluster is already moving its writer to `targetArn`. RDS reports the
 * destination in FailoverState; when it reports only a switching-over/failing-over status, the
 * direction is unknown and the move is taken as ours (the wait then checks who ends up writer).
 */
function movingToward(state: GlobalClusterState, targetArn: string): boolean {
  const t = state.transition;
  if (t?.toArn) return TRANSITION_ACTIVE.has(t.status) && t.toArn.toLowerCase() === targetArn.toLowerCase();
  return IN_TRANSITION.has(state.status);
}

function describeProgress(s: GlobalClusterState): string {
  const writer = s.writerArn ? clusterIdOf(s.writerArn) : 'none';
  const t = s.transition;
  const move = t ? `, ${t.status}${t.toArn ? ` toward ${clusterIdOf(t.toArn)}` : ''}` : '';
  return `${s.status}, writer ${writer}${move}`;
}

/**
 * Aurora global database activities: describe, planned switchover, unplanned failover and the wait
 * for the new writer. `region` is the region the calls go to: any region hosting a member, and for
 * an unplanned failover the target's (the primary region may be gone).
 */
export function createAuroraActivities(rds: (region: string) => AuroraApi) {
  async function describe(region: string, globalClusterId: string): Promise<GlobalClusterState> {
    const out = await aws(`rds:DescribeGlobalClusters(${globalClusterId})`, () => rds(region).describeGlobalClusters({ GlobalClusterIdentifier: globalClusterId }));
    // Only the cluster asked for, never another one in the answer (moto ignores the identifier filter). The
    // identifier "is stored as a lowercase string" (CreateGlobalCluster, RDS API Reference), hence the case.
    const gc = out.GlobalClusters?.find((g) => g.GlobalClusterIdentifier?.toLowerCase() === globalClusterId.toLowerCase());
    if (!gc) throw ApplicationFailure.create({ type: FailureType.NotFound, message: `global cluster ${globalClusterId} not found in ${region}`, nonRetryable: true });
    return toState(gc, globalClusterId);
  }

  /**
   * Check, then act: a target already writer, or already being made writer by an earlier attempt,
   * is left alone, so a retried activity never requests a second switchover or failover.
   */
  async function changeWriter(
    kind: 'SwitchoverGlobalCluster' | 'FailoverGlobalCluster',
    input: { region: string; globalClusterId: string; targetCluster: string },
    act: (targetArn: string) => Promise<{ $metadata: { requestId?: string } }>,
  ): Promise<GlobalWriterChange> {
    if (!input.targetCluster.trim()) throw ApplicationFailure.create({ type: FailureType.Validation, message: `${kind}: targetCluster is empty`, nonRetryable: true });
    const before = await describe(input.region, input.globalClusterId);
    const target = findMember(before, input.targetCluster);
    if (target.isWriter) return { alreadyWriter: true, alreadyInProgress: false, before };
    if (movingToward(before, target.clusterArn)) return { alreadyWriter: false, alreadyInProgress: true, before };
    const call = `rds:${kind}(${input.globalClusterId} -> ${clusterIdOf(target.clusterArn)})`;
    try {
      const out = await act(target.clusterArn);
      return { alreadyWriter: false, alreadyInProgress: false, requestId: out.$metadata.requestId, before };
    } catch (err) {
      // A move that started between our describe and our call (a previous attempt's request landed
      // late) answers InvalidGlobalClusterStateFault; so does one toward another cluster, which must
      // not be taken for ours.
      if (awsErrorCode(err) !== 'InvalidGlobalClusterStateFault') throw toFailure(err, call);
      const now = await describe(input.region, input.globalClusterId);
      const nowTarget = findMember(now, input.targetCluster);
      if (nowTarget.isWriter || movingToward(now, nowTarget.clusterArn)) return { alreadyWriter: false, alreadyInProgress: true, before };
      throw toFailure(err, call, `global cluster now ${describeProgress(now)}`);
    }
  }

  return {
    /** The global cluster's status and members, each with its region and role. */
    describeGlobalCluster: (input: { region: string; globalClusterId: string }) => describe(input.region, input.globalClusterId),

    /** Planned: SwitchoverGlobalCluster (RPO 0). Idempotent: if the target is already the writer, no call. */
    switchoverGlobalCluster: (input: { region: string; globalClusterId: string; targetCluster: string }) =>
      changeWriter('SwitchoverGlobalCluster', input, (targetArn) =>
        rds(input.region).switchoverGlobalCluster({ GlobalClusterIdentifier: input.globalClusterId, TargetDbClusterIdentifier: targetArn }),
      ),

    /** Unplanned: FailoverGlobalCluster with AllowDataLoss (RPO > 0 accepted). Same idempotency. */
    failoverGlobalCluster: (input: { region: string; globalClusterId: string; targetCluster: string }) =>
      changeWriter('FailoverGlobalCluster', input, (targetArn) =>
        rds(input.region).failoverGlobalCluster({ GlobalClusterIdentifier: input.globalClusterId, TargetDbClusterIdentifier: targetArn, AllowDataLoss: true }),
      ),

    /** Wait until the target is the only writer and the global cluster is available, heartbeating the roles. */
    async waitGlobalWriter(input: { region: string; globalClusterId: string; targetCluster: string; timeoutMs?: number }): Promise<GlobalClusterState> {
      return pollUntil(
        { what: `${input.targetCluster} to be the writer of ${input.globalClusterId}`, timeoutMs: input.timeoutMs ?? 30 * 60_000, initialIntervalMs: 500, maxIntervalMs: 15_000 },
        async () => {
          const s = await describe(input.region, input.globalClusterId);
          const target = findMember(s, input.targetCluster);
          // Roles flip in separate steps: done only once the target is the single writer (the old one demoted).
          const writers = s.members.filter((m) => m.isWriter).length;
          return { done: target.isWriter && writers === 1 && s.status === 'available', value: s, progress: describeProgress(s) };
        },
      );
    },
  };
}
