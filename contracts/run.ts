import type { Divergence, EnginePosition, RpoEvidence } from './engines';
import type { PlannedCluster } from './cluster-record';
import type { FingerprintComparison } from './fingerprint';
/**
 * A run's record, as the workflows keep it, the status query answers it, the CLI renders it and the
 * reports judge it: the run's status and steps, each database's outcome, a rebuild's own record, the
 * audit anchor, what notifications came to, and a drill's record. Imports nothing of drover's.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Decision, PendingGate } from './gates';

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

/** One step of a run's timeline, as the status view and the report show it. */
export interface Step {
  id: string;
  title: string;
  status: StepStatus;
  /** Workflow time (ms since epoch) the step started and ended. */
  startedAt?: number;
  endedAt?: number;
  /** Steps sharing a group ran side by side. */
  group?: string;
  /** True for approval gates: their duration is human latency. */
  gate?: boolean;
  notes: string[];
}

export interface RunStatus {
  workflowId: string;
  runId: string;
  kind: 'failover' | 'promote' | 'failback' | 'rebuild' | 'cleanup';
  runbook: string;
  mode: 'planned' | 'unplanned';
  fromRegion: string;
  targetRegion: string;
  reason: string;
  requestedBy: string;
  /** The runbook's recovery objectives, ms (reports judge against them). */
  objectives?: { rtoMs: number; rpoMs: number };
  /** A failback's round trip: its end compared with the fingerprint its failover took before its first change. */
  roundTrip?: FingerprintComparison;
  /**
   * The --time-scale factor, when below 1: soaks and waits were compressed (demos and quick drills), so the
   * measured RTO is shorter than a real run's and is never judged against the objective (`rto.met` false).
   */
  timeScale?: number;
  /** After a failure: what was undone, or deliberately kept, and the state the run left. */
  compensations?: string[];
  /** The head of the run's audit trail (SHA-256 chain) and its event count as written so far (live while running), and where its S3 copy is. */
  audit?: AuditAnchor;
  /**
   * A child run (a failover's or failback's promotion) whose work is done but whose trail could not be written:
   * why. It completes anyway, so its parent goes on (repoint, traffic) and says so; a run started on its own
   * fails instead.
   */
  auditError?: string;
  /** Set when the run is part of a drill: the drill's workflow id. */
  drill?: string;
  startedAt: number;
  phase: 'running' | 'waiting-approval' | 'completed' | 'failed' | 'rejected' | 'aborted';
  currentStep?: string;
  pendingGate?: PendingGate;
  decisions: Decision[];
  steps: Step[];
  /** Percent of traffic on the target region as last set. */
  trafficPercent: number;
  rpo?: RpoRecord;
  rto?: {
    ms: number;
    gateWaitMs: number;
    excludingGatesMs: number;
    objectiveMs: number;
    met: boolean;
    /** Moved by the data plane: how long, as documented, DNS answers take to leave the region after the flip (not in `ms`). */
    detectionMs?: number;
  };
  /** How an unplanned failover moved traffic: Route 53 health checks following drover's controls (docs/region-loss.md). */
  dataPlane?: {
    mechanism: 'route53-health-check-cloudwatch-metric';
    /** The control flipped: its alarm, in the region that holds it. */
    control: { region: string; alarmName: string; alarmRegion: string };
    /** When the alarm said ALARM (CloudWatch's StateUpdatedTimestamp). */
    flippedAt?: string;
    detectionMs: number;
  };
  error?: { type?: string; message: string };
  newWriterEndpoint?: string;
  /** What happened to each of the runbook's databases (the run's `rpo` is the worst of theirs). */
  databases?: DatabaseOutcome[];
  /**
   * A failback's reading of each old primary's engine (failback-divergence-v1): its final write position against what
   * the failover's promoted replica had; what lies past it was written to the old primary and never reached the new.
   */
  divergence?: Array<{ name: string; identifier: string; final?: EnginePosition; promotedAt?: EnginePosition; past?: Divergence; note: string }>;
  /** A cluster rebuild's own record: the stack, the plan the gate showed, what was applied. */
  rebuild?: RebuildRecord;
  /** The runbook's topic and what was published to it (failed publishes with their error). */
  notifications?: NotificationRecord;
}

/** What a promotion did to data: RPO 0 when fenced and caught up, else the lag (or the loss window) it accepted. */
export interface RpoRecord {
  lagSeconds: number;
  observedAt: string;
  note: string;
  /** What the figure rests on: positions read from the engines, or CloudWatch's ReplicaLag (weaker). Runs before engine-fence-v1 have none. */
  evidence?: RpoEvidence;
}

/** One database's part in a failover, promotion, switchover or failback. */
export interface DatabaseOutcome {
  /** The runbook's name for it ("main" for a lone `database`). */
  name: string;
  /** The instance that was (to be) promoted, and its region. */
  identifier: string;
  region: string;
  promoted: boolean;
  rpo?: RpoRecord;
  writerEndpoint?: string;
  /** Why it was not promoted, when it was not. */
  error?: string;
}

export interface RebuildRecord {
  region: string;
  cluster: string;
  force: boolean;
  /** Records that still sent traffic to the region at preflight (a forced rebuild). */
  trafficOnRegion?: string[];
  stack?: { dir: string; variant: string; resources: number };
  plan?: PlanSummary;
  apply?: ApplySummary;
  clusterArn?: string;
  redeploy?: { exitCode: number; durationMs: number; outputTail: string[] };
  /** What to do next (fail back), once the rebuilt region is healthy. */
  next?: string;
  /**
   * The last record of the cluster (a readiness evaluation, docs/rebuild-cluster.md "Rebuild what was there"), and how
   * the plan and the rebuilt cluster compare with it: one line per field (`version: recorded 1.30, now 1.31`).
   */
  recorded?: {
    workflowId?: string;
    evaluatedAt?: string;
    /** Where the code would differ from the record, as the plan gate showed it (not accepted / accepted). */
    plan?: { differences: string[]; accepted: string[] };
    /** The rebuilt cluster against the record, at verification. */
    verified?: { differences: string[]; accepted: string[]; informational: string[]; unknown: string[] };
  };
}

/** A run's audit anchor, as its record (status, result) carries it. */
export interface AuditAnchor {
  head: string;
  events: number;
  /** Where the runbook's S3 Object Lock copy is, when it has one. */
  s3?: { bucket: string; region: string; prefix?: string };
}

export type NotificationEvent = 'approval.requested' | 'gate.escalated' | 'step.failed' | 'run.finished';

/** What a run's notifications came to: kept in its status, so a topic that never answered is visible. */
export interface NotificationRecord {
  topicArn: string;
  sent: number;
  failed: Array<{ event: NotificationEvent; error: string }>;
}

export interface PlannedChange {
  address: string;
  /** From `show -json` resource_changes[].change.actions, e.g. ["create"], ["delete","create"]. */
  actions: string[];
}

/** A saved plan. The counts do not overlap: a replacement counts in `replace` only, not in `add` or `destroy`. */
export interface PlanSummary {
  add: number;
  change: number;
  destroy: number;
  replace: number;
  /** Addresses the plan deletes or replaces. */
  toDestroy: string[];
  /** Every resource change except no-op and read. */
  changes: PlannedChange[];
  planFile: string;
  planSha256: string;
  noChanges: boolean;
  /** The stack's directory was not on the worker that planned: it was synthesized again there (deterministic, same run tag). */
  resynthesized?: string;
  /** The cluster the plan would create (its EKS resources' planned values, no other attribute), when asked for by name. */
  planned?: PlannedCluster;
  /** The team's code: the digest of its code, lock file and modules after init; apply refuses another (activities/team-code.ts initDigest). */
  codeSha256?: string;
}

export interface ApplySummary {
  applied: string[];
  /** Root module outputs; sensitive values are replaced by "(sensitive)". */
  outputs: Record<string, unknown>;
  alreadyApplied: boolean;
  replanned: boolean;
  durationMs: number;
  /** The stack's directory was not on the worker that applied: it was synthesized again there, and the plan made again. */
  resynthesized?: string;
}

export type DrillPhase = 'checking' | 'failing-over' | 'failing-back' | 'rolling-back' | 'completed' | 'failed' | 'cancelled' | 'refused';

/** A drill's record: what it refused or ran, each child run's status, and why it failed if it did. */
export interface DrillResult {
  workflowId: string;
  runId: string;
  kind: 'drill';
  runbook: string;
  trigger: 'manual' | 'schedule';
  requestedBy: string;
  startedAt: number;
  endedAt?: number;
  phase: DrillPhase;
  objectives: { rtoMs: number; rpoMs: number };
  /** Child workflow ids, known as soon as each starts (the CLI follows them live). */
  failoverId: string;
  failbackId: string;
  failover?: RunStatus;
  failback?: RunStatus;
  /** Reasons the drill was refused before it changed anything. */
  refusals?: string[];
  /** What failed (the failed check), and what the drill did about it. */
  failure?: string;
  /** Undo steps taken instead of a failback when the replica was never promoted. */
  rollback?: string[];
  /** The real failover that stopped this drill after its promotion and resumes from it (no failback was run). */
  handedOverTo?: string;
  /** The head of the drill's own audit trail (its children keep theirs): live while it runs, and where its S3 copy is. */
  audit?: AuditAnchor;
  /** The runbook's topic and what the drill published to it. */
  notifications?: NotificationRecord;
}

/** Live status of a run (failover, promotion, failback, rebuild). */
export const statusQuery = defineQuery<RunStatus>('status');

/** Live state of a drill. */
export const drillQuery = defineQuery<DrillResult>('drill');
/**
 * Sent to a drill by a real run that took its runbook, with the cancel (activity preemptDrills): the drill reads the
 * lock again. Temporal records one cancel request a run, so a drill an operator cancelled first still hears of it. It
 * carries nothing: the drill reads who holds the lock from the lock and Temporal, never from the signal.
 */
export const drillPreemptedSignal = defineSignal('drillPreempted');

/**
 * How an RTO stands against its objective, in words: `met`, `missed` (or the caller's word for it), or, for a
 * time-scaled run, `not judged (time-scaled ×0.01)`: its compressed soaks say nothing about a real run's RTO.
 */
export function rtoVerdict(met: boolean, timeScale: number | undefined, missed = 'missed'): string {
  if (timeScale !== undefined && timeScale < 1) return `not judged (time-scaled ×${timeScale})`;
  return met ? 'met' : missed;
}
