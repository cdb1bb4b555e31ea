import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * OpenTelemetry tracing for the worker and the CLI (docs/observability.md), configured by the standard `OTEL_*`
 * variables and exported over OTLP/HTTP (protobuf). Tracing is on when an OTLP endpoint is set
 * (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT), unless OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none. Off, nothing of OpenTelemetry's SDK is loaded.
 *
 * The exporter reads the rest itself: OTEL_EXPORTER_OTLP_HEADERS (a collector's token: never logged or put on a
 * span), OTEL_EXPORTER_OTLP_TIMEOUT, the certificate variables; the batch processor reads OTEL_BSP_*; the resource
 * OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
 */

/** A bad OTEL_* setting: the command refuses to start (exit 2), naming it. */
export class TracingConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'TracingConfigError';
  }
}

/** Whether the environment asks for traces; throws TracingConfigError for a setting drover cannot honour. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  const exporter = (env.OTEL_TRACES_EXPORTER ?? 'otlp').trim().toLowerCase();
  if (exporter === 'none') return false;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return false;
  const problems: string[] = [];
  if (exporter !== 'otlp') problems.push(`OTEL_TRACES_EXPORTER: drover exports traces over OTLP only ("otlp" or "none"), got "${env.OTEL_TRACES_EXPORTER}"`);
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'] as const) {
    const protocol = env[name];
    if (protocol && protocol.trim() !== 'http/protobuf') problems.push(`${name}: drover sends OTLP over HTTP with protobuf ("http/protobuf"), got "${protocol}"; point it at the collector's OTLP/HTTP port (4318)`);
    if (protocol) break; // the traces-specific one wins
  }
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'] as const) {
    const value = env[name];
    if (!value) continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) problems.push(`${name}: expected an http(s) URL such as http://collector:4318, got "${value}"`);
  }
  if (problems.length > 0) throw new TracingConfigError(problems);
  return true;
}

export interface Tracing {
  /** The processor workflow spans are handed to (the worker's sink) and the provider's own spans go through. */
  processor: SpanProcessor;
  resource: Resource;
  /** Export what is buffered. */
  flush(): Promise<void>;
  /** Flush and stop exporting. */
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

/**
 * Start tracing for this process (once; later calls return the same): a global tracer provider with the
 * AsyncLocalStorage context manager and W3C trace-context propagation, exporting in batches over OTLP/HTTP.
 */
export function startTracing(serviceName: string): Tracing {
  if (active) return active;
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only when traces are asked for */
  const { Resource: ResourceClass, envDetectorSync } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto');
  const { version } = require('../package.json') as { version: string };
  /* eslint-enable @typescript-eslint/no-require-imports */
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over drover's default name.
  const resource = ResourceClass.default()
    .merge(new ResourceClass({ 'service.name': serviceName, 'service.version': version }))
    .merge(envDetectorSync.detect());
  const processor = new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  active = {
    processor,
    resource,
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      await provider.shutdown();
      active = undefined;
    },
  };
  return active;
}

/** This process's tracing, when started. */
export function activeTracing(): Tracing | undefined {
  return active;
}

/** Where traces go, for a log line: the OTLP traces URL without any user, password or query (a token may hide there). */
export function describeTracesEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  try {
    if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
      const url = new URL(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
      return `${url.protocol}//${url.host}${url.pathname}`;
    }
    // The general endpoint is a base: the exporter sends to its path + /v1/traces.
    const url = new URL(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '');
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/$/, '')}/v1/traces`;
  } catch {
    return '(an unreadable URL)';
  }
}

/**
 * Run `fn` as the root span `name` of this process's trace (the CLI: `drover failover`, whose run's workflow spans
 * become its children through the client's interceptor), then export what was traced before returning.
 */
export async function withRootSpan<T>(tracing: Tracing, name: string, attributes: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  /* eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when traces are asked for */
  const otel = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  try {
    return await otel.trace.getTracer('drover').startActiveSpan(name, { kind: otel.SpanKind.CLIENT, attributes }, async (span) => {
      try {
        return await fn();
      } catch (e) {
        span.setStatus({ code: otel.SpanStatusCode.ERROR });
        throw e;
      } finally {
        span.end();
      }
    });
  } finally {
    await tracing.shutdown().catch(() => undefined);
  }
}
