import fs from 'node:fs';
import path from 'node:path';
import { freePorts } from '../../infra/engines/servers';
import { launch } from '../../processes/supervisor';
import { ensureJaeger, JAEGER_PIN } from '../../tools/jaeger';
import { testTempDir } from './servers';

/**
 * A real Jaeger for tests that check drover's traces: the pinned Jaeger v2 all-in-one (tools/jaeger.ts, built from
 * its Go module on first use), in-memory storage, every listener on 127.0.0.1 at a port found free just before:
 * the OTLP/HTTP receiver (no OTLP/gRPC, no Jaeger or Zipkin receivers) and jaeger_query's HTTP and gRPC servers
 * (the extension always opens both). No health check, sampling, expvar, zpages or pprof extensions, and the
 * collector's own metrics are off (`level: none`: no Prometheus reader on 8888). Its config and log live in a fresh
 * temporary directory that stop() removes.
 */
export interface JaegerServer {
  /** Where OTLP/HTTP goes: `${otlpHttpEndpoint}/v1/traces`. */
  otlpHttpEndpoint: string;
  /** jaeger_query's HTTP server: the v1 JSON API under /api, the v3 one under /api/v3. */
  queryUrl: string;
  /** The temporary directory: jaeger.yaml and jaeger.log. */
  dir: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

/** The collector configuration: only the listeners named, all on loopback. */
export function jaegerConfig(ports: { otlpHttp: number; queryHttp: number; queryGrpc: number }): string {
  return [
    'service:',
    '  extensions: [jaeger_storage, jaeger_query]',
    '  pipelines:',
    '    traces:',
    '      receivers: [otlp]',
    '      exporters: [jaeger_storage_exporter]',
    '  telemetry:',
    '    resource:',
    '      service.name: jaeger',
    '    metrics:',
    '      level: none',
    '    logs:',
    '      level: info',
    'extensions:',
    '  jaeger_storage:',
    '    backends:',
    '      memstore:',
    '        memory:',
    '          max_traces: 10000',
    '  jaeger_query:',
    '    storage:',
    '      traces: memstore',
    // Jaeger v2 traces its own queries by default, exporting to the OTLP default endpoint (localhost:4318): off.
    '    enable_tracing: false',
    '    http:',
    `      endpoint: 127.0.0.1:${ports.queryHttp}`,
    '    grpc:',
    `      endpoint: 127.0.0.1:${ports.queryGrpc}`,
    'receivers:',
    '  otlp:',
    '    protocols:',
    '      http:',
    `        endpoint: 127.0.0.1:${ports.otlpHttp}`,
    'exporters:',
    '  jaeger_storage_exporter:',
    '    trace_storage: memstore',
    '',
  ].join('\n');
}

/** Start the pinned Jaeger (building it first if it is not cached: minutes, once) and wait for its query API. */
export async function startJaeger(opts: { log?: (line: string) => void } = {}): Promise<JaegerServer> {
  const bin = await ensureJaeger({ log: opts.log });
  const dir = testTempDir('jaeger-');
  try {
    const [otlpHttp, queryHttp, queryGrpc] = await freePorts(3);
    const config = path.join(dir, 'jaeger.yaml');
    fs.writeFileSync(config, jaegerConfig({ otlpHttp, queryHttp, queryGrpc }));
    const queryUrl = `http://127.0.0.1:${queryHttp}`;
    const server = launch(bin, ['--config', config], {
      logFile: path.join(dir, 'jaeger.log'),
      detached: false,
      name: `jaeger ${JAEGER_PIN.version}`,
      // Nothing from the caller's environment reaches the config (it has no ${env:...}); OTEL_* must not steer it.
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_'))),
    });
    await server.ready(START_TIMEOUT_MS, async (deadline, signal) => {
      // Until it answers, the deadline passes, or ready() gives up (the process exited): then the loop must end too.
      while (!signal.aborted) {
        if (await answers(`${queryUrl}/api/services`)) return;
        if (Date.now() > deadline) throw new Error(`jaeger did not answer GET ${queryUrl}/api/services within ${START_TIMEOUT_MS / 1000} s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    return {
      otlpHttpEndpoint: `http://127.0.0.1:${otlpHttp}`,
      queryUrl,
      dir,
      async stop() {
        try {
          await server.stop();
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    // ready() has stopped the process and put the log tail in the message; the directory goes with it.
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading traces back: jaeger_query's v1 JSON API (GET /api/traces), which Jaeger v2 still serves (the UI uses it).

/** A tag, log field or process tag as the v1 JSON API types it. */
export interface JaegerKeyValue {
  key: string;
  type: 'string' | 'bool' | 'int64' | 'float64' | 'binary';
  value: string | number | boolean;
}

export interface JaegerReference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: JaegerReference[];
  /** The CHILD_OF reference's span, if any. */
  parentSpanID?: string;
  /** Microseconds since the epoch, and microseconds. */
  startTime: number;
  duration: number;
  /** The span's attributes (and what Jaeger derives: span.kind, otel.status_code, ...), by key. */
  tags: Record<string, string | number | boolean>;
  /** The span's process (its resource), resolved from the trace's process table. */
  process: { serviceName: string; tags: Record<string, string | number | boolean> };
}

export interface Trace {
  traceID: string;
  spans: JaegerSpan[];
}

interface RawSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: JaegerReference[] | null;
  startTime: number;
  duration: number;
  tags?: JaegerKeyValue[] | null;
  processID?: string;
  process?: RawProcess;
}
interface RawProcess {
  serviceName: string;
  tags?: JaegerKeyValue[] | null;
}
interface RawTrace {
  traceID: string;
  spans: RawSpan[];
  processes: Record<string, RawProcess>;
}
interface Structured<T> {
  data: T | null;
  errors?: { code?: number; msg: string }[] | null;
}

/** The most recent traces (up to `limit`) with a span of `service`, as GET /api/traces returns them. */
export async function readTraces(queryUrl: string, service: string, limit = 20): Promise<Trace[]> {
  const url = `${queryUrl}/api/traces?${new URLSearchParams({ service, limit: String(limit) })}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as Structured<RawTrace[]>;
  if (!res.ok || body.errors?.length) {
    throw new Error(`GET ${url}: ${res.status} ${body.errors?.map((e) => e.msg).join('; ') ?? ''}`.trim());
  }
  return (body.data ?? []).map((t) => ({
    traceID: t.traceID,
    spans: t.spans.map((s) => {
      const proc = s.process ?? (s.processID ? t.processes[s.processID] : undefined);
      const references = s.references ?? [];
      return {
        traceID: s.traceID,
        spanID: s.spanID,
        operationName: s.operationName,
        references,
        parentSpanID: references.find((r) => r.refType === 'CHILD_OF')?.spanID,
        startTime: s.startTime,
        duration: s.duration,
        tags: byKey(s.tags),
        process: { serviceName: proc?.serviceName ?? '', tags: byKey(proc?.tags) },
      };
    }),
  }));
}

function byKey(kvs: JaegerKeyValue[] | null | undefined): Record<string, string | number | boolean> {
  return Object.fromEntries((kvs ?? []).map((kv) => [kv.key, kv.value]));
}
