import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startJaeger, readTraces, type JaegerServer, type Trace } from './harness/jaeger';
import { testTempDir } from './harness/servers';
import { waitFor } from './harness/wait';

// The test harness's real Jaeger (test/harness/jaeger.ts): one OTLP/HTTP JSON trace in, read back through the query
// API. The first run builds Jaeger from its Go module (tools/jaeger.ts; see docs/testing.md for the cost); later runs
// reuse the cached binary and start it in a second or two.

const FIRST_BUILD_MS = 30 * 60_000;

let jaeger: JaegerServer;

beforeAll(async () => {
  jaeger = await startJaeger({ log: (line) => process.stderr.write(`[jaeger] ${line}\n`) });
}, FIRST_BUILD_MS);

afterAll(async () => {
  await jaeger?.stop();
});

test('Jaeger listens on loopback only', () => {
  expect(jaeger.otlpHttpEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(jaeger.queryUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});

test('an OTLP/HTTP JSON trace of two spans is read back with its parent link and attributes', async () => {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  const childId = randomBytes(8).toString('hex');
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const ns = (ms: number) => String(nowNs + BigInt(ms) * 1_000_000n);
  const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [attr('service.name', 'drover-smoke')] },
        scopeSpans: [
          {
            scope: { name: 'drover-test' },
            spans: [
              { traceId, spanId: parentId, name: 'failover', kind: 1, startTimeUnixNano: ns(-200), endTimeUnixNano: ns(0), attributes: [attr('drover.runbook', 'apnakart')] },
              { traceId, spanId: childId, parentSpanId: parentId, name: 'promote-replica', kind: 3, startTimeUnixNano: ns(-150), endTimeUnixNano: ns(-50), attributes: [attr('drover.step', 'promote')] },
            ],
          },
        ],
      },
    ],
  };

  const res = await fetch(`${jaeger.otlpHttpEndpoint}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  await res.arrayBuffer();

  // Stored asynchronously after the receiver answers: wait for the trace with both spans.
  const trace = await waitFor(
    async () => (await readTraces(jaeger.queryUrl, 'drover-smoke')).find((t: Trace) => t.traceID === traceId && t.spans.length === 2),
    { timeoutMs: 15_000, intervalMs: 200, what: `trace ${traceId} with two spans in Jaeger` },
  );

  const parent = trace.spans.find((s) => s.spanID === parentId);
  const child = trace.spans.find((s) => s.spanID === childId);
  expect(parent).toMatchObject({ operationName: 'failover', references: [], process: { serviceName: 'drover-smoke' } });
  expect(parent?.parentSpanID).toBeUndefined();
  expect(parent?.tags['drover.runbook']).toBe('apnakart');
  expect(child).toMatchObject({
    operationName: 'promote-replica',
    parentSpanID: parentId,
    references: [{ refType: 'CHILD_OF', traceID: traceId, spanID: parentId }],
    process: { serviceName: 'drover-smoke' },
  });
  expect(child?.tags).toMatchObject({ 'drover.step': 'promote', 'span.kind': 'client' });
  expect(child?.duration).toBe(100_000); // microseconds
});

test('a Jaeger that exits at start is an error with its log tail, and its directory is removed', async () => {
  const fake = path.join(testTempDir('fake-jaeger-'), 'jaeger');
  fs.writeFileSync(fake, '#!/bin/sh\necho "cannot start: bad config $2" >&2\nexit 3\n', { mode: 0o755 });
  const jaegerDirs = () => fs.readdirSync(process.env.DROVER_TEST_TMP!).filter((d) => d.startsWith('jaeger-')).sort();
  const before = jaegerDirs();
  const saved = process.env.DROVER_JAEGER;
  process.env.DROVER_JAEGER = fake;
  try {
    await expect(startJaeger()).rejects.toThrow(/^jaeger v1\.75\.0 exited with code 3; last log lines \(.*jaeger\.log\):\ncannot start: bad config .*jaeger\.yaml$/);
  } finally {
    if (saved === undefined) delete process.env.DROVER_JAEGER;
    else process.env.DROVER_JAEGER = saved;
  }
  expect(jaegerDirs()).toEqual(before);
});
