import type { RunStatus, Step } from '../contracts/run';
import { describeEvidence, type RpoEvidence } from '../contracts/engines';

export type ReportKind = 'drill' | 'failover' | 'failback' | 'promote' | 'rebuild' | 'cleanup';
export type ReportPhase = 'running' | 'waiting-approval' | 'completed' | 'failed' | 'rejected' | 'aborted' | 'cancelled' | 'refused';

export interface ReportInput {
  kind: ReportKind;
  workflowId: string;
  runId: string;
  runbook: string;
  /** The runbook's objectives, ms. */
  objectives: { rtoMs: number; rpoMs: number };
  /** Outcome of the whole run. */
  phase: ReportPhase;
  startedAt: number;
  endedAt?: number;
  /** The runs this report covers, in order: a failover or failback alone, or a drill's failover then failback. */
  runs: RunStatus[];
  /** Why a drill failed / was cancelled / was refused, if it did. */
  note?: string;
}

/** One step of one run, with its offset from the report's start and its duration. */
export interface ReportStep {
  run: RunStatus['kind'];
  id: string;
  title: string;
  status: Step['status'];
  group?: string;
  gate: boolean;
  startedAt?: number;
  endedAt?: number;
  /** Start, as ms after the report's startedAt. */
  offsetMs?: number;
  durationMs?: number;
  /** On the critical path (for a parallel group: its longest member). */
  critical: boolean;
  notes: string[];
}

export interface GateWait {
  run: RunStatus['kind'];
  step: string;
  gate: string;
  status: Step['status'];
  /** How long the run waited for a human; undefined while the gate is still open. */
  waitedMs?: number;
  decision?: 'approved' | 'rejected';
  approver?: string;
  decidedAt?: number;
  comment?: string;
}

export interface AuditEntry {
  at: number;
  actor: string;
  action: string;
  detail?: string;
}

export interface ReportRun {
  kind: RunStatus['kind'];
  workflowId: string;
  runId: string;
  mode: RunStatus['mode'];
  fromRegion: string;
  targetRegion: string;
  reason: string;
  requestedBy: string;
  phase: RunStatus['phase'];
  startedAt: number;
  /** End of the run's last step. */
  endedAt?: number;
  durationMs?: number;
  error?: { type?: string; message: string };
}

export interface Check {
  name: 'completed' | 'rto' | 'rpo' | 'round-trip';
  passed: boolean;
  detail: string;
}

/** One database's RPO, judged against the runbook's objective. */
export interface DatabaseRpo {
  name: string;
  /** The instance that was (to be) promoted, and its region. */
  identifier: string;
  region: string;
  /** Replica lag at promotion; -1 when unknown; undefined when none was recorded. */
  lagSeconds?: number;
  observedAt?: string;
  note?: string;
  /** What the figure rests on (engine-fence-v1): the engines' positions, or ReplicaLag (weaker). */
  evidence?: RpoEvidence;
  promoted: boolean;
  /** Promoted, with a known lag within the objective. */
  met: boolean;
  /** Why it was not promoted, when it was not. */
  error?: string;
}

/** A finished (or running) drill, failover, failback or promotion, as plain JSON-serialisable data. */
export interface Report {
  version: 1;
  kind: ReportKind;
  workflowId: string;
  runId: string;
  runbook: string;
  phase: ReportPhase;
  startedAt: number;
  endedAt?: number;
  note?: string;
  objectives: { rtoMs: number; rpoMs: number };
  runs: ReportRun[];
  rto: {
    /** Trigger to traffic fully on the target region and healthy; undefined if traffic never got there. */
    ms?: number;
    /** 'recorded': the run's own measurement; 'timestamps': computed from its steps. */
    source: 'recorded' | 'timestamps' | 'none';
    /** Which run it was measured on (a drill's failover). */
    run?: RunStatus['kind'];
    gateWaitMs: number;
    excludingGatesMs?: number;
    objectiveMs: number;
    /** Never true for a time-scaled run. */
    met: boolean;
    /** The measured run's --time-scale factor, when below 1: its RTO is not judged against the objective. */
    timeScale?: number;
  };
  /** A drill's failback duration: how long it took to return to the original region. */
  timeToRestoreMs?: number;
  rpo: {
    /** The measured run's RPO: with several databases, the worst of theirs; -1 when unknown. */
    lagSeconds?: number;
    observedAt?: string;
    note?: string;
    /** What the figure rests on (engine-fence-v1): the engines' positions, or ReplicaLag (weaker). */
    evidence?: RpoEvidence;
    objectiveMs: number;
    /** With several databases: every one of them was promoted within the objective. */
    met: boolean;
    /** Each database's own RPO, when the measured run had more than one. */
    databases?: DatabaseRpo[];
  };
  steps: ReportStep[];
  /** Sum of sequential step durations, a parallel group counting as its longest member. */
  criticalPath: { steps: string[]; ms: number };
  gates: GateWait[];
  audit: AuditEntry[];
  checks: Check[];
  passed: boolean;
}

export interface TrendPoint {
  workflowId: string;
  startedAt: number;
  rtoMs?: number;
  rpoSeconds?: number;
  passed: boolean;
  /** A time-scaled run that passed every other check: its RTO was not judged (neither a pass nor a miss). */
  notJudged?: boolean;
  phase: string;
}

/**
 * The report's verdict in words: PASS; NOT JUDGED when the run was time-scaled and every check but the RTO
 * (which a time-scaled run never meets) passed; else FAIL.
 */
export function verdictOf(r: Report): 'PASS' | 'FAIL' | 'NOT JUDGED' {
  if (r.passed) return 'PASS';
  const othersPassed = r.checks.every((c) => c.passed || c.name === 'rto');
  return r.rto.timeScale !== undefined && othersPassed ? 'NOT JUDGED' : 'FAIL';
}

/** Build the report of a run from its status snapshots: RTO, RPO, critical path, gate waits, verdict. */
export function buildReport(input: ReportInput): Report {
  const { runs, objectives } = input;
  const steps = reportSteps(runs, input.startedAt);
  const criticalPath = markCriticalPath(runs, steps);
  const reportRuns = runs.map(reportRun);

  const measured = runs[0];
  const rto = measureRto(measured, objectives.rtoMs);
  const rpo = measureRpo(measured, objectives.rpoMs);

  const failback = input.kind === 'drill' ? reportRuns.find((r, i) => i > 0 && r.kind === 'failback') : undefined;
  const timeToRestoreMs = failback?.phase === 'completed' ? failback.durationMs : undefined;

  const allDone = runs.length > 0 && runs.every((r) => r.phase === 'completed');
  const completed = input.phase === 'completed' && allDone;
  const checks: Check[] = [
    {
      name: 'completed',
      passed: completed,
      detail: completed ? `all ${runs.length} run(s) completed` : incompleteDetail(input),
    },
  ];
  // A standalone promotion moves no traffic, so it has no RTO to hold against the objective.
  if (input.kind !== 'promote' || rto.ms !== undefined) {
    checks.push({
      name: 'rto',
      passed: rto.met,
      detail:
        rto.ms === undefined
          ? 'not measured: traffic never reached 100% on the target region'
          : rto.timeScale !== undefined
            ? `${rto.ms} ms, not judged against the objective of ${objectives.rtoMs} ms: a time-scaled run (×${rto.timeScale}), its soaks compressed`
            : `${rto.ms} ms against an objective of ${objectives.rtoMs} ms`,
    });
  }
  checks.push({ name: 'rpo', passed: rpo.met, detail: rpoDetail(rpo) });
  // A failback's round trip (a drill's, or one on its own), compared with its failover's fingerprint: any difference fails.
  const trip = runs.find((r) => r.kind === 'failback' && r.roundTrip)?.roundTrip;
  if (trip && !trip.missing) {
    checks.push({
      name: 'round-trip',
      passed: trip.restoredExactly,
      detail: trip.restoredExactly ? `restored exactly: equal, field by field, to what ${trip.baseline} found before its first change` : `${trip.differences.length} difference${trip.differences.length === 1 ? '' : 's'} from before ${trip.baseline}: ${trip.differences.join('; ')}`,
    });
  }

  const lastEnd = maxOf(reportRuns.map((r) => r.endedAt));
  return {
    version: 1,
    kind: input.kind,
    workflowId: input.workflowId,
    runId: input.runId,
    runbook: input.runbook,
    phase: input.phase,
    startedAt: input.startedAt,
    endedAt: input.endedAt ?? (input.phase === 'running' || input.phase === 'waiting-approval' ? undefined : lastEnd),
    note: input.note,
    objectives: { ...objectives },
    runs: reportRuns,
    rto,
    timeToRestoreMs,
    rpo,
    steps,
    criticalPath,
    gates: gateWaits(runs),
    audit: auditExcerpt(runs),
    checks,
    passed: checks.every((c) => c.passed),
  };
}

/** The report's point on the RTO trend across recent drills. */
export function trendPoint(r: Report): TrendPoint {
  return { workflowId: r.workflowId, startedAt: r.startedAt, rtoMs: r.rto.ms, rpoSeconds: r.rpo.lagSeconds, passed: r.passed, ...(verdictOf(r) === 'NOT JUDGED' ? { notJudged: true } : {}), phase: r.phase };
}

/**
 * What happened, when, and who did it: run starts, step transitions and gate decisions, oldest first.
 * Built from the runs' own status until the audit trail exists, which will replace it.
 */
export function auditExcerpt(runs: RunStatus[]): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (const run of runs) {
    entries.push({ at: run.startedAt, actor: run.requestedBy, action: `start ${run.kind} ${run.fromRegion} → ${run.targetRegion} (${run.mode})`, detail: run.reason });
    for (const step of run.steps) {
      const decision = step.gate ? decisionFor(run, step) : undefined;
      if (step.startedAt !== undefined && step.status !== 'skipped') {
        entries.push({ at: step.startedAt, actor: 'drover', action: step.gate ? `gate ${gateName(step)} opened` : `step ${step.id} started` });
      }
      if (step.endedAt !== undefined) {
        entries.push({ at: step.endedAt, actor: decision?.approver ?? 'drover', action: `step ${step.id} ${step.status}`, detail: joinNotes(step.notes) });
      }
    }
    for (const d of run.decisions) {
      entries.push({ at: d.at, actor: d.approver, action: `${d.decision} gate ${d.gate}`, detail: d.comment });
    }
    if (run.error) {
      const at = maxOf(run.steps.map((s) => s.endedAt)) ?? run.startedAt;
      entries.push({ at, actor: 'drover', action: `${run.kind} ${run.phase}`, detail: run.error.message });
    }
  }
  // Stable: entries at the same millisecond keep the order they were recorded in.
  return entries.map((e, i) => ({ e, i })).sort((a, b) => a.e.at - b.e.at || a.i - b.i).map(({ e }) => e);
}

function reportSteps(runs: RunStatus[], t0: number): ReportStep[] {
  return runs.flatMap((run) =>
    run.steps.map((s) => ({
      run: run.kind,
      id: s.id,
      title: s.title,
      status: s.status,
      group: s.group,
      gate: s.gate === true,
      startedAt: s.startedAt,
      endedAt: s.endedAt,
      offsetMs: s.startedAt !== undefined ? s.startedAt - t0 : undefined,
      durationMs: duration(s),
      critical: false,
      notes: [...s.notes],
    })),
  );
}

/**
 * Runs are sequential, and so are the steps of a run, except the members of a group, which ran side by
 * side: the group lasts as long as its longest member, and that member is the one on the critical path.
 */
function markCriticalPath(runs: RunStatus[], steps: ReportStep[]): Report['criticalPath'] {
  const path: ReportStep[] = [];
  let ms = 0;
  let offset = 0;
  for (const run of runs) {
    const own = steps.slice(offset, offset + run.steps.length);
    offset += run.steps.length;
    const segments: ReportStep[][] = [];
    const byGroup = new Map<string, ReportStep[]>();
    for (const s of own) {
      if (s.durationMs === undefined) continue;
      if (!s.group) {
        segments.push([s]);
      } else if (byGroup.has(s.group)) {
        byGroup.get(s.group)?.push(s);
      } else {
        const segment = [s];
        byGroup.set(s.group, segment);
        segments.push(segment);
      }
    }
    for (const segment of segments) {
      // The first of equally long members, so the path is deterministic.
      const longest = segment.reduce((a, b) => ((b.durationMs ?? 0) > (a.durationMs ?? 0) ? b : a));
      longest.critical = true;
      path.push(longest);
      ms += longest.durationMs ?? 0;
    }
  }
  const ids = path.map((s) => s.id);
  const ambiguous = new Set(ids.filter((id, i) => ids.indexOf(id) !== i));
  return { steps: path.map((s) => (ambiguous.has(s.id) ? `${s.run}/${s.id}` : s.id)), ms };
}

function measureRto(run: RunStatus | undefined, objectiveMs: number): Report['rto'] {
  if (!run) return { source: 'none', gateWaitMs: 0, objectiveMs, met: false };
  // A time-scaled run's soaks were compressed: its RTO is shorter than a real run's, so it never meets the objective.
  const scaled = run.timeScale !== undefined && run.timeScale < 1 ? { timeScale: run.timeScale } : undefined;
  const judged = (ms: number) => (scaled ? { met: false, ...scaled } : { met: ms <= objectiveMs });
  if (run.rto) {
    const { ms, gateWaitMs } = run.rto;
    return { ms, source: 'recorded', run: run.kind, gateWaitMs, excludingGatesMs: ms - gateWaitMs, objectiveMs, ...judged(ms) };
  }
  const end = trafficHealthyAt(run.steps);
  const gateWaitMs = run.steps
    .filter((s) => s.gate && (end === undefined || (s.endedAt ?? Infinity) <= end))
    .reduce((sum, s) => sum + (duration(s) ?? 0), 0);
  if (end === undefined) return { source: 'none', run: run.kind, gateWaitMs, objectiveMs, met: false, ...scaled };
  const ms = end - run.startedAt;
  return { ms, source: 'timestamps', run: run.kind, gateWaitMs, excludingGatesMs: ms - gateWaitMs, objectiveMs, ...judged(ms) };
}

/** End of the last traffic step (it soaked healthy at 100%), or of the verification right after it. */
function trafficHealthyAt(steps: Step[]): number | undefined {
  let last = -1;
  steps.forEach((s, i) => {
    if (s.status === 'done' && s.id.startsWith('traffic')) last = i;
  });
  const traffic = steps[last];
  // A shift that was reverted leaves an earlier percentage as the last done step: traffic never got to 100%.
  if (!traffic || !traffic.id.endsWith('-100') || traffic.endedAt === undefined) return undefined;
  const verify = steps[last + 1];
  if (verify?.id === 'verify' && verify.status === 'done' && verify.endedAt !== undefined) return verify.endedAt;
  return traffic.endedAt;
}

/** Lag within the objective; an unknown lag (-1) never is. */
function withinObjective(lagSeconds: number | undefined, objectiveMs: number): boolean {
  return lagSeconds !== undefined && lagSeconds >= 0 && lagSeconds * 1000 <= objectiveMs;
}

function measureRpo(run: RunStatus | undefined, objectiveMs: number): Report['rpo'] {
  const aggregate = run?.rpo ? { lagSeconds: run.rpo.lagSeconds, observedAt: run.rpo.observedAt, note: run.rpo.note, ...(run.rpo.evidence ? { evidence: run.rpo.evidence } : {}) } : {};
  const outcomes = run?.databases ?? [];
  if (outcomes.length <= 1) {
    return run?.rpo ? { ...aggregate, objectiveMs, met: withinObjective(run.rpo.lagSeconds, objectiveMs) } : { objectiveMs, met: false };
  }
  const databases = outcomes.map((d): DatabaseRpo => ({
    name: d.name,
    identifier: d.identifier,
    region: d.region,
    lagSeconds: d.rpo?.lagSeconds,
    observedAt: d.rpo?.observedAt,
    note: d.rpo?.note,
    ...(d.rpo?.evidence ? { evidence: d.rpo.evidence } : {}),
    promoted: d.promoted,
    met: d.promoted && withinObjective(d.rpo?.lagSeconds, objectiveMs),
    error: d.error,
  }));
  return { ...aggregate, objectiveMs, met: databases.every((d) => d.met), databases };
}

/** The rpo check's detail: the lag against the objective; with several databases, the ones that missed. */
function rpoDetail(rpo: Report['rpo']): string {
  const objective = `an objective of ${rpo.objectiveMs} ms`;
  if (!rpo.databases) {
    if (rpo.lagSeconds === undefined) return 'not measured: no replica lag was recorded at promotion';
    const evidence = describeEvidence(rpo.evidence);
    const by = evidence ? `; evidence ${evidence}` : '';
    if (rpo.lagSeconds < 0) return `replica lag unknown at promotion against ${objective}${by}`;
    return `${rpo.lagSeconds * 1000} ms of replica lag against ${objective}${by}`;
  }
  const all = rpo.databases.length;
  const missed = rpo.databases.filter((d) => !d.met);
  if (missed.length === 0) {
    const worst = rpo.databases.reduce((w, d) => ((d.lagSeconds ?? 0) > (w.lagSeconds ?? 0) ? d : w));
    return `all ${all} databases within ${objective}; worst ${worst.name}: ${(worst.lagSeconds ?? 0) * 1000} ms of replica lag`;
  }
  const why = missed.map((d) => `${d.name}: ${missedBecause(d, objective)}`).join('; ');
  const others = all - missed.length;
  return `${why}; ${others === 0 ? `none of the ${all} databases within the objective` : `${others} other database${others === 1 ? '' : 's'} within the objective`}`;
}

function missedBecause(d: DatabaseRpo, objective: string): string {
  if (!d.promoted) return `not promoted${d.error ? ` (${d.error})` : ''}`;
  if (d.lagSeconds === undefined) return 'no replica lag recorded at promotion';
  if (d.lagSeconds < 0) return `replica lag unknown against ${objective}`;
  return `${d.lagSeconds * 1000} ms of replica lag against ${objective}`;
}

function gateWaits(runs: RunStatus[]): GateWait[] {
  return runs.flatMap((run) =>
    run.steps
      .filter((s) => s.gate)
      .map((s) => {
        const d = decisionFor(run, s);
        return {
          run: run.kind,
          step: s.id,
          gate: gateName(s),
          status: s.status,
          waitedMs: duration(s),
          decision: d?.decision,
          approver: d?.approver,
          decidedAt: d?.at,
          comment: d?.comment,
        };
      }),
  );
}

function reportRun(run: RunStatus): ReportRun {
  const endedAt = run.phase === 'running' || run.phase === 'waiting-approval' ? undefined : maxOf(run.steps.map((s) => s.endedAt));
  return {
    kind: run.kind,
    workflowId: run.workflowId,
    runId: run.runId,
    mode: run.mode,
    fromRegion: run.fromRegion,
    targetRegion: run.targetRegion,
    reason: run.reason,
    requestedBy: run.requestedBy,
    phase: run.phase,
    startedAt: run.startedAt,
    endedAt,
    durationMs: endedAt !== undefined ? endedAt - run.startedAt : undefined,
    error: run.error ? { ...run.error } : undefined,
  };
}

function incompleteDetail(input: ReportInput): string {
  const failed = input.runs.find((r) => r.phase !== 'completed');
  const why = input.note ?? failed?.error?.message;
  const which = failed ? `${failed.kind} ${failed.phase}` : input.runs.length === 0 ? 'no run started' : `run ${input.phase}`;
  return `${input.kind} ${input.phase}: ${which}${why ? `: ${why}` : ''}`;
}

function decisionFor(run: RunStatus, step: Step) {
  const gate = gateName(step);
  return [...run.decisions].reverse().find((d) => d.gate === gate);
}

/** Gate steps are journalled as `gate:<name>`; decisions name the gate alone. */
function gateName(step: Step): string {
  return step.id.replace(/^gate:/, '');
}

function duration(s: Pick<Step, 'startedAt' | 'endedAt'>): number | undefined {
  return s.startedAt !== undefined && s.endedAt !== undefined ? s.endedAt - s.startedAt : undefined;
}

function joinNotes(notes: string[]): string | undefined {
  return notes.length > 0 ? notes.join('; ') : undefined;
}

function maxOf(values: Array<number | undefined>): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length > 0 ? Math.max(...defined) : undefined;
}
