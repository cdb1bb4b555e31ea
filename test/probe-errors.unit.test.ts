/**
 * What a probe's failure says (activities/health.ts): fetch repeats the URL in some of its errors, and a
 * URL written with user:password@ (refused by validation since, but a run's inline or older runbook may
 * carry one) must not reach the run's history, `drover status` or the worker's log through that text.
 */
import { createHealthActivities } from '../activities/health';
import type { CloudWatchApi } from '../aws/clients';

const noAlarms = (() => ({ describeAlarms: async () => ({ MetricAlarms: [], $metadata: {} }) })) as unknown as (region: string) => CloudWatchApi;

test('a probe whose fetch error repeats a URL with credentials reports it scrubbed, in preflight and in a health check', async () => {
  const url = 'http://monitor:S3cretPass@api.example.com/health';
  const failing = (async () => {
    throw new TypeError('fetch failed', { cause: new Error(`request to ${url} failed, reason: getaddrinfo ENOTFOUND api.example.com`) });
  }) as unknown as typeof fetch;
  const health = createHealthActivities(noAlarms, failing);
  const probe = { name: 'api', url, expectStatus: 200, timeout: 1000 };

  const pre = await health.checkProbeTargets({ region: 'ap-southeast-1', probes: [probe] });
  expect(pre.problems).toEqual(['probe api (http://api.example.com/health) in ap-southeast-1: request to http://monitor:[redacted]@api.example.com/health failed, reason: getaddrinfo ENOTFOUND api.example.com']);
  const checked = await health.checkHealth({ region: 'ap-southeast-1', alarms: [], probes: [probe] });
  expect(checked.breaches).toEqual(['probe api request to http://monitor:[redacted]@api.example.com/health failed, reason: getaddrinfo ENOTFOUND api.example.com']);
  expect(JSON.stringify([pre, checked])).not.toContain('S3cretPass');
});
