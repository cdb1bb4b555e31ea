/**
 * When drover traces (telemetry/tracing.ts): an OTLP endpoint turns it on, OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none
 * off; what drover cannot honour (another exporter or protocol, an endpoint that is not an http(s) URL) is a warning
 * naming the variable, and the command runs untraced: a telemetry setting never stops a failover.
 */
import { exec } from '../cli/main';
import { describeTracesEndpoint, exportTimeoutMs, tracingSettings } from '../telemetry/tracing';
import { captureIO } from './harness/fixtures';

const tracingConfigured = (env: NodeJS.ProcessEnv) => tracingSettings(env).traced;
const refusal = (env: NodeJS.ProcessEnv) => {
  const s = tracingSettings(env);
  return s.traced ? [] : s.warnings;
};

test('an OTLP endpoint turns traces on; the SDK switch and the "none" exporter turn them off', () => {
  expect(tracingConfigured({})).toBe(false);
  expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
  expect(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example/v1/traces', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' })).toBe(true);
  expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false);
  expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
});

test('what drover cannot honour turns traces off with a warning naming it, never echoing a URL', () => {
  expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toEqual([
    'warning: traces are off: OTEL_EXPORTER_OTLP_PROTOCOL: drover sends OTLP over HTTP with protobuf ("http/protobuf"), got "grpc"; point it at the collector\'s OTLP/HTTP port (4318)',
  ]);
  // The traces-specific protocol wins over the general one.
  expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toEqual([]);
  expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://user:hunter2@collector:4317' })).toEqual(['warning: traces are off: OTEL_EXPORTER_OTLP_ENDPOINT: expected an http(s) URL such as http://collector:4318']);
  // Only the endpoint in use is read: a general one meant for another tool does not turn drover's traces off.
  expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'admin:pw@host', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toEqual({ traced: true, warnings: [] });
  // Certificate settings the exporter does not read are said, not silently dropped.
  expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4318', OTEL_EXPORTER_OTLP_CERTIFICATE: '/etc/ca.pem' }).warnings).toEqual([
    "warning: OTEL_EXPORTER_OTLP_CERTIFICATE ignored: drover's OTLP exporter trusts Node's CAs (add one with NODE_EXTRA_CA_CERTS) and sends no client certificate",
  ]);
  expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.evil.example:4318', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer x' }).warnings).toHaveLength(1);
  expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'zipkin' })).toEqual(['warning: traces are off: OTEL_TRACES_EXPORTER: drover exports traces over OTLP only, got "zipkin"']);
  // A list that names otlp traces over OTLP and says what else it ignores.
  expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'otlp,console' })).toEqual({ traced: true, warnings: ['warning: OTEL_TRACES_EXPORTER: drover exports over OTLP only; console ignored'] });
  // A collector credential in clear text to another host.
  expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer x' }).warnings).toEqual(['warning: OTEL_EXPORTER_OTLP_HEADERS are sent in clear text to collector:4318: use https']);
});

test('the endpoint is named without its user, password or query', () => {
  expect(describeTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:hunter2@collector:4318/?token=abc' })).toBe('https://collector:4318/v1/traces');
  expect(describeTracesEndpoint({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/custom/path' })).toBe('http://collector:4318/custom/path');
});

test('the CLI runs untraced past a protocol it cannot send, warning once, with its own exit code', async () => {
  const saved = { ...process.env };
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://127.0.0.1:9';
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'grpc';
  try {
    const io = captureIO();
    expect(await exec(['validate', 'runbooks/apnakart.yaml'], io)).toBe(0);
    expect(io.stderr).toEqual(['warning: traces are off: OTEL_EXPORTER_OTLP_PROTOCOL: drover sends OTLP over HTTP with protobuf ("http/protobuf"), got "grpc"; point it at the collector\'s OTLP/HTTP port (4318)']);
  } finally {
    process.env = saved;
  }
});

test('an export waits 2 s unless OTEL_EXPORTER_OTLP_*TIMEOUT says otherwise (the SDK would wait 10 s)', () => {
  expect(exportTimeoutMs({})).toBe(2_000);
  expect(exportTimeoutMs({ OTEL_EXPORTER_OTLP_TIMEOUT: '5000' })).toBe(5_000);
  expect(exportTimeoutMs({ OTEL_EXPORTER_OTLP_TIMEOUT: '5000', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '700' })).toBe(700);
  expect(exportTimeoutMs({ OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' })).toBe(2_000);
});

test('a collector that never answers: the traced command still does its work and exits as it would have', async () => {
  // A listener that accepts and never answers: the export times out (exportTimeoutMs), the command is unaffected.
  const net = await import('node:net');
  const sockets: Array<{ closed: boolean; socket: import('node:net').Socket }> = [];
  const silent = net.createServer((socket) => {
    const seen = { closed: false, socket };
    sockets.push(seen);
    socket.on('close', () => (seen.closed = true));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
  const saved = { ...process.env };
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  try {
    const io = captureIO();
    expect(await exec(['validate', 'runbooks/apnakart.yaml'], io)).toBe(0);
    // The command's span was sent to it.
    expect(sockets.length).toBeGreaterThan(0);
    expect(io.stdout.join('\n')).toContain('apnakart');
  } finally {
    process.env = saved;
    for (const x of sockets) x.socket.destroy();
    silent.close();
  }
});

test('every span is scrubbed before export: attributes, the status message and an exception\'s message and stack', async () => {
  const { BasicTracerProvider } = await import('@opentelemetry/sdk-trace-base');
  const { scrubbing } = await import('../telemetry/tracing');
  const exported: Array<import('@opentelemetry/sdk-trace-base').ReadableSpan> = [];
  const inner = { onStart: () => undefined, onEnd: (s: import('@opentelemetry/sdk-trace-base').ReadableSpan) => void exported.push(s), forceFlush: async () => undefined, shutdown: async () => undefined };
  const provider = new BasicTracerProvider({ spanProcessors: [scrubbing(inner)] });
  const span = provider.getTracer('t').startSpan('RunActivity:redeploy', { attributes: { 'drover.step': 'redeploy', hook: 'deploy --db-password hunter2-secret' } });
  const error = new Error('connect to postgres://drover:s3cret-pass@db.internal:5432/app failed');
  span.recordException(error);
  span.setStatus({ code: 2, message: error.message });
  span.end();
  expect(exported).toHaveLength(1);
  const text = JSON.stringify({ attributes: exported[0].attributes, status: exported[0].status, events: exported[0].events });
  expect(text).not.toMatch(/hunter2-secret|s3cret-pass/);
  expect(exported[0].attributes['drover.step']).toBe('redeploy');
  expect(exported[0].status.message).toContain('db.internal:5432');
  // The span's own context still answers through the scrubbed copy.
  expect(exported[0].spanContext().spanId).toBe(span.spanContext().spanId);
});
