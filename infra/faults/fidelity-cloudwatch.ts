/**
 * Fidelity rules for cloudwatch: see fidelity.ts for the mechanism, and docs/emulator-support.md for the table.
 *
 * What moto 5.2 does (tried against it): every alarm starts OK, with the StateReason "Unchecked: Initial alarm
 * creation", and PutMetricAlarm on an existing alarm puts it back there; DescribeAlarms answers every alarm that
 * matches in one page, whatever MaxRecords says, with no NextToken. (moto cannot hold composite alarms: it has no
 * PutCompositeAlarm, and drops AlarmRule from PutMetricAlarm; so its DescribeAlarms, like AWS's without AlarmTypes,
 * never lists one, and no rule is needed for that.)
 * moto also never evaluates an alarm: PutMetricData is stored, and no alarm's state follows it (`alarmEvaluation`).
 * The rules read and write the JSON protocol's requests and answers (what the AWS SDK for JavaScript v3 speaks to
 * CloudWatch); an answer in another format is left as moto gave it.
 */
import { kept, type FidelityCall, type FidelityRule, type FidelityState } from './fidelity-rule';

/** The StateReason moto gives an alarm it has just (re)created, and CloudWatch a new alarm not evaluated yet. */
export const MOTO_INITIAL_REASON = 'Unchecked: Initial alarm creation';

/** How many alarms a DescribeAlarms page holds when MaxRecords is not given (CloudWatch's answer; its reference names no default). */
export const DESCRIBE_ALARMS_DEFAULT_PAGE = 50;

interface Described {
  MetricAlarms?: Array<Record<string, unknown>>;
  CompositeAlarms?: Array<Record<string, unknown>>;
  NextToken?: string;
}

/** A JSON answer of DescribeAlarms, or undefined for anything else (another protocol's XML, a body that is no JSON object). */
function described(body: string): Described | undefined {
  if (!body.trimStart().startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Described) : undefined;
  } catch {
    return undefined;
  }
}

/** Where a rule keeps an alarm: by region and name (names are unique within a region). */
const keyOf = (region: string, name: string) => `${region}\u0000${name}`;

/** The names a list parameter carries: `AlarmNames.member.N` (query protocol), or the JSON array (which the proxy reads joined by commas). */
function listed(call: FidelityCall, name: string, known: Iterable<string>): string[] {
  const members: string[] = [];
  for (let i = 1; ; i++) {
    const m = call.param(`${name}.member.${i}`);
    if (m === undefined) break;
    members.push(m);
  }
  if (members.length > 0) return members;
  const joined = call.param(name);
  if (joined === undefined) return [];
  // An alarm name may hold a comma: each name the rule knows is matched as a whole element of the joined list.
  return [...known].filter((n) => joined === n || joined.startsWith(`${n},`) || joined.endsWith(`,${n}`) || joined.includes(`,${n},`));
}

/** The token this proxy hands out for the page that starts at `offset`. */
const pageToken = (offset: number) => Buffer.from(`drover-fidelity-page:${offset}`, 'utf8').toString('base64');

/** The offset a token of ours names, or undefined for any other token. */
function pageOffset(token: string): number | undefined {
  const m = /^drover-fidelity-page:(\d{1,9})$/.exec(Buffer.from(token, 'base64').toString('utf8'));
  return m ? Number(m[1]) : undefined;
}

/** A list member of a JSON request, whole (Dimensions, PutMetricData's MetricData), read from its body; [] without one. */
function jsonList(call: FidelityCall, name: string): unknown[] {
  if (call.info.protocol !== 'json') return [];
  try {
    const parsed: unknown = JSON.parse(call.body.toString('utf8'));
    const list = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>)[name] : undefined;
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

/** The objects of a list member of a JSON request. */
const jsonObjects = (call: FidelityCall, name: string) => jsonList(call, name).filter((o): o is Record<string, unknown> => !!o && typeof o === 'object' && !Array.isArray(o));

/** One metric, as an alarm and a datapoint name it: namespace, name and the whole set of dimensions (order aside). */
function metricKey(namespace: string, name: string, dimensions: unknown): string {
  const dims = (Array.isArray(dimensions) ? dimensions : [])
    .map((d: { Name?: unknown; Value?: unknown }) => [String(d?.Name), String(d?.Value)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify([namespace, name, dims]);
}

/** The datapoints of one period of a metric, as the statistics read them. */
interface Sample {
  max: number;
  min: number;
  sum: number;
  count: number;
}

const STATISTICS: Record<string, (s: Sample) => number> = {
  Maximum: (s) => s.max,
  Minimum: (s) => s.min,
  Sum: (s) => s.sum,
  Average: (s) => s.sum / s.count,
  SampleCount: (s) => s.count,
};

const COMPARISONS: Record<string, { words: string; breaches: (value: number, threshold: number) => boolean }> = {
  GreaterThanOrEqualToThreshold: { words: 'greater than or equal to', breaches: (v, t) => v >= t },
  GreaterThanThreshold: { words: 'greater than', breaches: (v, t) => v > t },
  LessThanThreshold: { words: 'less than', breaches: (v, t) => v < t },
  LessThanOrEqualToThreshold: { words: 'less than or equal to', breaches: (v, t) => v <= t },
};

/** What an alarm on one metric compares: PutMetricAlarm's parameters. */
interface AlarmDefinition {
  metric: string;
  statistic: string;
  threshold: number;
  comparison: string;
  /** EvaluationPeriods (N) and DatapointsToAlarm (M, N when not given). */
  periods: number;
  toAlarm: number;
  treatMissing: string;
  period: number;
}

/** An alarm's state; `evaluated` when the rule's evaluation set it (else moto's answer, or the initial-state rule's, holds it). */
interface AlarmState {
  value: string;
  evaluated: boolean;
  reason?: string;
  reasonData?: string;
  at?: number;
}

/** An alarm the rule evaluates: its definition, its metric's samples by period, the last period evaluated. */
interface Watched {
  def: AlarmDefinition;
  samples: Map<number, Sample>;
  /** The last period with a sample, and the last period evaluated (none before the first sample). */
  last?: number;
  through?: number;
  state: AlarmState;
}

/** A number as CloudWatch writes one in a reason (Java's double: 1.0, 0.5). */
const decimal = (v: number) => (Number.isInteger(v) ? v.toFixed(1) : String(v));

/** A datapoint's time as CloudWatch writes it in a reason: dd/MM/yy HH:mm:ss (UTC). */
function reasonTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/** A time as CloudWatch writes it in StateReasonData. */
const reasonDataTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');

/** The id of the `cloudwatch-alarm-evaluation` rule, under which it keeps its alarms. */
const ALARM_EVALUATION = 'cloudwatch-alarm-evaluation';

/**
 * The `cloudwatch-alarm-evaluation` rule, with one period of every alarm lasting `evaluateMs` (scaled down from the
 * alarm's Period): an alarm on one metric (PutMetricAlarm through the proxy; no metric math, no anomaly detection,
 * no extended statistic) is evaluated from the datapoints PutMetricData sends it, and DescribeAlarms shows the state.
 *
 * Simplifications: a datapoint counts in the period it arrives in (its Timestamp is not read) and Unit is not
 * matched; each period's datapoints are aggregated by the alarm's Statistic; at the end of each period the alarm
 * reads the last EvaluationPeriods (N) periods with data among the last N + 2 (the User Guide's example retrieves 5
 * for N = 3), ALARM when DatapointsToAlarm (M) breach, else OK; with fewer than N, missing ones count as breaching
 * or not (`breaching`, `notBreaching`), or (`missing`, `ignore`) OK when a datapoint is within the threshold and
 * fewer than M breach, else INSUFFICIENT_DATA (`missing`) or the state kept (`ignore`): the User Guide's tables
 * except their last row for `missing`. An alarm is evaluated from its first datapoint on (an alarm with no data at
 * all is left to `cloudwatch-alarm-initial-state`). StateReason follows CloudWatch's wording approximately.
 */
export function alarmEvaluation(opts: { evaluateMs?: number } = {}): FidelityRule {
  const evaluateMs = opts.evaluateMs ?? 300;
  const watchedOf = (state: FidelityState) => kept(state, ALARM_EVALUATION, () => new Map<string, Watched>());

  /** The state after evaluating the period `e` (undefined: unchanged). */
  function evaluate(w: Watched, e: number): AlarmState | undefined {
    const { def } = w;
    const range = def.periods + 2;
    const stat = STATISTICS[def.statistic];
    const cmp = COMPARISONS[def.comparison];
    const points: Array<{ at: number; value: number; count: number; breaching: boolean }> = [];
    for (let p = e; p > e - range && points.length < def.periods; p--) {
      const s = w.samples.get(p);
      if (!s) continue;
      const value = stat(s);
      points.push({ at: p * evaluateMs, value, count: s.count, breaching: cmp.breaches(value, def.threshold) });
    }
    const missing = def.periods - points.length;
    const breaching = points.filter((p) => p.breaching).length;
    let value: string | undefined;
    if (def.treatMissing === 'breaching') value = breaching + missing >= def.toAlarm ? 'ALARM' : 'OK';
    else if (def.treatMissing === 'notBreaching' || missing === 0) value = breaching >= def.toAlarm ? 'ALARM' : 'OK';
    else if (breaching >= def.toAlarm) value = 'ALARM';
    else if (points.some((p) => !p.breaching)) value = 'OK';
    else value = def.treatMissing === 'ignore' ? undefined : 'INSUFFICIENT_DATA';
    if (value === undefined || value === w.state.value) return undefined;

    const list = (ps: typeof points) => `[${ps.map((p) => `${decimal(p.value)} (${reasonTime(p.at)})`).join(', ')}]`;
    const n = (k: number, one: string, many: string) => (k === 1 ? one : many);
    const filled = missing > 0 && (def.treatMissing === 'breaching' || def.treatMissing === 'notBreaching') ? ` (${missing} missing ${n(missing, 'datapoint was', 'datapoints were')} treated as ${def.treatMissing === 'breaching' ? 'Breaching' : 'NonBreaching'}.)` : '';
    const threshold = `the threshold (${decimal(def.threshold)})`;
    let reason: string;
    if (value === 'INSUFFICIENT_DATA') reason = `Insufficient Data: ${missing} ${n(missing, 'datapoint was', 'datapoints were')} unknown.`;
    else if (value === 'OK') reason = `Threshold Crossed: ${points.length} ${n(points.length, 'datapoint', 'datapoints')} ${list(points)} ${n(points.length, 'was', 'were')} not ${cmp.words} ${threshold}.${filled}`;
    else if (def.periods === 1) reason = `Threshold Crossed: 1 datapoint ${list(points)} was ${cmp.words} ${threshold}.${filled}`;
    else reason = `Threshold Crossed: ${breaching} out of the last ${def.periods} datapoints ${list(points.filter((p) => p.breaching))} were ${cmp.words} ${threshold} (minimum ${def.toAlarm} ${n(def.toAlarm, 'datapoint', 'datapoints')} for ${w.state.value} -> ALARM transition).${filled}`;
    const at = (e + 1) * evaluateMs;
    const oldest = [...points].reverse();
    const reasonData = JSON.stringify({
      version: '1.0',
      queryDate: reasonDataTime(at),
      startDate: reasonDataTime((e - range + 1) * evaluateMs),
      statistic: def.statistic,
      period: def.period,
      recentDatapoints: oldest.map((p) => p.value),
      threshold: def.threshold,
      evaluatedDatapoints: points.map((p) => ({ timestamp: reasonDataTime(p.at), sampleCount: p.count, value: p.value })),
    });
    return { value, evaluated: true, reason, reasonData, at };
  }

  /** Evaluate `w` at the end of every period that has ended by `now`. */
  function advance(w: Watched, now: number): void {
    if (w.through === undefined || w.last === undefined) return;
    const ended = Math.floor(now / evaluateMs) - 1;
    const range = w.def.periods + 2;
    for (let e = w.through + 1; e <= ended; e++) {
      const next = evaluate(w, e);
      if (next) w.state = next;
      // Once every sample is out of range, each later evaluation answers as this one did.
      if (e >= w.last + range) break;
    }
    w.through = Math.max(w.through, ended);
    for (const p of w.samples.keys()) if (p <= ended - range + 1) w.samples.delete(p);
  }

  /** PutMetricAlarm's definition, or undefined for an alarm the rule does not evaluate. */
  function definition(call: FidelityCall): AlarmDefinition | undefined {
    const p = (name: string) => call.param(name);
    const [namespace, name, statistic, comparison] = [p('Namespace'), p('MetricName'), p('Statistic'), p('ComparisonOperator')];
    if (jsonList(call, 'Metrics').length > 0 || namespace === undefined || name === undefined) return undefined;
    if (statistic === undefined || !Object.hasOwn(STATISTICS, statistic) || comparison === undefined || !Object.hasOwn(COMPARISONS, comparison)) return undefined;
    const periods = Number(p('EvaluationPeriods') ?? 1);
    const threshold = Number(p('Threshold'));
    if (!Number.isInteger(periods) || periods < 1 || !Number.isFinite(threshold)) return undefined;
    const toAlarm = Number(p('DatapointsToAlarm') ?? periods);
    return {
      metric: metricKey(namespace, name, jsonObjects(call, 'Dimensions')),
      statistic,
      threshold,
      comparison,
      periods,
      toAlarm: Number.isInteger(toAlarm) && toAlarm >= 1 && toAlarm <= periods ? toAlarm : periods,
      treatMissing: p('TreatMissingData') ?? 'missing',
      period: Number(p('Period') ?? 60),
    };
  }

  /** The samples one MetricData element adds: Value, Values with Counts, or StatisticValues. */
  function sampleOf(datum: Record<string, unknown>): Sample | undefined {
    const stats = datum.StatisticValues as Record<string, unknown> | undefined;
    if (stats && typeof stats === 'object') {
      const [count, sum, min, max] = [stats.SampleCount, stats.Sum, stats.Minimum, stats.Maximum].map(Number);
      return [count, sum, min, max].every(Number.isFinite) && count > 0 ? { max, min, sum, count } : undefined;
    }
    const values = Array.isArray(datum.Values) ? datum.Values.map(Number) : datum.Value !== undefined ? [Number(datum.Value)] : [];
    const counts = Array.isArray(datum.Counts) ? datum.Counts.map(Number) : [];
    let sample: Sample | undefined;
    values.forEach((v, i) => {
      const c = counts[i] ?? 1;
      if (!Number.isFinite(v) || !(c > 0)) return;
      sample = sample ? { max: Math.max(sample.max, v), min: Math.min(sample.min, v), sum: sample.sum + v * c, count: sample.count + c } : { max: v, min: v, sum: v * c, count: c };
    });
    return sample;
  }

  return {
    id: ALARM_EVALUATION,
    source: {
      url: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html',
      says: 'ignore – The current alarm state is maintained. … In all of these situations, the number of datapoints evaluated is equal to the value of Evaluation Periods. If fewer than the value of Datapoints to Alarm are breaching, the alarm state is set to OK. Otherwise, the state is set to ALARM. (Alarm evaluation: "Datapoints to Alarm is the number of data points within the evaluation period that must be breaching to cause the alarm to go to the ALARM state." SetAlarmState: "Temporarily sets the state of an alarm for testing purposes. … Metric alarms returns to their actual state quickly, often within seconds.")',
    },
    // moto stores PutMetricData and never evaluates an alarm: its state only changes by SetAlarmState or PutMetricAlarm.
    service: 'cloudwatch',
    operations: ['PutMetricAlarm', 'PutMetricData', 'SetAlarmState', 'DeleteAlarms', 'DescribeAlarms'],
    observe(call, state) {
      const watched = watchedOf(state);
      const region = call.info.region;
      const now = Date.now();
      switch (call.info.operation) {
        case 'PutMetricAlarm': {
          const name = call.param('AlarmName');
          if (name === undefined) return;
          const key = keyOf(region, name);
          const def = definition(call);
          const known = watched.get(key);
          if (!def) {
            watched.delete(key);
            return;
          }
          if (!known) {
            watched.set(key, { def, samples: new Map(), state: { value: 'INSUFFICIENT_DATA', evaluated: false } });
            return;
          }
          // An update keeps the state (PutMetricAlarm); later periods are evaluated as it now says.
          advance(known, now);
          if (known.def.metric !== def.metric) {
            known.samples.clear();
            known.last = known.through = undefined;
          }
          known.def = def;
          return;
        }
        case 'PutMetricData': {
          const namespace = call.param('Namespace');
          if (namespace === undefined) return;
          const period = Math.floor(now / evaluateMs);
          for (const datum of jsonObjects(call, 'MetricData')) {
            const sample = sampleOf(datum);
            if (!sample || typeof datum.MetricName !== 'string') continue;
            const metric = metricKey(namespace, datum.MetricName, datum.Dimensions);
            for (const [key, w] of watched) {
              if (!key.startsWith(keyOf(region, '')) || w.def.metric !== metric) continue;
              advance(w, now);
              const s = w.samples.get(period);
              w.samples.set(period, s ? { max: Math.max(s.max, sample.max), min: Math.min(s.min, sample.min), sum: s.sum + sample.sum, count: s.count + sample.count } : sample);
              w.last = period;
              w.through ??= period - 1;
            }
          }
          return;
        }
        case 'SetAlarmState': {
          const name = call.param('AlarmName');
          const value = call.param('StateValue');
          const w = name === undefined ? undefined : watched.get(keyOf(region, name));
          if (!w || value === undefined) return;
          // Set until the next evaluation (moto holds it and its reason meanwhile).
          advance(w, now);
          w.state = { value, evaluated: false };
          return;
        }
        case 'DeleteAlarms': {
          const prefix = keyOf(region, '');
          const known = [...watched.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
          for (const name of listed(call, 'AlarmNames', known)) watched.delete(keyOf(region, name));
          return;
        }
      }
    },
    rewrite(call, body, state) {
      if (call.info.operation !== 'DescribeAlarms') return body;
      const watched = state.get(ALARM_EVALUATION) as Map<string, Watched> | undefined;
      const out = watched?.size ? described(body) : undefined;
      if (!watched || !out?.MetricAlarms) return body;
      const now = Date.now();
      let changed = false;
      for (const a of out.MetricAlarms) {
        const w = typeof a.AlarmName === 'string' ? watched.get(keyOf(call.info.region, a.AlarmName)) : undefined;
        if (!w) continue;
        advance(w, now);
        const s = w.state;
        if (!s.evaluated || s.at === undefined) continue;
        a.StateValue = s.value;
        a.StateReason = s.reason;
        a.StateReasonData = s.reasonData;
        // Timestamps in the form moto answers them (epoch seconds in the JSON protocol).
        a.StateUpdatedTimestamp = s.at / 1000;
        if ('StateTransitionedTimestamp' in a) a.StateTransitionedTimestamp = s.at / 1000;
        changed = true;
      }
      return changed ? JSON.stringify(out) : body;
    },
  };
}

export const CLOUDWATCH_FIDELITY_RULES: readonly FidelityRule[] = [
  // First: an evaluated state replaces moto's before the initial-state rule reads it (and filters by StateValue).
  alarmEvaluation(),
  {
    id: 'cloudwatch-alarm-initial-state',
    source: {
      url: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html',
      says: 'When this operation creates an alarm, the alarm state is immediately set to INSUFFICIENT_DATA. The alarm is then evaluated and its state is set appropriately. … When you update an existing alarm, its state is left unchanged, but the update completely overwrites the previous configuration of the alarm.',
    },
    // moto starts every alarm OK and never evaluates one, and PutMetricAlarm on an existing alarm puts it back to OK.
    // An alarm moto shows with its creation reason has had no SetAlarmState since its last PutMetricAlarm: on AWS it
    // is INSUFFICIENT_DATA until data arrives (no data arrives to be evaluated here), or, updated, in the state it had.
    service: 'cloudwatch',
    operations: ['SetAlarmState', 'DeleteAlarms', 'DescribeAlarms'],
    observe(call, state) {
      const set = kept(state, this.id, () => new Map<string, { value: string; reason?: string }>());
      const region = call.info.region;
      if (call.info.operation === 'SetAlarmState') {
        const name = call.param('AlarmName');
        const value = call.param('StateValue');
        if (name !== undefined && value !== undefined) set.set(keyOf(region, name), { value, reason: call.param('StateReason') });
      } else if (call.info.operation === 'DeleteAlarms') {
        const prefix = keyOf(region, '');
        const known = [...set.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
        // A deleted alarm is gone: one created again under its name starts anew.
        for (const name of listed(call, 'AlarmNames', known)) set.delete(keyOf(region, name));
      }
    },
    rewrite(call, body, state) {
      if (call.info.operation !== 'DescribeAlarms') return body;
      const out = described(body);
      if (!out) return body;
      const set = state.get(this.id) as Map<string, { value: string; reason?: string }> | undefined;
      let changed = false;
      const asAws = (alarms: Array<Record<string, unknown>> | undefined) => {
        if (!alarms) return alarms;
        for (const a of alarms) {
          if (a.StateReason !== MOTO_INITIAL_REASON || typeof a.AlarmName !== 'string') continue;
          const last = set?.get(keyOf(call.info.region, a.AlarmName));
          a.StateValue = last?.value ?? 'INSUFFICIENT_DATA';
          if (last?.reason !== undefined) a.StateReason = last.reason;
          changed = true;
        }
        // Asked for one state, an answer lists only alarms in it (moto filters by its own states, or not at all with AlarmNames).
        const wanted = call.param('StateValue');
        if (wanted === undefined) return alarms;
        const kept = alarms.filter((a) => a.StateValue === wanted);
        if (kept.length !== alarms.length) changed = true;
        return kept;
      };
      out.MetricAlarms = asAws(out.MetricAlarms);
      out.CompositeAlarms = asAws(out.CompositeAlarms);
      return changed ? JSON.stringify(out) : body;
    },
  },
  {
    id: 'cloudwatch-describe-alarms-pages',
    source: {
      url: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html',
      says: 'MaxRecords: The maximum number of alarm descriptions to retrieve from the request. Valid Range: Minimum value of 1. Maximum value of 100. … NextToken: The token that marks the start of the next batch of returned results. … InvalidNextToken: The next token specified is invalid.',
    },
    // moto answers every matching alarm at once, ignoring MaxRecords and never giving a NextToken; here an answer
    // holds one page (MaxRecords, else 50: CloudWatch's reference names no default, 50 is what it answers, as
    // https://github.com/boto/boto/issues/3036 found), metric alarms first, and a NextToken when more follow.
    service: 'cloudwatch',
    operations: ['DescribeAlarms'],
    refuse(call) {
      const max = call.param('MaxRecords');
      if (max !== undefined && (Number(max) < 1 || Number(max) > 100)) {
        const bound = Number(max) < 1 ? 'greater than or equal to 1' : 'less than or equal to 100';
        return { status: 400, code: 'ValidationError', message: `1 validation error detected: Value '${max}' at 'maxRecords' failed to satisfy constraint: Member must have value ${bound}` };
      }
      const token = call.param('NextToken');
      if (token !== undefined && token !== '' && pageOffset(token) === undefined) return { status: 400, code: 'InvalidNextToken', message: 'The next token specified is invalid.' };
      return undefined;
    },
    rewrite(call, body) {
      const out = described(body);
      if (!out) return body;
      const metric = out.MetricAlarms ?? [];
      const composite = out.CompositeAlarms ?? [];
      const size = call.param('MaxRecords') !== undefined ? Number(call.param('MaxRecords')) : DESCRIBE_ALARMS_DEFAULT_PAGE;
      const token = call.param('NextToken');
      const offset = token ? (pageOffset(token) ?? 0) : 0;
      const total = metric.length + composite.length;
      if (offset === 0 && total <= size) return body;
      const end = Math.min(offset + size, total);
      // One page over both lists, metric alarms first.
      out.MetricAlarms = metric.slice(Math.min(offset, metric.length), Math.min(end, metric.length));
      out.CompositeAlarms = composite.slice(Math.max(0, offset - metric.length), Math.max(0, end - metric.length));
      if (end < total) out.NextToken = pageToken(end);
      else delete out.NextToken;
      return JSON.stringify(out);
    },
  },
];
