import { Context } from '@temporalio/activity';
import type { Probe } from '../runbooks/schema';
import type { CloudWatchApi } from '../aws/clients';
import { aws } from '../aws/errors';
import { scrubSecrets } from '../audit/scrub';
import { heartbeatEvery } from './wait';

/**
 * How an alarm in INSUFFICIENT_DATA counts: `healthy` (the default) or `breach`. CloudWatch: "INSUFFICIENT_DATA –
 * The alarm has just started, the metric is not available, or not enough data is available for the metric to
 * determine the alarm state" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html):
 * an alarm on an event metric with no events (an api-5xx alarm with no 5xx) sits there, healthy.
 */
export type InsufficientData = 'healthy' | 'breach';

/** The runbook's INSUFFICIENT_DATA policy (health.insufficientData, health.insufficientDataByAlarm); absent, healthy. */
export interface AlarmPolicy {
  insufficientData?: InsufficientData;
  insufficientDataByAlarm?: Record<string, InsufficientData>;
}

/** The policy for one alarm: its own, else the runbook's, else healthy. */
export function insufficientDataOf(policy: AlarmPolicy, alarm: string): InsufficientData {
  // Own keys only: an alarm named like an Object.prototype member (`constructor`) reads no inherited value.
  const own = policy.insufficientDataByAlarm && Object.hasOwn(policy.insufficientDataByAlarm, alarm) ? policy.insufficientDataByAlarm[alarm] : undefined;
  return own ?? policy.insufficientData ?? 'healthy';
}

/** Whether an alarm's state is a breach: anything but OK, except INSUFFICIENT_DATA under the `healthy` policy. */
export function alarmBreaches(alarm: string, state: string, policy: AlarmPolicy): boolean {
  if (state === 'OK') return false;
  if (state === 'INSUFFICIENT_DATA') return insufficientDataOf(policy, alarm) === 'breach';
  return true;
}

/** One alarm as DescribeAlarms answers it: its state, and, for a metric alarm, how it treats missing data. */
export interface AlarmReading {
  state: string;
  kind: 'metric' | 'composite';
  /** A metric alarm's TreatMissingData; unset means `missing` ("If this parameter is omitted, the default behavior of missing is used"). */
  treatMissingData?: string;
}

export interface HealthReport {
  region: string;
  healthy: boolean;
  /** One line per breach: an alarm in ALARM or MISSING (INSUFFICIENT_DATA under the `breach` policy), a probe with the wrong status or no answer. */
  breaches: string[];
  alarms: Record<string, string>;
  probes: { name: string; status?: number; ok: boolean; ms: number; error?: string }[];
}

/** How long a preflight probe waits for an answer at most (its activity has 30 s). */
const PREFLIGHT_PROBE_MS = 20_000;

/** A probe's URL as a message shows it: scheme, host and path (no user info, query or fragment, which may hold a credential). */
function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** Health activities: CloudWatch alarm states and HTTP probes of one region. */
export function createHealthActivities(cloudwatch: (region: string) => CloudWatchApi, fetchImpl: typeof fetch = fetch) {
  /**
   * Each named alarm as DescribeAlarms answers it (MISSING when it lists none of that name). DescribeAlarms takes at
   * most 100 AlarmNames ("Array Members: Maximum number of 100 items"), lists composite alarms only when AlarmTypes
   * asks for them ("If you omit this parameter, only metric alarms are returned, even if composite alarms exist in
   * the account"), and answers in pages ("NextToken: The token that marks the start of the next batch of returned
   * results"; https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html).
   */
  async function readAlarms(region: string, names: string[]): Promise<Record<string, AlarmReading>> {
    const found: Record<string, AlarmReading> = Object.fromEntries(names.map((n) => [n, { state: 'MISSING', kind: 'metric' }]));
    for (let i = 0; i < names.length; i += 100) {
      const batch = names.slice(i, i + 100);
      let token: string | undefined;
      do {
        const next = token;
        const out = await aws('cloudwatch:DescribeAlarms', () =>
          cloudwatch(region).describeAlarms({ AlarmNames: batch, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], ...(next ? { NextToken: next } : {}) }),
        );
        for (const a of out.MetricAlarms ?? []) if (a.AlarmName) found[a.AlarmName] = { state: a.StateValue ?? 'UNKNOWN', kind: 'metric', ...(a.TreatMissingData ? { treatMissingData: a.TreatMissingData } : {}) };
        for (const a of out.CompositeAlarms ?? []) if (a.AlarmName) found[a.AlarmName] = { state: a.StateValue ?? 'UNKNOWN', kind: 'composite' };
        // A token handed back unchanged would never end the loop: the batch is read as far as it got.
        token = out.NextToken && out.NextToken !== next ? out.NextToken : undefined;
      } while (token);
    }
    return found;
  }

  async function alarmStates(region: string, names: string[]): Promise<Record<string, string>> {
    const read = await readAlarms(region, names);
    return Object.fromEntries(Object.entries(read).map(([n, r]) => [n, r.state]));
  }

  async function probe(p: Probe): Promise<HealthReport['probes'][number]> {
    const started = performance.now();
    try {
      const res = await fetchImpl(p.url, { signal: AbortSignal.timeout(p.timeout), redirect: 'manual' });
      await res.arrayBuffer().catch(() => undefined);
      return { name: p.name, status: res.status, ok: res.status === p.expectStatus, ms: Math.round(performance.now() - started) };
    } catch (e) {
      const err = e as Error;
      // fetch repeats the whole URL in some errors: scrubbed, so no user:password@ in it reaches a history or a log.
      const reason = err.name === 'TimeoutError' ? `no answer within ${p.timeout} ms` : scrubSecrets((err.cause as Error)?.message ?? err.message);
      return { name: p.name, ok: false, ms: Math.round(performance.now() - started), error: reason };
    }
  }

  async function checkHealth(input: { region: string; alarms: string[]; probes: Probe[] } & AlarmPolicy): Promise<HealthReport> {
    const [alarms, probes] = await Promise.all([alarmStates(input.region, input.alarms), Promise.all(input.probes.map(probe))]);
    const breaches = [
      ...Object.entries(alarms)
        .filter(([name, state]) => alarmBreaches(name, state, input))
        .map(([name, state]) => `alarm ${name} is ${state}`),
      ...probes.filter((p) => !p.ok).map((p) => `probe ${p.name} ${p.error ?? `answered ${p.status}`}`),
    ];
    return { region: input.region, healthy: breaches.length === 0, breaches, alarms, probes };
  }

  return {
    alarmStates: (input: { region: string; alarms: string[] }) => alarmStates(input.region, input.alarms),

    /**
     * Preflight of a failover's target probes, before anything irreversible: is each URL the right one?
     * A probe with no HTTP answer (a name that does not resolve, a refused connection, no answer within its
     * timeout) or a 4xx answer (a wrong path or host: 404, 403, 400, 421) is a problem, since the traffic
     * steps would fail on it only after the database was promoted. A 5xx answer is only a note: a standby
     * whose compute is scaled down answers 502/503 through its load balancer until the failover scales it
     * up, and the soak after the first traffic step checks the expected status.
     */
    async checkProbeTargets(input: { region: string; probes: Probe[] }): Promise<{ problems: string[]; notes: string[] }> {
      // Each probe waits at most 20 s here, so the activity (30 s) ends with an answer for every probe.
      const results = await Promise.all(input.probes.map(async (p) => ({ p, r: await probe({ ...p, timeout: Math.min(p.timeout, PREFLIGHT_PROBE_MS) }) })));
      const problems: string[] = [];
      const notes: string[] = [];
      for (const { p, r } of results) {
        const where = `probe ${p.name} (${shownUrl(p.url)}) in ${input.region}`;
        if (r.status === undefined) problems.push(`${where}: ${r.error ?? 'no answer'}`);
        else if (r.status >= 400 && r.status < 500 && r.status !== p.expectStatus) problems.push(`${where} answered ${r.status}, expects ${p.expectStatus}: is the URL right?`);
        else if (!r.ok) notes.push(`probe ${p.name} in ${input.region} answered ${r.status}, expects ${p.expectStatus} (its service may be scaled down until the failover scales it up)`);
      }
      return { problems, notes };
    },

    /**
     * Preflight of a failover's target alarms: an alarm in ALARM, or MISSING (a name CloudWatch does not have), is a
     * problem, and one in INSUFFICIENT_DATA under the `breach` policy. A note names each metric alarm the `healthy`
     * policy reads wrongly when its region is lost: with TreatMissingData `missing` (or unset, which is `missing`),
     * "If all data points in the alarm evaluation range are missing, the alarm transitions to INSUFFICIENT_DATA"
     * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html), so a region
     * whose metrics stopped arriving would pass its soak. (`breaching` turns missing data into ALARM; `notBreaching`
     * and `ignore` leave an alarm that never reads INSUFFICIENT_DATA once evaluated, whatever the policy.)
     */
    async checkAlarmTargets(input: { region: string; alarms: string[] } & AlarmPolicy): Promise<{ problems: string[]; notes: string[] }> {
      const read = await readAlarms(input.region, input.alarms);
      const problems: string[] = [];
      const notes: string[] = [];
      for (const [name, a] of Object.entries(read)) {
        const policy = insufficientDataOf(input, name);
        if (alarmBreaches(name, a.state, input)) {
          problems.push(`alarm ${name} in ${input.region} is ${a.state}${a.state === 'INSUFFICIENT_DATA' ? ' (the runbook counts INSUFFICIENT_DATA as a breach for it)' : ''}`);
        }
        if (a.state !== 'MISSING' && a.kind === 'metric' && policy === 'healthy' && (a.treatMissingData ?? 'missing') === 'missing') {
          notes.push(
            `alarm ${name} in ${input.region} treats missing data as missing (TreatMissingData ${a.treatMissingData ?? 'unset'}): if its metric stops arriving it reads INSUFFICIENT_DATA, which this runbook counts as healthy; give it TreatMissingData breaching, or insufficientData breach`,
          );
        }
      }
      return { problems, notes };
    },

    /** Read a region's alarms and run its probes; healthy when no alarm breaches (INSUFFICIENT_DATA: by the policy) and every probe passes. */
    checkHealth,

    /**
     * Watch a region for `durationMs`, checking every `intervalMs`; returns at the first breach.
     * One heartbeating activity rather than workflow timers: it keeps the history small and the
     * interval exact. A retried attempt resumes with the time that was left.
     */
    async soak(input: { region: string; alarms: string[]; probes: Probe[]; durationMs: number; intervalMs: number } & AlarmPolicy): Promise<{ healthy: boolean; breaches: string[]; checks: number }> {
      const ctx = Context.current();
      const resumed = ctx.info.heartbeatDetails as { remainingMs?: number; checks?: number } | undefined;
      const deadline = Date.now() + (resumed?.remainingMs ?? input.durationMs);
      let checks = resumed?.checks ?? 0;
      // Heartbeats on a timer of their own, as pollUntil's: a slow check (paged alarm reads with the SDK's retries,
      // probes up to their timeout) never lets the heartbeat timeout lapse.
      const ticker = setInterval(() => ctx.heartbeat({ remainingMs: Math.max(0, deadline - Date.now()), checks }), heartbeatEvery(ctx));
      try {
        for (;;) {
          const h = await checkHealth(input);
          checks++;
          if (!h.healthy) return { healthy: false, breaches: h.breaches, checks };
          if (Date.now() >= deadline) return { healthy: true, breaches: [], checks };
          const nextCheck = Math.min(Date.now() + input.intervalMs, deadline);
          // Sleep in slices so heartbeats keep flowing however long the interval is.
          while (Date.now() < nextCheck) {
            ctx.heartbeat({ remainingMs: deadline - Date.now(), checks });
            await ctx.sleep(Math.min(nextCheck - Date.now(), 10_000));
          }
        }
      } finally {
        clearInterval(ticker);
      }
    },
  };
}
