/**
 * A topology fingerprint: everything a failover and its failback touch, read before the failover and again at the end
 * of the failback, and compared field by field (docs/failback.md, "The round trip, proven").
 */
import { configDifferences, type DbConfig } from './dbconfig';

export interface RecordFingerprint {
  name: string;
  type: string;
  setIdentifier?: string;
  weight?: number;
  failover?: string;
  healthCheckId?: string;
  ttl?: number;
  /** An alias record's target (DNS name, and whether it evaluates the target's health). */
  alias?: string;
  values?: string[];
}

export interface DbFingerprint {
  region: string;
  identifier: string;
  /** writer: standalone; replica: replicates from `source`; gone: not found. */
  role: 'writer' | 'replica' | 'gone';
  source?: string;
  config?: DbConfig;
}

export interface NodeGroupFingerprint {
  region: string;
  cluster: string;
  name: string;
  min?: number;
  desired?: number;
  max?: number;
}

export interface AlarmFingerprint {
  region: string;
  name: string;
  exists: boolean;
  /** The alarm's definition (not its state, which moves on its own): metric, statistic, period, threshold and actions. */
  definition?: string;
}

export interface Fingerprint {
  takenAt: string;
  records: RecordFingerprint[];
  databases: DbFingerprint[];
  nodeGroups: NodeGroupFingerprint[];
  alarms: AlarmFingerprint[];
  /** Parts that could not be read (a region unreachable): compared as unknown, never as equal. */
  unread: string[];
}

/** What a fingerprint reads, from the runbook (workflows build it, activities/fingerprint.ts reads it). */
export interface FingerprintScope {
  hostedZone: string;
  hostedZoneId?: string;
  /** The runbook's records and each database's writer record, each in its own zone when it names one. */
  records: Array<{ name: string; zone?: string; zoneId?: string }>;
  databases: Array<{ region: string; identifier: string }>;
  clusters: Array<{ region: string; cluster: string; nodeGroups: string[] }>;
  alarms: Array<{ region: string; names: string[] }>;
}

export interface FingerprintComparison {
  /** The failover whose fingerprint is the baseline (workflow id), when one was found. */
  baseline?: string;
  baselineTakenAt?: string;
  differences: string[];
  /** True when the baseline was found, every part was read both times, and nothing differs. */
  restoredExactly: boolean;
  /** Why no comparison was made (no failover with a fingerprint). */
  missing?: string;
}

const recordKey = (r: RecordFingerprint) => `record ${r.name} ${r.type}${r.setIdentifier ? ` ${r.setIdentifier}` : ''}`;
const dbKey = (d: DbFingerprint) => `database ${d.identifier} (${d.region})`;
const groupKey = (g: NodeGroupFingerprint) => `node group ${g.region}/${g.cluster}/${g.name}`;
const alarmKey = (a: AlarmFingerprint) => `alarm ${a.name} (${a.region})`;

/** Each difference between two fingerprints as `what: field before -> after`; empty when they are equal. */
export function compareFingerprints(before: Fingerprint, after: Fingerprint): string[] {
  const out: string[] = [];
  for (const u of before.unread) out.push(`not read before the failover: ${u}`);
  for (const u of after.unread) out.push(`not read now: ${u}`);
  const fields = <T extends object>(kind: string, a: T, b: T, keys: Array<keyof T>) => {
    for (const k of keys) {
      const [x, y] = [JSON.stringify(a[k] ?? null), JSON.stringify(b[k] ?? null)];
      if (x !== y) out.push(`${kind}: ${String(k)} ${a[k] ?? 'unset'} -> ${b[k] ?? 'unset'}`);
    }
  };
  const pair = <T>(as: T[], bs: T[], key: (t: T) => string, each: (k: string, a: T, b: T) => void) => {
    const bm = new Map(bs.map((b) => [key(b), b]));
    const am = new Map(as.map((a) => [key(a), a]));
    for (const [k, a] of am) {
      const b = bm.get(k);
      if (b === undefined) out.push(`${k}: gone`);
      else each(k, a, b);
    }
    for (const k of bm.keys()) if (!am.has(k)) out.push(`${k}: new`);
  };
  pair(before.records, after.records, recordKey, (k, a, b) => fields(k, a, b, ['weight', 'failover', 'healthCheckId', 'ttl', 'alias', 'values']));
  pair(before.databases, after.databases, dbKey, (k, a, b) => {
    fields(k, a, b, ['role', 'source']);
    if (a.config && b.config) for (const d of configDifferences(a.config, b.config)) out.push(`${k}: ${d}`);
  });
  pair(before.nodeGroups, after.nodeGroups, groupKey, (k, a, b) => fields(k, a, b, ['min', 'desired', 'max']));
  pair(before.alarms, after.alarms, alarmKey, (k, a, b) => fields(k, a, b, ['exists', 'definition']));
  return out;
}

/** The comparison the failback and drill reports print. */
export function fingerprintComparison(baseline: { workflowId: string; fingerprint: Fingerprint } | undefined, now: Fingerprint): FingerprintComparison {
  if (!baseline) return { differences: [], restoredExactly: false, missing: 'the newest failover of this runbook did not complete or took no fingerprint (an unplanned one, one by an older drover, or none yet): nothing to compare' };
  const differences = compareFingerprints(baseline.fingerprint, now);
  return { baseline: baseline.workflowId, baselineTakenAt: baseline.fingerprint.takenAt, differences, restoredExactly: differences.length === 0 };
}
