import type { RunStatus, Step } from '../contracts/run';
import type { ReportInput, TrendPoint } from './report';

/** 2025-06-14 09:00:00 UTC: when the sample drill's failover was triggered. */
export const SAMPLE_T0 = Date.UTC(2025, 5, 14, 9, 0, 0);

const at = (min: number, sec: number) => SAMPLE_T0 + Math.round((min * 60 + sec) * 1000);

function step(id: string, title: string, from: [number, number], to: [number, number], extra: Partial<Step> = {}): Step {
  return { id, title, status: 'done', startedAt: at(...from), endedAt: at(...to), notes: [], ...extra };
}

function run(kind: RunStatus['kind'], startedAt: number, steps: Step[], extra: Partial<RunStatus>): RunStatus {
  const planned = { fromRegion: 'eu-west-1', targetRegion: 'ap-southeast-1' };
  return {
    workflowId: `${kind}-apnakart`,
    runId: { failover: '0197a1c2-5f0e-7d3e-9a41-5be0c6f1d2a8', failback: '0197a1d6-0b7c-7e21-8f30-1c9d2e4b6a05', promote: '0197a1c2-9d11-7a02-b3c4-d5e6f7a8b9c0', rebuild: '0197a1e0-4c2d-7b13-a5e6-f7a8b9c0d1e2', cleanup: '0197a1f0-1a2b-7c3d-8e4f-5a6b7c8d9e0f' }[kind],
    kind,
    runbook: 'apnakart',
    mode: 'planned',
    ...planned,
    reason: 'quarterly DR drill',
    requestedBy: 'drill-scheduler',
    startedAt,
    phase: 'completed',
    decisions: [],
    steps,
    trafficPercent: 100,
    ...extra,
  };
}

/**
 * A realistic completed drill of the ApnaKart runbook: a planned failover to ap-southeast-1 (with an
 * approval gate and the parallel compute/database group) and, twenty minutes later, the failback.
 * Used by the report tests and as a preview of the report.
 */
export function sampleDrillInput(): ReportInput {
  const failoverSteps = [
    step('preflight', 'Preflight checks', [0, 0.4], [0, 6.2], { notes: ['replica apnakart-db-replica available, lag 2s; 2 clusters ACTIVE; 3 record sets found'] }),
    step('gate:failover', 'Approval: failover', [0, 6.3], [2, 41.8], { gate: true }),
    step('scale-compute', 'Scale ap-southeast-1 compute to active capacity', [2, 42], [4, 55.5], { group: 'act', notes: ['apnakart-apse1/workers: 1 -> 6 nodes'] }),
    step('promote-database', 'Promote replica apnakart-db-replica', [2, 42], [3, 58.2], { group: 'act', notes: ['writes fenced on eu-west-1; lag 0s; promoted'] }),
    step('repoint-writer', 'Point db.apnakart.internal at the new writer', [4, 55.6], [5, 3.1]),
    step('traffic-10', 'Shift traffic to 10% ap-southeast-1, then soak', [5, 3.2], [6, 5.0], { notes: ['Z0APNAKART: 3 record sets (C8F2A1)'] }),
    step('traffic-50', 'Shift traffic to 50% ap-southeast-1, then soak', [6, 5.1], [7, 7.3], { notes: ['Z0APNAKART: 3 record sets (C8F2A2)'] }),
    step('traffic-100', 'Shift traffic to 100% ap-southeast-1, then soak', [7, 7.4], [8, 9.9], { notes: ['Z0APNAKART: 3 record sets (C8F2A3)'] }),
    step('verify', 'Final verification', [8, 10], [8, 14.7], { notes: ['3 records at 100% ap-southeast-1; health OK; writer apnakart-db-replica.apse1.rds.amazonaws.com'] }),
  ];
  const gateMs = at(2, 41.8) - at(0, 6.3);
  const rtoMs = at(8, 14.7) - SAMPLE_T0;
  const failover = run('failover', SAMPLE_T0, failoverSteps, {
    decisions: [{ gate: 'failover', approver: 'alice@apnakart.example', decision: 'approved', at: at(2, 41.7), comment: 'drill window open, CAB-1423' }],
    rpo: { lagSeconds: 0, observedAt: new Date(at(3, 50)).toISOString(), note: 'planned promotion: writes fenced, replica lag 0' },
    rto: { ms: rtoMs, gateWaitMs: gateMs, excludingGatesMs: rtoMs - gateMs, objectiveMs: 15 * 60_000, met: rtoMs <= 15 * 60_000 },
    newWriterEndpoint: 'apnakart-db-replica.apse1.rds.amazonaws.com',
  });

  const fb = (min: number, sec: number): [number, number] => [min + 20, sec];
  const failbackSteps = [
    step('assess', 'Assess eu-west-1 and the old primary apnakart-db', fb(0, 0.3), fb(0, 3.1)),
    step('protect-old-primary', 'Fence, snapshot and retire the old primary (keep)', fb(0, 3.2), fb(1, 30)),
    step('reestablish-replication', 'Create replica apnakart-db in eu-west-1 from the current writer', fb(1, 30.1), fb(9, 12)),
    step('gate:failback', 'Approval: failback', fb(9, 12.1), fb(11, 2), { gate: true }),
    step('scale-original', 'Scale eu-west-1 compute to active capacity', fb(11, 2.1), fb(13, 10)),
    step('switchover-db', 'Planned switchover of the writer back to eu-west-1', fb(13, 10.1), fb(14, 20)),
    step('traffic-back-10', 'Shift traffic back to 10% eu-west-1, then soak', fb(14, 20.1), fb(15, 21)),
    step('traffic-back-50', 'Shift traffic back to 50% eu-west-1, then soak', fb(15, 21.1), fb(16, 22)),
    step('traffic-back-100', 'Shift traffic back to 100% eu-west-1, then soak', fb(16, 22.1), fb(17, 25)),
    step('return-standby', 'Return ap-southeast-1 to its standby role', fb(17, 25.1), fb(18, 40)),
    step('topology', 'Topology report', fb(18, 40.1), fb(18, 42)),
  ];
  const failback = run('failback', at(20, 0), failbackSteps, {
    fromRegion: 'ap-southeast-1',
    targetRegion: 'eu-west-1',
    decisions: [{ gate: 'failback', approver: 'bob@apnakart.example', decision: 'approved', at: at(31, 1.9) }],
    rpo: { lagSeconds: 0, observedAt: new Date(at(34, 0)).toISOString(), note: 'planned switchover: replica lag 0' },
  });

  return {
    kind: 'drill',
    workflowId: 'drill-apnakart-20250614',
    runId: '0197a1c0-44f1-7b2a-8c1d-2f3e4a5b6c7d',
    runbook: 'apnakart',
    objectives: { rtoMs: 15 * 60_000, rpoMs: 60_000 },
    phase: 'completed',
    startedAt: SAMPLE_T0 - 1200,
    endedAt: at(38, 43),
    runs: [failover, failback],
  };
}

/**
 * The same drill with three databases (`databases:` orders, catalog, sessions), each promoted in parallel
 * and switched back: the preview of the report's RPO per database.
 */
export function sampleMultiDatabaseDrillInput(): ReportInput {
  const input = sampleDrillInput();
  const [failover, failback] = input.runs;
  const names = ['orders', 'catalog', 'sessions'];
  const outcomes = (r: RunStatus, lagSeconds: number[], note: string) =>
    names.map((name, i) => ({
      name,
      identifier: `apnakart-${name}-${r.kind === 'failover' ? 'replica' : 'db'}`,
      region: r.targetRegion,
      promoted: true,
      rpo: { lagSeconds: lagSeconds[i], observedAt: new Date(r.startedAt + (3 * 60 + 40 + i * 5) * 1000).toISOString(), note },
      writerEndpoint: `apnakart-${name}-${r.kind === 'failover' ? 'replica.apse1' : 'db.euw1'}.rds.amazonaws.com`,
    }));
  const databases = outcomes(failover, [0, 0, 0], 'writes fenced and lag 0 before promotion: RPO 0');
  const back = outcomes(failback, [0, 0, 0], 'planned switchover: replica lag 0');
  input.runs = [
    {
      ...failover,
      steps: failover.steps.map((st) =>
        st.id === 'promote-database'
          ? { ...st, title: 'Promote 3 replicas in parallel (orders, catalog, sessions)', notes: names.map((n) => `${n}: writes fenced on eu-west-1; lag 0s; promoted`) }
          : st.id === 'repoint-writer'
            ? { ...st, title: 'Point 3 writer records at the new writers' }
            : st,
      ),
      databases,
      rpo: { ...databases[0].rpo, note: `worst of 3 databases, orders: ${databases[0].rpo.note}` },
      newWriterEndpoint: databases[0].writerEndpoint,
    },
    { ...failback, databases: back, rpo: { ...back[0].rpo, note: `worst of 3 databases, orders: ${back[0].rpo.note}` } },
  ];
  return input;
}

/** Five earlier weekly drills: one over the RTO objective, one that failed before traffic moved. */
export function sampleTrend(): TrendPoint[] {
  const week = 7 * 24 * 3600_000;
  const points: Array<[number, number | undefined, number | undefined, boolean, string]> = [
    [5, 612_400, 0, true, 'completed'],
    [4, 983_100, 0, false, 'completed'],
    [3, 571_900, 0, true, 'completed'],
    [2, undefined, undefined, false, 'failed'],
    [1, 533_800, 0, true, 'completed'],
  ];
  return points.map(([weeksAgo, rtoMs, rpoSeconds, passed, phase]) => {
    const startedAt = SAMPLE_T0 - weeksAgo * week;
    return { workflowId: `drill-apnakart-${new Date(startedAt).toISOString().slice(0, 10).replace(/-/g, '')}`, startedAt, rtoMs, rpoSeconds, passed, phase };
  });
}
