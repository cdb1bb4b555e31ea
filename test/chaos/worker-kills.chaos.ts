/**
 * Worker kills: the `drover worker` process is SIGKILLed at every step boundary of a failover and of
 * a failback (including the promotion child's steps), in the middle of each long wait, and in the
 * middle of state-changing calls (before they land, and after they landed but before the answer came
 * back), then restarted. Every run completes.
 *
 * A SIGKILLed worker's in-flight activity is only retried once Temporal times it out (30 s heartbeat
 * for long activities, 1 min start-to-close for short ones), so one kill costs up to a minute. To keep
 * the wall time down the kill points are spread over five lanes that run side by side: each lane is
 * its own runbook (own names, task queue, worker process, fault proxy and tap) doing a failover then
 * a failback, killed at its share of the points, in run order.
 *
 * Every worker reaches moto through worker -> tap -> fault proxy -> moto. The fault proxy adds 150 ms
 * to every call (mid-soak and mid-wait points need waits that last); the tap single-steps calls while
 * the suite waits for a step boundary (see boundary()), holds single calls for the mid-call kill
 * points, and records which calls reached the emulator.
 *
 * What "no unexpected repeat" asserts, and why:
 * - Every activity checks current state before it acts, so a state-changing call that reached the
 *   emulator (PromoteReadReplica, ChangeResourceRecordSets, UpdateNodegroupConfig, ModifyDBInstance,
 *   CreateDBSnapshot, CreateDBInstanceReadReplica, DeleteDBInstance) must never reach it twice with the
 *   same content: a retry after a landed call finds the state already there and skips the call
 *   (Route 53 batches hold only record sets that differ; node groups at size are skipped; a snapshot or
 *   replica under its fixed id is reused; a fenced or renamed instance is recognised).
 * - PromoteReadReplica reaches the emulator exactly once per promotion. Lane 4 kills after PromoteReadReplica
 *   landed and before drover's `drover:promoted-at` tag landed: the retry finds the replica standalone (RDS
 *   clears the source once the promotion rebooted it; the rds-instance-states and rds-promotion-clears-source
 *   fidelity rules answer so) and completes the tag, or, still `modifying` or `rebooting`, asks again and is
 *   refused with InvalidDBInstanceState, which never reaches moto. (On moto alone, which keeps the source and
 *   takes a second PromoteReadReplica, the retry promoted again.)
 * - AddTagsToResource repeats are allowed (tags are set, not appended) and are listed in the report.
 */
import { approveUpdate } from '../../contracts/messages';
import type { FailbackResult } from '../../workflows/failback';
import type { RunStatus } from '../../contracts/run';
import { describeTopology, onlyDatabase, recordedActions, refOf } from '../harness/fixtures';
import type { HoldSpec, TapEntry } from './tap';
import { ChaosWorld, PRIMARY, report, sleep, STANDBY, STATE_CHANGING, type Channel, type Seeded, type WorkerProcess } from './world';

const TIME_SCALE = 0.05; // 2 min soaks -> 6 s, 10 s health interval -> 0.5 s
const LATENCY_MS = 150;

type RunKind = 'failover' | 'failback';
/** The parent step that runs each promotion child. */
const CHILD_HOST: Record<string, string> = { promote: 'promote-database', switchover: 'switchover-db' };

interface Lane {
  n: number;
  seeded: Seeded;
  channel: Channel;
  worker: WorkerProcess;
  workflowId: string;
  holdGate: boolean;
  exercised: string[];
  /** Lane 4: the kill between PromoteReadReplica and its tag (see the header). */
  expectPromoteResend: boolean;
}

interface KillPoint {
  label: string;
  gate?: boolean;
  /** Lag to publish for the target database while this run waits at it (mid lag-zero wait). */
  holdLag?: 'replica' | 'primary';
  /** Resolves when the run is at the point; returns what was in flight. */
  reach(lane: Lane): Promise<string>;
  after?(lane: Lane): void | Promise<void>;
}

const world = new ChaosWorld({ recording: true });
const ids = (lane: Lane) => {
  const db = onlyDatabase(lane.seeded.runbook);
  return { replica: db.replica.identifier, primary: db.primary.identifier };
};

function stepLine(s: RunStatus): string {
  return s.steps.map((x) => `${x.id}=${x.status}`).join(' ');
}

/**
 * Kill when `next` is running and `prev` is done (or skipped); `child` names the promotion child run.
 *
 * Deterministic under any load: while the suite waits for the boundary the lane's tap single-steps
 * AWS calls, releasing a queued call only after a status query that started after the call arrived.
 * A step cannot end without an AWS call answered, and the call that starts `next` is only released
 * once a query has seen the workflow state that scheduled it, so `next` running is always observed.
 */
function boundary(kind: RunKind, prev: string | undefined, next: string, child?: string): KillPoint {
  return {
    label: `${kind}${child ? ` (child ${child})` : ''}: ${prev ?? 'start'} -> ${next}`,
    async reach(lane) {
      const id = child ? `${lane.workflowId}-${child}` : lane.workflowId;
      const tap = lane.channel.tap!;
      const deadline = Date.now() + 240_000;
      tap.setStepping(true);
      let reached = false;
      try {
        for (;;) {
          const asked = Date.now();
          const st = await world.status(id);
          // A run answers its status before it has loaded its runbook (no steps yet): not at the boundary yet.
          if (st && st.steps.length > 0) {
            const n = st.steps.find((x) => x.id === next);
            const p = prev ? st.steps.find((x) => x.id === prev) : undefined;
            if (!n) throw new Error(`lane ${lane.n}: run ${id} has no step ${next}`);
            if (n.status === 'done' || n.status === 'failed' || n.status === 'skipped') throw new Error(`lane ${lane.n}: missed the kill point: ${next} is already ${n.status} (${stepLine(st)})`);
            if (n.status === 'running' && (!prev || p?.status === 'done' || p?.status === 'skipped')) {
              reached = true;
              return stepLine(st);
            }
            if (!tap.release(asked)) await sleep(10);
          } else if (child) {
            // No child run yet: until the parent step that starts it runs, the parent's status gates the calls.
            const parent = await world.status(lane.workflowId);
            const host = parent?.steps.find((x) => x.id === CHILD_HOST[child]);
            if (host?.status !== 'pending' || !tap.release(asked)) await sleep(20);
          } else await sleep(20);
          if (Date.now() > deadline) throw new Error(`lane ${lane.n}: timed out waiting for ${next} running (${st ? stepLine(st) : 'no status'})`);
        }
      } finally {
        // At the boundary the queued calls stay queued until the worker is dead (runWithKills releases them,
        // and the tap drops those whose caller is gone).
        if (!reached) tap.setStepping(false);
      }
    },
  };
}

/** Kill in the middle of a traffic step's soak. */
function midSoak(kind: RunKind, percent: number): KillPoint {
  const step = `${kind === 'failover' ? 'traffic' : 'traffic-back'}-${percent}`;
  return {
    label: `${kind}: mid soak of ${step}`,
    async reach(lane) {
      await world.until(
        lane.workflowId,
        (st) => {
          const x = st.steps.find((y) => y.id === step);
          if (x?.status === 'done') return `missed the soak of ${step}`;
          return st.currentStep === step && st.trafficPercent === percent;
        },
        `lane ${lane.n}: soak of ${step}`,
      );
      await sleep(1000);
      const s = await world.status(lane.workflowId);
      if (s?.currentStep !== step) throw new Error(`lane ${lane.n}: soak of ${step} ended before the kill (soak too short)`);
      return `soaking at ${percent}%`;
    },
  };
}

/** Kill while the promotion child waits (fenced) for replica lag 0; lag is held at 5 s until after the restart. */
function midLagWait(kind: RunKind, child: string, target: 'replica' | 'primary'): KillPoint {
  return {
    label: `${kind} (child ${child}): mid wait for replica lag 0`,
    holdLag: target,
    async reach(lane) {
      await world.until(`${lane.workflowId}-${child}`, (st) => st.currentStep === 'wait-lag-zero' || (st.steps.find((x) => x.id === 'wait-lag-zero')?.status === 'done' ? 'missed the lag wait' : false), `lane ${lane.n}: lag wait`);
      await sleep(1500);
      return `waiting for lag 0 of ${ids(lane)[target]} (lag held at 5 s)`;
    },
    after(lane) {
      world.lag.set(ids(lane)[target], 0);
    },
  };
}

/** Kill while the tap holds one call: 'request' = it never lands; 'response' = it landed, its answer is lost. */
function midCall(label: string, mode: HoldSpec['mode'], match: (lane: Lane, e: TapEntry, history: TapEntry[]) => boolean): KillPoint {
  return {
    label,
    async reach(lane) {
      const tap = lane.channel.tap!;
      const hold = tap.hold({ label, mode, match: (e, h) => match(lane, e, h) });
      const timeout = sleep(180_000).then(() => undefined);
      const held = await Promise.race([hold, timeout]);
      if (!held) {
        tap.disarm();
        const s = await world.status(lane.workflowId);
        throw new Error(`lane ${lane.n}: the call for "${label}" never came (status: ${s ? stepLine(s) : 'n/a'})`);
      }
      if (mode === 'response') {
        // Kill only once the emulator has answered: the call has landed.
        const deadline = Date.now() + 10_000;
        while (tap.log().find((e) => e.seq === held.entry.seq)?.status === undefined) {
          if (Date.now() > deadline) throw new Error(`${label}: the held call was not answered upstream`);
          await sleep(20);
        }
      } else await sleep(50);
      return `${held.entry.region} ${held.entry.operation} ${mode === 'request' ? 'held before it landed' : `landed (HTTP ${tap.log().find((e) => e.seq === held.entry.seq)?.status}), answer withheld`}: ${held.entry.detail.slice(0, 120)}`;
    },
  };
}

function gatePending(kind: RunKind, gate: string): KillPoint {
  return {
    label: `${kind}: waiting at approval gate ${gate}`,
    gate: true,
    async reach(lane) {
      await world.until(lane.workflowId, (st) => st.pendingGate?.name === gate, `lane ${lane.n}: gate ${gate}`);
      return `gate ${gate} pending; approved after the restart`;
    },
  };
}

const landed = (h: TapEntry[], pred: (e: TapEntry) => boolean) => h.some((e) => pred(e) && e.status === 200);
const hasId = (e: TapEntry, id: string) => e.detail.includes(`DBInstanceIdentifier=${id}&`) || e.detail.endsWith(`DBInstanceIdentifier=${id}`);

// The kill points, lane by lane, in run order. Scaling and the promotion child run in parallel, so a
// lane holds kill points of one of them only.
const F = 'failover' as const;
const B = 'failback' as const;
const PLANS: Array<{ failover: KillPoint[]; failback: KillPoint[]; expectPromoteResend?: boolean }> = [
  {
    failover: [boundary(F, undefined, 'preflight'), gatePending(F, 'failover'), boundary(F, 'gate:failover', 'promote-database'), midSoak(F, 10), boundary(F, 'traffic-100', 'verify')],
    failback: [
      boundary(B, undefined, 'assess'),
      boundary(B, 'assess', 'protect-old-primary'),
      midCall('failback: CreateDBSnapshot of the old primary landed, answer lost', 'response', (_l, e) => e.operation === 'CreateDBSnapshot' && e.region === PRIMARY),
      boundary(B, 'protect-old-primary', 'reestablish-replication'),
      gatePending(B, 'failback'),
      boundary(B, 'switchover-db', 'traffic-back-10'),
      midSoak(B, 10),
    ],
  },
  {
    failover: [boundary(F, 'fence', 'wait-lag-zero', 'promote'), midLagWait(F, 'promote', 'replica'), boundary(F, 'wait-lag-zero', 'promote', 'promote'), boundary(F, 'promote-database', 'repoint-writer'), boundary(F, 'traffic-10', 'traffic-50')],
    failback: [
      midCall('failback: mid wait for the final snapshot of the old primary', 'request', (_l, e, h) => e.operation === 'DescribeDBSnapshots' && e.region === PRIMARY && landed(h, (x) => x.operation === 'CreateDBSnapshot' && x.region === PRIMARY)),
      midCall('failback: CreateDBInstanceReadReplica toward the original region landed, answer lost', 'response', (_l, e) => e.operation === 'CreateDBInstanceReadReplica' && e.region === PRIMARY),
      boundary(B, 'gate:failback', 'scale-original'),
      boundary(B, 'scale-original', 'switchover-db'),
      boundary(B, 'traffic-back-10', 'traffic-back-50'),
      midSoak(B, 50),
    ],
  },
  {
    failover: [
      midCall('failover (child promote): PromoteReadReplica in flight, not landed', 'request', (l, e) => e.operation === 'PromoteReadReplica' && hasId(e, ids(l).replica)),
      midCall('failover (child promote): mid wait for the promoted replica to be standalone', 'request', (l, e, h) => e.operation === 'DescribeDBInstances' && hasId(e, ids(l).replica) && landed(h, (x) => x.operation === 'AddTagsToResource' && x.detail.includes('drover:promoted-at'))),
      boundary(F, 'promote', 'verify-writer', 'promote'),
      boundary(F, 'repoint-writer', 'traffic-10'),
      midCall('failover: Route 53 ChangeResourceRecordSets to 50% landed, answer lost', 'response', (_l, e) => e.operation === 'ChangeResourceRecordSets' && e.detail.includes(`50%to${STANDBY}`)),
    ],
    failback: [
      midCall('failback: ModifyDBInstance renaming the old primary landed, answer lost', 'response', (_l, e) => e.operation === 'ModifyDBInstance' && e.region === PRIMARY && e.detail.includes('NewDBInstanceIdentifier=')),
      midCall('failback: mid wait for the new replica in the original region', 'request', (l, e, h) => e.operation === 'DescribeDBInstances' && e.region === PRIMARY && hasId(e, ids(l).primary) && landed(h, (x) => x.operation === 'CreateDBInstanceReadReplica' && x.region === PRIMARY)),
      boundary(B, 'fence', 'wait-lag-zero', 'switchover'),
      midLagWait(B, 'switchover', 'primary'),
      boundary(B, 'traffic-back-50', 'traffic-back-100'),
      midSoak(B, 100),
    ],
  },
  {
    expectPromoteResend: true,
    failover: [
      midCall('failover (child promote): PromoteReadReplica landed, drover:promoted-at tag not yet', 'request', (l, e, h) => e.operation === 'AddTagsToResource' && e.detail.includes('drover:promoted-at') && landed(h, (x) => x.operation === 'PromoteReadReplica' && hasId(x, ids(l).replica))),
      boundary(F, 'verify-writer', 'old-primary', 'promote'),
      midSoak(F, 50),
      boundary(F, 'traffic-50', 'traffic-100'),
    ],
    failback: [boundary(B, 'wait-lag-zero', 'promote', 'switchover'), boundary(B, 'promote', 'repoint-writer', 'switchover'), boundary(B, 'traffic-back-100', 'return-standby'), midCall('failback: mid wait for the new replica in the standby region', 'request', (l, e, h) => e.operation === 'DescribeDBInstances' && e.region === STANDBY && hasId(e, ids(l).replica) && landed(h, (x) => x.operation === 'CreateDBInstanceReadReplica' && x.region === STANDBY))],
  },
  {
    failover: [
      midCall('failover: UpdateNodegroupConfig (scale-up) landed, answer lost', 'response', (_l, e) => e.operation === 'UpdateNodegroupConfig' && e.region === STANDBY),
      midCall('failover: mid wait for node groups to be ACTIVE at size', 'request', (_l, e, h) => e.operation === 'DescribeNodegroup' && e.region === STANDBY && h.filter((x) => x.operation === 'UpdateNodegroupConfig' && x.region === STANDBY && x.status === 200).length >= 2),
      midSoak(F, 100),
    ],
    failback: [boundary(B, 'repoint-writer', 'verify-writer', 'switchover'), boundary(B, 'verify-writer', 'old-primary', 'switchover'), boundary(B, 'return-standby', 'topology')],
  },
];

const lanes: Lane[] = [];
const outcomes: Array<Promise<LaneOutcome>> = [];

interface LaneOutcome {
  failover: RunStatus;
  failback: FailbackResult;
  afterFailover: Awaited<ReturnType<typeof describeTopology>>;
  seededTopology: Awaited<ReturnType<typeof describeTopology>>;
  after: Awaited<ReturnType<typeof describeTopology>>;
}

/** Approve whatever gate is pending, unless the lane is about to kill at a gate. */
function approver(lane: Lane, isDone: () => boolean): Promise<void> {
  return (async () => {
    while (!isDone()) {
      const s = await world.status(lane.workflowId);
      if (s?.pendingGate && !lane.holdGate) {
        await world.client.workflow
          .getHandle(lane.workflowId)
          .executeUpdate(approveUpdate, { args: [{ gate: s.pendingGate.name, approver: 'ic-priya', comment: 'chaos suite' }] })
          .catch(() => undefined);
      }
      await sleep(200);
    }
  })();
}

async function runWithKills(lane: Lane, kind: RunKind, points: KillPoint[]): Promise<unknown> {
  const rb = lane.seeded.runbook;
  lane.workflowId = `${kind}-${rb.name}`;
  lane.holdGate = points.some((p) => p.gate);
  for (const p of points) if (p.holdLag) world.lag.set(ids(lane)[p.holdLag], 5);
  const options = { timeScale: TIME_SCALE };
  const handle =
    kind === 'failover'
      ? await world.client.workflow.start('regionFailover', { taskQueue: lane.seeded.taskQueue, workflowId: lane.workflowId, args: [{ runbookRef: refOf(rb), targetRegion: STANDBY, mode: 'planned', reason: 'chaos: worker kills', requestedBy: 'ic-chaos', options }] })
      : await world.client.workflow.start('failback', { taskQueue: lane.seeded.taskQueue, workflowId: lane.workflowId, args: [{ runbookRef: refOf(rb), reason: 'chaos: worker kills', requestedBy: 'ic-chaos', options }] });
  let done = false;
  const approving = approver(lane, () => done);
  try {
    for (const p of points) {
      const inFlight = await p.reach(lane);
      await lane.worker.kill();
      await sleep(200);
      lane.channel.tap!.setStepping(false);
      lane.exercised.push(`${p.label}  [in flight: ${inFlight}]`);
      lane.worker.start();
      if (p.gate) lane.holdGate = false;
      await p.after?.(lane);
    }
    return await handle.result();
  } catch (e) {
    const s = await world.status(lane.workflowId);
    throw new Error(`lane ${lane.n} ${kind}: ${(e as Error).message}\nstatus: ${s ? stepLine(s) : 'n/a'}\nworker stderr: ${lane.worker.log().slice(-1500)}`);
  } finally {
    done = true;
    await approving;
  }
}

async function runLane(lane: Lane, plan: (typeof PLANS)[number]): Promise<LaneOutcome> {
  const rb = lane.seeded.runbook;
  const seededTopology = await describeTopology(rb, world.moto.endpoint);
  const failover = (await runWithKills(lane, 'failover', plan.failover)) as RunStatus;
  const afterFailover = await describeTopology(rb, world.moto.endpoint);
  const failback = (await runWithKills(lane, 'failback', plan.failback)) as FailbackResult;
  const after = await describeTopology(rb, world.moto.endpoint);
  return { failover, failback, afterFailover, seededTopology, after };
}

beforeAll(async () => {
  await world.start();
  for (const [i, plan] of PLANS.entries()) {
    const seeded = await world.seed(`ak-kill${i + 1}`);
    const channel = await world.channel({ tap: true, rules: [{ id: 'slow', fault: { kind: 'latency', ms: LATENCY_MS } }] });
    const lane: Lane = { n: i + 1, seeded, channel, worker: world.worker(seeded.taskQueue, channel.endpoint), workflowId: '', holdGate: false, exercised: [], expectPromoteResend: !!plan.expectPromoteResend };
    lanes.push(lane);
    const outcome = runLane(lane, plan);
    outcome.catch(() => undefined); // awaited by its test
    outcomes.push(outcome);
  }
}, 120_000);

afterAll(async () => {
  const lines: string[] = [];
  let total = 0;
  for (const lane of lanes) {
    lines.push(`lane ${lane.n} (${lane.seeded.runbook.name}): ${lane.exercised.length} kills`);
    for (const k of lane.exercised) lines.push(`  - ${k}`);
    total += lane.exercised.length;
  }
  lines.push(`total: ${total} SIGKILLs, every run completed only if every lane test passed`);
  report('worker kill points exercised', lines);
  await world.stop();
});

/** Forwarded state-changing calls grouped by content; a group of two or more is a repeat. */
function repeats(log: TapEntry[]): Array<{ key: string; count: number }> {
  const groups = new Map<string, number>();
  for (const e of log) {
    if (!e.forwarded || !STATE_CHANGING.includes(e.operation)) continue;
    const key = `${e.region} ${e.operation} ${e.detail}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].filter(([, c]) => c > 1).map(([key, count]) => ({ key, count }));
}

describe('worker SIGKILLed at every step boundary, mid-wait and mid-call, then restarted', () => {
  for (const [i, plan] of PLANS.entries()) {
    test(`lane ${i + 1}: failover and failback complete; the emulator shows one promotion each, the intended weights and capacities; no unexpected repeat`, async () => {
      const lane = lanes[i];
      const out = await outcomes[i];
      const rb = lane.seeded.runbook;
      const { replica, primary } = ids(lane);
      expect(lane.exercised).toHaveLength(plan.failover.length + plan.failback.length);
      expect(lane.worker.kills).toBe(plan.failover.length + plan.failback.length);
      expect(out.failover.phase).toBe('completed');
      expect(out.failback.phase).toBe('completed');

      // After the failover: all traffic on the standby, its compute at active size, the writer on the promoted replica.
      for (const r of rb.dns.records) {
        expect(out.afterFailover.weights[r.name]).toEqual(r.routing === 'weighted' ? { [PRIMARY]: 0, [STANDBY]: 100 } : { [PRIMARY]: 'SECONDARY', [STANDBY]: 'PRIMARY' });
      }
      for (const c of rb.compute.clusters.filter((x) => x.region === STANDBY)) for (const g of c.nodeGroups) expect(out.afterFailover.nodeGroups[`${STANDBY}/${c.name}/${g.name}`]).toBe(g.active);
      expect(out.afterFailover.replicaPromotedTag).toBe(true);
      expect(out.afterFailover.writer).toBe(out.afterFailover.replica.endpoint);

      // After the failback: the seeded weights and capacities, the writer back in the original region, the standby replicating from it.
      expect(out.after.weights).toEqual(out.seededTopology.weights);
      expect(out.after.nodeGroups).toEqual(out.seededTopology.nodeGroups);
      expect(out.after.writer).toMatch(new RegExp(`^${primary}\\.`));
      expect(out.after.replica.source).toBe(out.failback.topology.databases.find((d) => d.name === onlyDatabase(rb).name)?.writer.arn);
      expect(out.failback.topology.retired.map((r) => r.identifier)).toEqual([primary, replica]);

      const log = lane.channel.tap!.log();
      const promotes = (id: string) => log.filter((e) => e.forwarded && e.operation === 'PromoteReadReplica' && hasId(e, id));
      // The failback's switchover promotes the new replica in the original region exactly once.
      expect(promotes(primary)).toHaveLength(1);
      if (lane.expectPromoteResend) {
        // Killed between the promotion and its tag (see the header): one promotion accepted; a resend, if the retry came
        // while the replica was still modifying or rebooting, refused as RDS refuses it; the tag completed afterwards.
        const sends = promotes(replica);
        expect(sends.filter((e) => e.status === 200)).toHaveLength(1);
        expect(sends.slice(1).map((e) => e.status)).toEqual(sends.slice(1).map(() => 400));
        const tagLanded = log.find((e) => e.operation === 'AddTagsToResource' && e.detail.includes('drover:promoted-at') && e.detail.includes(`:db:${replica}`) && e.status === 200);
        expect(tagLanded?.operation).toBe('AddTagsToResource');
      } else {
        expect(promotes(replica)).toHaveLength(1);
      }
      const rep = repeats(log).filter((r) => !(lane.expectPromoteResend && r.key.includes('PromoteReadReplica') && r.key.includes(`DBInstanceIdentifier=${replica}`)));
      expect(rep).toEqual([]);
      // The fault proxy saw exactly what the tap forwarded (nothing reached moto behind the tap's back).
      const proxyCounts = (op: string) => lane.channel.faults.log().filter((e) => e.operation === op).length;
      for (const op of STATE_CHANGING) expect([op, proxyCounts(op)]).toEqual([op, log.filter((e) => e.forwarded && e.operation === op).length]);
    }, 1_500_000);
  }

  test('moto\'s own request recorder counts one PromoteReadReplica per promotion', async () => {
    await Promise.allSettled(outcomes);
    // Two promotions a lane (failover, failback), each reaching moto once: a refused resend never reaches it.
    const expected = lanes.reduce((n) => n + 2, 0);
    const actions = await recordedActions(world.moto.endpoint);
    expect(actions.filter((a) => a === 'PromoteReadReplica')).toHaveLength(expected);
    const lines = lanes.map((l) => {
      const log = l.channel.tap!.log().filter((e) => e.forwarded);
      const count = (op: string) => log.filter((e) => e.operation === op).length;
      const tagRepeats = log.filter((e) => e.operation === 'AddTagsToResource').length;
      return `lane ${l.n}: ${STATE_CHANGING.map((op) => `${op}=${count(op)}`).join(' ')} AddTagsToResource=${tagRepeats}; held calls: ${l.channel.tap!.log().filter((e) => e.held).length}; injected latency on ${l.channel.faults.log().filter((e) => e.injected).length} of ${l.channel.faults.log().length} calls`;
    });
    lines.push(`moto recorder: PromoteReadReplica x${actions.filter((a) => a === 'PromoteReadReplica').length} (expected ${expected})`);
    report('worker kills: state-changing calls that reached the emulator', lines);
  }, 1_500_000);
});
