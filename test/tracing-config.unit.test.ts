/**
 * When drover traces (telemetry/tracing.ts): an OTLP endpoint turns it on, OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none
 * off; what drover cannot honour (another exporter or protocol, an endpoint that is not an http(s) URL) is refused by
 * name, and the CLI says so with exit 2 before it does anything.
 */
import { exec } from '../cli/main';
import { describeTracesEndpoint, tracingConfigured, TracingConfigError } from '../telemetry/tracing';
import { captureIO } from './harness/fixtures';

const refusal = (env: NodeJS.ProcessEnv) => {
  try {
    tracingConfigured(env);
  } catch (e) {
    if (e instanceof TracingConfigError) return e.problems;
    throw e;
  }
  return [];
};

test('an OTLP endpoint turns traces on; the SDK switch and the "none" exporter turn them off', () => {
  expect(tracingConfigured({})).toBe(false);
  expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
  expect(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example/v1/traces', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' })).toBe(true);
  expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false);
  expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
});

test('what drover cannot honour is refused by name', () => {
  expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toEqual([
    'OTEL_EXPORTER_OTLP_PROTOCOL: drover sends OTLP over HTTP with protobuf ("http/protobuf"), got "grpc"; point it at the collector\'s OTLP/HTTP port (4318)',
  ]);
  // The traces-specific protocol wins over the general one.
  expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toEqual([]);
  expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT: expected an http(s) URL such as http://collector:4318, got "collector:4318"']);
  expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'zipkin' })).toEqual(['OTEL_TRACES_EXPORTER: drover exports traces over OTLP only ("otlp" or "none"), got "zipkin"']);
});

test('the endpoint is named without its user, password or query', () => {
  expect(describeTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:hunter2@collector:4318/?token=abc' })).toBe('https://collector:4318/v1/traces');
  expect(describeTracesEndpoint({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/custom/path' })).toBe('http://collector:4318/custom/path');
});

test('the CLI refuses a protocol it cannot send, exit 2, naming the variable, with no stack trace', async () => {
  const saved = { ...process.env };
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://127.0.0.1:9';
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'grpc';
  try {
    const io = captureIO();
    expect(await exec(['validate', 'runbooks/apnakart.yaml'], io)).toBe(2);
    expect(io.stderr).toEqual(['drover: invalid options', '  OTEL_EXPORTER_OTLP_PROTOCOL: drover sends OTLP over HTTP with protobuf ("http/protobuf"), got "grpc"; point it at the collector\'s OTLP/HTTP port (4318)']);
  } finally {
    process.env = saved;
  }
});
