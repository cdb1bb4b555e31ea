import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities';
import { createRunbookActivities } from '../../activities/runbooks';
import type { DbState } from '../../activities/rds';
import type { NodeGroupState } from '../../activities/eks';
import type { RecordState, TrafficInput } from '../../activities/route53';
import type { FenceState } from '../../activities/dblifecycle';
import type { ControlReading } from '../../activities/controls';
import { controlOf } from '../../contracts/controls';
import { databasesOf, dbIn } from '../../runbooks/databases';
import type { Runbook } from '../../runbooks/schema';
import { testRunbooks } from './fixtures';
import { decideLock, type AcquireArgs, type LockAnswer, type LockHolder, type LockState } from '../../contracts/lock';
import type { Fingerprint, FingerprintScope } from '../../contracts/fingerprint';

/**
 * A stub world for the workflow tests: plain activity functions over a small in-memory model of one
 * runbook's resources (databases, traffic weights, node group sizes, writer records), recording every
 * call in order. The real workflows run on the time-skipping test server against it: no AWS, no moto.
 * Runbooks are resolved by the real runbook activity from the test runbook source (writeRunbook/refOf).
 */

/** One activity call as the workflow made it. */
export interface Call {
  name: string;
  input: Record<string, unknown>;
}

/** Activities that change the world (what a test checks was, or was not, done). */
export const MUTATING = ['scaleNodeGroups', 'fenceInstance', 'fenceEngine', 'holdReadOnly', 'releaseReadOnly', 'rebootToFence', 'unfenceInstance', 'promoteReplica', 'upsertCname', 'shiftTraffic', 'setControl', 'snapshotInstance', 'retireInstance', 'createReplica'];

/** The write positions the stub engines answer with. */
export const STUB_WRITER_LSN = '0/3000148';
export const STUB_REPLICA_LSN = '0/3000060';

/** A typed failure as activities raise them: non-retryable, so the workflow sees it at once. */
export function typedFailure(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

type Fail = (input: Record<string, unknown>, nth: number) => Error | undefined;

export interface WorldOptions {
  /**
   * After a failover (what a failback starts from): the standby replica is the standalone writer, the
   * original region's database is an old primary still there, traffic is all on the standby, and the
   * original region's compute is at standby size.
   */
  failedOver?: boolean;
  /** Whether drover prepare made the runbook's data-plane controls (default true): each region's alarm, OK. */
  prepared?: boolean;
}

/** A call held open: `reached` resolves when the activity has done its work and is waiting; `release` lets it return. */
export interface Hold {
  reached: Promise<void>;
  release(): void;
}

export class StubWorld {
  readonly calls: Call[] = [];
  private readonly holds = new Map<string, { nth: number; reached: () => void; released: Promise<void> }>();
  private readonly lateFailures = new Map<string, Fail>();
  /** The runbook's lock (the real lock workflow's rule, contracts/lock.ts, over one in-memory state). */
  lock: LockState = { displaced: [] };
  /** Runs (workflow ids) that have ended, as the lock reads them: a holder among them is passed over. */
  readonly endedRuns = new Set<string>();
  /** Instances carrying drover's fence tag now. */
  private readonly fenced = new Set<string>();
  /** The instances whose parameter group holds the fence's read_only (a test may seed one an earlier fence left). */
  readonly readOnly = new Set<string>();
  /** What lastFailoverEvidence answers (the failover's RPO evidence per database): none unless a test sets one. */
  failoverEvidence?: Awaited<ReturnType<Activities['lastFailoverEvidence']>>;
  /** What lastFailoverFingerprint answers (the failback's baseline): none unless a test sets one. */
  baseline: { workflowId: string; fingerprint: Fingerprint } | undefined;
  /** Breaches a soak reports: given the region soaked and its share of weighted traffic at the time. */
  soakBreaches: (region: string, percent: number) => string[] = () => [];
  private readonly failures = new Map<string, Fail>();
  private readonly dbs = new Map<string, DbState>();
  private readonly share = new Map<string, number>();
  private readonly nodes = new Map<string, number>();
  private readonly cnames = new Map<string, string>();
  /** Each region's data-plane control: its alarm's state (absent: not prepared). */
  private readonly controls = new Map<string, string>();
  /** Regions whose record sets readTraffic shows carrying a health check (drover prepare's, as Route 53 lists them). */
  readonly checksOn = new Set<string>();
  private readonly primary: string;
  private readonly standby: string;

  constructor(
    readonly rb: Runbook,
    opts: WorldOptions = {},
  ) {
    this.primary = rb.regions.primary;
    this.standby = rb.regions.standby;
    const moved = opts.failedOver ?? false;
    for (const d of databasesOf(rb)) {
      const writerRegion = moved ? this.standby : this.primary;
      for (const region of [this.primary, this.standby]) {
        const identifier = dbIn(rb, d, region);
        const standalone = region === writerRegion || moved;
        this.dbs.set(identifier, {
          identifier,
          region,
          arn: `arn:aws:rds:${region}:123456789012:db:${identifier}`,
          status: 'available',
          endpoint: `${identifier}.stub.${region}.rds.amazonaws.com`,
          replicationSource: standalone ? undefined : dbIn(rb, d, writerRegion),
          promotedByDrover: moved && region === this.standby,
          standalone,
          // The primary was created first, its cross-region replica after it.
          createdAt: region === this.primary ? 1_000 : 2_000,
        });
      }
      // The writer record exists, at the writer (seeded as the application uses it; preflight checks it).
      this.cnames.set(d.writerRecord.name, `${dbIn(rb, d, writerRegion)}.stub.${writerRegion}.rds.amazonaws.com`);
    }
    if (opts.prepared ?? true) for (const region of [this.primary]) this.controls.set(region, 'OK');
    this.share.set(this.primary, moved ? 0 : 100);
    this.share.set(this.standby, moved ? 100 : 0);
    for (const c of rb.compute.clusters) {
      const active = moved ? c.region === this.standby : c.region === this.primary;
      for (const g of c.nodeGroups) this.nodes.set(`${c.region}/${c.name}/${g.name}`, active ? g.active : g.standby);
    }
  }

  /** Make `activity` fail when `fail` returns an error for a call (`nth`: 1 for its first call, 2 for the second...). */
  failWhen(activity: keyof Activities, fail: Fail): this {
    this.failures.set(activity, fail);
    return this;
  }

  /** Make `activity` fail after it made its change (an attempt whose answer was lost), when `fail` returns an error. */
  failAfterWhen(activity: keyof Activities, fail: Fail): this {
    this.lateFailures.set(activity, fail);
    return this;
  }

  /**
   * Hold the `nth` call to `activity` open after it made its change, as a slow AWS call would (a fence whose
   * security groups are still swapping, a lag that is still catching up). Release it before the test ends.
   */
  hold(activity: keyof Activities, nth = 1): Hold {
    let reached!: () => void;
    let release!: () => void;
    const isReached = new Promise<void>((r) => (reached = r));
    const released = new Promise<void>((r) => (release = r));
    this.holds.set(activity, { nth, reached, released });
    return { reached: isReached, release };
  }

  /** Change what the world says of a database (a forged tag, a state set by hand). */
  setDb(identifier: string, change: Partial<DbState>): this {
    Object.assign(this.db(identifier), change);
    return this;
  }

  /** Put or take drover's fence tag by hand (an operator, an earlier run). */
  setFenced(identifier: string, fenced: boolean): this {
    if (fenced) this.fenced.add(identifier);
    else this.fenced.delete(identifier);
    return this;
  }

  /** Whether `identifier` carries drover's fence tag now. */
  isFenced(identifier: string): boolean {
    return this.fenced.has(identifier);
  }

  /** The calls to one activity, in order. */
  callsTo(name: keyof Activities): Array<Record<string, unknown>> {
    return this.calls.filter((c) => c.name === name).map((c) => c.input);
  }

  /** Another run (not one of this world's workflows) asks for the runbook's lock: the lock's own rule answers. */
  takeLock(holder: LockHolder): LockAnswer {
    return this.decideLock(holder);
  }

  /** The lock's rule, given the asker as the lock would read it, and the holder unless its run has ended. */
  private decideLock(asker: LockHolder): LockAnswer {
    const held = this.lock.holder;
    const decided = decideLock({ ...this.lock, holder: held && !this.endedRuns.has(held.workflowId) ? held : undefined }, asker);
    this.lock = decided.state;
    return decided.answer;
  }

  /** The names of the calls that changed something, in order. */
  mutations(): string[] {
    return this.calls.filter((c) => MUTATING.includes(c.name)).map((c) => c.name);
  }

  /** Set a control's alarm state as an operator or another tool might (SetAlarmState, an alarm made again). */
  setControlState(region: string, state: string | undefined): void {
    if (state === undefined) this.controls.delete(region);
    else this.controls.set(region, state);
  }

  /** The state of `region`'s data-plane control (ALARM: withdrawn from DNS answers), or undefined when not prepared. */
  controlOf(region: string): string | undefined {
    return this.controls.get(region);
  }

  /** What the writer record `name` points at now. */
  cnameOf(name: string): string | undefined {
    return this.cnames.get(name);
  }

  /** Percent of weighted traffic on `region` now. */
  trafficOn(region: string): number {
    return this.share.get(region) ?? 0;
  }

  nodeGroupSize(region: string, cluster: string, group: string): number | undefined {
    return this.nodes.get(`${region}/${cluster}/${group}`);
  }

  private db(identifier: string): DbState {
    const d = this.dbs.get(identifier);
    if (!d) throw typedFailure('NotFound', `DB instance ${identifier} not found`);
    return d;
  }

  /** Every activity a run of the runbook's workflows may call, as plain functions recording their calls. */
  activities(): Partial<Activities> {
    const record = <I, O>(name: keyof Activities, fn: (input: I) => O | Promise<O>) => async (input: I): Promise<O> => {
      this.calls.push({ name, input: input as Record<string, unknown> });
      const nth = this.calls.filter((c) => c.name === name).length;
      const err = this.failures.get(name)?.(input as Record<string, unknown>, nth);
      if (err) throw err;
      const out = await fn(input);
      const late = this.lateFailures.get(name)?.(input as Record<string, unknown>, nth);
      if (late) throw late;
      const hold = this.holds.get(name);
      if (hold && hold.nth === nth) {
        hold.reached();
        await hold.released;
      }
      return out;
    };
    const groupStates = (region: string, cluster: string, names: string[]): NodeGroupState[] =>
      names.map((name) => ({ name, status: 'ACTIVE', desiredSize: this.nodes.get(`${region}/${cluster}/${name}`) }));
    const lag = () => ({ lagSeconds: 0, observedAt: new Date().toISOString() });
    const fenceState = (input: { region: string; identifier: string }): FenceState => {
      const d = this.dbs.get(input.identifier);
      return d
        ? { exists: true, status: d.status, arn: d.arn, standalone: d.standalone, fenced: this.fenced.has(d.identifier), writable: d.standalone && !this.fenced.has(d.identifier), securityGroups: [this.fenced.has(d.identifier) ? 'sg-fence' : 'sg-app'], ...(d.kmsKeyId ? { kmsKeyId: d.kmsKeyId } : {}), ...(d.createdAt !== undefined ? { createdAt: d.createdAt } : {}) }
        : { exists: false, fenced: false, writable: false, securityGroups: [] };
    };
    const stubs: Partial<Activities> = {
      ...createRunbookActivities(testRunbooks),
      // Audit trail, notifications, identity: accepted, nothing kept.
      prepareAuditTarget: record('prepareAuditTarget', () => undefined),
      appendAudit: record('appendAudit', (input: { drafts: unknown[]; after?: { seq: number } }) => {
        const seq = (input.after?.seq ?? 0) + input.drafts.length;
        return { seq, hash: `stub-${seq}` };
      }),
      notify: record('notify', () => ({ messageId: `m-${this.calls.length}` })),
      identityVerifier: record('identityVerifier', () => ({
        key: { kid: 'stub-kid', jwk: { kty: 'EC' as const, crv: 'P-256' as const, x: 'x', y: 'y' } },
        stsRegions: [this.standby],
      })),
      preemptDrills: record('preemptDrills', (input: { drills?: string[] }) => input.drills ?? []),
      // The lock reads the asker's kind from its workflow type: here, from drover's workflow id prefixes.
      takeRunbook: record('takeRunbook', (input: AcquireArgs) => {
        const kind = input.workflowId.split('-')[0];
        return this.decideLock({ workflowId: input.workflowId, runId: `run-of-${input.workflowId}`, kind, drill: kind === 'drill' });
      }),
      runbookHolder: record('runbookHolder', () => this.lock.holder ?? null),
      runOf: record('runOf', (input: { workflowId: string }) => (this.lock.holder?.workflowId === input.workflowId && !this.endedRuns.has(input.workflowId) ? this.lock.holder : null)),
      // A drill's refusal checks (window, cooldown, another run): none here (they have their own tests).
      drillRefusals: record('drillRefusals', () => []),
      // A drill's readiness (drill-readiness-v1): ready here (the checks have their own tests, on moto).
      evaluateRunbookReadiness: record('evaluateRunbookReadiness', (input: { runbook: { name: string } }) => ({
        runbook: input.runbook.name,
        digest: '',
        direction: 'failover' as const,
        directionReason: 'asked for',
        evaluatedAt: new Date().toISOString(),
        verdict: 'ready' as const,
        checks: [],
      })),
      // Preflight and reads.
      describeDb: record('describeDb', (input: { identifier: string }) => ({ ...this.db(input.identifier), fencedByDrover: this.fenced.has(input.identifier) })),
      replicaLag: record('replicaLag', lag),
      // The engines (engine-fence-v1): a writer proven still at one position, a replica that replays it.
      fenceEngine: record('fenceEngine', () => ({ reached: true as const, position: { kind: 'lsn' as const, value: STUB_WRITER_LSN, at: new Date().toISOString() }, sessionsEnded: 2, attempts: 1 })),
      waitReplayed: record('waitReplayed', (input: { position: { value: string } }) => ({ reached: true as const, replayed: { kind: 'lsn' as const, value: input.position.value, at: new Date().toISOString() } })),
      replayPosition: record('replayPosition', () => ({ reached: true as const, replayed: { kind: 'lsn' as const, value: STUB_REPLICA_LSN, at: new Date().toISOString(), lastReplayedAt: '2026-01-01T00:00:00.000Z' } })),
      writerPosition: record('writerPosition', () => ({ reached: true as const, position: { kind: 'lsn' as const, value: STUB_WRITER_LSN, at: new Date().toISOString() } })),
      rebootToFence: record('rebootToFence', () => ({ rebooted: true, status: 'available', availableAt: Date.now() })),
      engineAnswers: record('engineAnswers', () => ({ reached: true as const })),
      // MariaDB's read_only (engine-read-only-v1): held in the writer's own group, restored to the default.
      holdReadOnly: record('holdReadOnly', (input: { identifier: string }) => (this.readOnly.add(input.identifier), { held: true as const, group: `${input.identifier}-params`, from: 'default' })),
      releaseReadOnly: record('releaseReadOnly', (input: { identifier: string }) => (this.readOnly.delete(input.identifier) ? { released: true, group: `${input.identifier}-params`, restored: 'the default' } : { released: false, group: `${input.identifier}-params` })),
      describeCompute: record('describeCompute', (input: { region: string; cluster: string; nodeGroups: string[] }) => ({
        clusterStatus: 'ACTIVE',
        nodeGroups: groupStates(input.region, input.cluster, input.nodeGroups),
        problems: [],
      })),
      missingRecords: record('missingRecords', () => []),
      checkProbeTargets: record('checkProbeTargets', () => ({ problems: [], notes: [] })),
      checkPermissions: record('checkPermissions', () => ({ problems: [], notes: [] })),
      alarmStates: record('alarmStates', (input: { alarms: string[] }) => Object.fromEntries(input.alarms.map((a) => [a, 'OK']))),
      checkAlarmTargets: record('checkAlarmTargets', () => ({ problems: [], notes: [] })),
      readTraffic: record('readTraffic', (input: { records: Runbook['dns']['records']; regions: string[] }): RecordState[] =>
        input.records.map((r) => ({
          name: r.name,
          routing: r.routing,
          share: Object.fromEntries(input.regions.map((region) => [region, r.routing === 'weighted' ? this.trafficOn(region) : this.trafficOn(region) === 100 ? 100 : 0])),
          ...(input.regions.some((region) => this.checksOn.has(region)) ? { healthChecks: Object.fromEntries(input.regions.filter((region) => this.checksOn.has(region)).map((region) => [region, `hc-stub-${region}`])) } : {}),
        })),
      ),
      readCname: record('readCname', (input: { name: string }) => this.cnames.get(input.name)),
      checkHealth: record('checkHealth', (input: { region: string }) => ({ region: input.region, healthy: true, breaches: [], alarms: {}, probes: [] })),
      fenceState: record('fenceState', fenceState),
      readControls: record('readControls', (input: { runbook: string; primary: string; standby: string; regions: string[] }): ControlReading[] =>
        input.regions.map((region) => {
          const spec = controlOf({ name: input.runbook, regions: { primary: input.primary, standby: input.standby } }, region);
          const state = this.controls.get(region);
          return { region, alarmRegion: spec.alarmRegion, alarmName: spec.alarmName, exists: state !== undefined, problems: state === undefined ? [`alarm ${spec.alarmName} not found in ${spec.alarmRegion}`] : [], ...(state ? { state } : {}) };
        }),
      ),
      // Changes.
      setControl: record('setControl', (input: { region: string; withdrawn: boolean }) => {
        const want = input.withdrawn ? 'ALARM' : 'OK';
        const changed = this.controls.get(input.region) !== want;
        this.controls.set(input.region, want);
        return { state: want, since: new Date().toISOString(), changed };
      }),
      scaleNodeGroups: record('scaleNodeGroups', (input: { region: string; cluster: string; groups: Array<{ name: string; size: number }> }) => {
        const before = groupStates(input.region, input.cluster, input.groups.map((g) => g.name));
        for (const g of input.groups) this.nodes.set(`${input.region}/${input.cluster}/${g.name}`, g.size);
        return { before, after: groupStates(input.region, input.cluster, input.groups.map((g) => g.name)), requestIds: [] };
      }),
      shiftTraffic: record('shiftTraffic', (input: TrafficInput) => {
        this.share.set(input.toRegion, input.percent);
        this.share.set(input.fromRegion, 100 - input.percent);
        return [{ zone: input.hostedZone, changed: input.records.length, changeId: `C${this.calls.length}` }];
      }),
      soak: record('soak', (input: { region: string }) => {
        const breaches = this.soakBreaches(input.region, this.trafficOn(input.region));
        return { healthy: breaches.length === 0, breaches, checks: 3 };
      }),
      fenceInstance: record('fenceInstance', (input: { identifier: string }) => {
        const arn = this.db(input.identifier).arn;
        const alreadyFenced = this.fenced.has(input.identifier);
        this.fenced.add(input.identifier);
        return { alreadyFenced, previousGroups: ['sg-app'], fenceGroupId: 'sg-fence', arn };
      }),
      // As the activity: no fence tag, nothing to do.
      unfenceInstance: record('unfenceInstance', (input: { identifier: string }) => {
        const arn = this.db(input.identifier).arn;
        if (!this.fenced.delete(input.identifier)) return { unfenced: false, arn };
        // An unfence restores the fence's read_only too (activities/readonly.ts).
        const readOnly = this.readOnly.delete(input.identifier) ? { readOnly: { released: true, group: `${input.identifier}-params`, restored: 'the default' } } : {};
        return { unfenced: true, restoredGroups: ['sg-app'], arn, ...readOnly };
      }),
      waitLagZero: record('waitLagZero', lag),
      waitLagWithin: record('waitLagWithin', lag),
      promoteReplica: record('promoteReplica', (input: { identifier: string }) => {
        const d = this.db(input.identifier);
        const before = { ...d };
        Object.assign(d, { standalone: true, replicationSource: undefined, promotedByDrover: true });
        return { alreadyPromoted: before.standalone, before };
      }),
      waitStandalone: record('waitStandalone', (input: { identifier: string }) => ({ ...this.db(input.identifier) })),
      upsertCname: record('upsertCname', (input: { name: string; value: string }) => {
        const before = this.cnames.get(input.name);
        this.cnames.set(input.name, input.value);
        return { before, after: input.value, changeId: `C${this.calls.length}` };
      }),
      snapshotInstance: record('snapshotInstance', (input: { snapshotId: string }) => ({ snapshotId: input.snapshotId, status: 'available', created: true })),
      retireInstance: record('retireInstance', (input: { region: string; identifier: string; retiredIdentifier: string }) => {
        const d = this.dbs.get(input.identifier);
        this.dbs.delete(input.identifier);
        if (d) this.dbs.set(input.retiredIdentifier, { ...d, identifier: input.retiredIdentifier });
        // The tags go with the renamed instance.
        if (this.fenced.delete(input.identifier)) this.fenced.add(input.retiredIdentifier);
        return { action: 'renamed' as const, retiredIdentifier: input.retiredIdentifier };
      }),
      // A configuration of the stub's few facts (groups, key); the resolution's rules run against moto (test/failback-config.integration.test.ts).
      describeDbConfig: record('describeDbConfig', (input: { region: string; identifier: string }) => {
        const d = this.dbs.get(input.identifier);
        if (!d || d.region !== input.region) return { exists: false as const };
        const config = { securityGroupIds: ['sg-app'], securityGroupNames: ['app'], storageEncrypted: d.kmsKeyId !== undefined, ...(d.kmsKeyId ? { kmsKeyId: d.kmsKeyId } : {}), tags: {} };
        return { exists: true as const, region: d.region, identifier: d.identifier, engine: 'postgres', fenced: this.fenced.has(d.identifier), config };
      }),
      resolveReplicaConfig: record('resolveReplicaConfig', (input: { region: string; replaced?: { config: { kmsKeyId?: string } }; writer: { identifier: string; region: string; config: { storageEncrypted: boolean; kmsKeyId?: string } }; side: { kmsKeyId?: string }; at: string }) => {
        const key = input.side.kmsKeyId ?? input.replaced?.config.kmsKeyId;
        const encrypted = input.writer.config.storageEncrypted;
        const problems = encrypted && !key ? [`${input.at}.kmsKeyId: ${input.writer.identifier} in ${input.writer.region} is encrypted, so a replica in ${input.region} needs a KMS key of ${input.region}`] : [];
        const config = { securityGroupIds: ['sg-app'], securityGroupNames: ['app'], storageEncrypted: encrypted, ...(encrypted && key ? { kmsKeyId: key } : {}), tags: {} };
        return { config, from: encrypted && key ? { kmsKeyId: input.side.kmsKeyId ? ('runbook' as const) : ('replaced' as const) } : {}, problems };
      }),
      // The fingerprint of the stub's databases and node groups; the failover's, as its result carries it, is the failback's baseline.
      takeFingerprint: record('takeFingerprint', (scope: FingerprintScope): Fingerprint => ({
        takenAt: new Date().toISOString(),
        records: [],
        databases: scope.databases.map((d) => {
          const db = this.dbs.get(d.identifier);
          return db ? { ...d, role: db.standalone ? ('writer' as const) : ('replica' as const), ...(db.replicationSource ? { source: db.replicationSource } : {}) } : { ...d, role: 'gone' as const };
        }),
        nodeGroups: scope.clusters.flatMap((c) => c.nodeGroups.map((name) => ({ region: c.region, cluster: c.cluster, name, desired: this.nodes.get(`${c.region}/${c.cluster}/${name}`) }))),
        alarms: [],
        unread: [],
      })),
      lastFailoverFingerprint: record('lastFailoverFingerprint', () => this.baseline),
      lastFailoverEvidence: record('lastFailoverEvidence', () => this.failoverEvidence),
      createReplica: record('createReplica', (input: { region: string; identifier: string; sourceArn: string; kmsKeyId?: string }) => {
        const exists = this.dbs.has(input.identifier);
        const source = this.dbs.get(input.sourceArn.split(':db:')[1] ?? '');
        // As RDS (and the rds-cross-region-encrypted-replica fidelity rule): an encrypted source's replica in another region needs a key of that region.
        if (!exists && source?.kmsKeyId && source.region !== input.region && !input.kmsKeyId) throw typedFailure('AwsRejected', 'rds:CreateDBInstanceReadReplica: InvalidParameterCombination: Cannot create a cross region unencrypted read replica from encrypted source.');
        if (!exists) {
          this.dbs.set(input.identifier, {
            identifier: input.identifier,
            region: input.region,
            arn: `arn:aws:rds:${input.region}:123456789012:db:${input.identifier}`,
            status: 'available',
            endpoint: `${input.identifier}.stub.${input.region}.rds.amazonaws.com`,
            replicationSource: input.sourceArn,
            promotedByDrover: false,
            standalone: false,
            createdAt: Date.now(),
            ...(input.kmsKeyId ? { kmsKeyId: input.kmsKeyId } : {}),
          });
        }
        return { created: !exists, arn: this.db(input.identifier).arn };
      }),
    } as Partial<Activities>;
    return stubs;
  }
}
