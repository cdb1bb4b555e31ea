import { Context } from '@temporalio/activity';
import type { Probe } from '../runbooks/schema';
import type { CloudWatchApi } from '../aws/clients';
import { aws } from '../aws/errors';
import { scrubSecrets } from '../audit/scrub';

export interface HealthReport {
  region: string;
  healthy: boolean;
  /** One line per breach: an alarm not OK, a probe with the wrong status or no answer. */
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
  async function alarmStates(region: string, names: string[]): Promise<Record<string, string>> {
    if (names.length === 0) return {};
    const states: Record<string, string> = Object.fromEntries(names.map((n) => [n, 'MISSING']));
    // DescribeAlarms takes at most 100 names per call.
    for (let i = 0; i < names.length; i += 100) {
      const out = await aws('cloudwatch:DescribeAlarms', () => cloudwatch(region).describeAlarms({ AlarmNames: names.slice(i, i + 100) }));
      for (const a of out.MetricAlarms ?? []) if (a.AlarmName) states[a.AlarmName] = a.StateValue ?? 'UNKNOWN';
    }
    return states;
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

  async function checkHealth(input: { region: string; alarms: string[]; probes: Probe[] }): Promise<HealthReport> {
    const [alarms, probes] = await Promise.all([alarmStates(input.region, input.alarms), Promise.all(input.probes.map(probe))]);
    const breaches = [
      ...Object.entries(alarms)
        .filter(([, state]) => state !== 'OK')
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

    /** Read a region's alarms and run its probes; healthy when every alarm is OK and every probe passes. */
    checkHealth,

    /**
     * Watch a region for `durationMs`, checking every `intervalMs`; returns at the first breach.
     * One heartbeating activity rather than workflow timers: it keeps the history small and the
     * interval exact. A retried attempt resumes with the time that was left.
     */
    async soak(input: { region: string; alarms: string[]; probes: Probe[]; durationMs: number; intervalMs: number }): Promise<{ healthy: boolean; breaches: string[]; checks: number }> {
      const ctx = Context.current();
      const resumed = ctx.info.heartbeatDetails as { remainingMs?: number; checks?: number } | undefined;
      const deadline = Date.now() + (resumed?.remainingMs ?? input.durationMs);
      let checks = resumed?.checks ?? 0;
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
    },
  };
}
