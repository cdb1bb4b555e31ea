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

/**
 * Whether the environment asks for traces, and what drover cannot honour in it. An `OTEL_*` setting drover cannot
 * follow (another protocol or exporter, an endpoint that is not an http(s) URL) is a warning, and the process runs
 * untraced: the OpenTelemetry specification says an unrecognised value is warned about and ignored, and a telemetry
 * setting meant for other tools must never stop a failover.
 */
export function tracingSettings(env: NodeJS.ProcessEnv = process.env): { traced: boolean; warnings: string[] } {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return { traced: false, warnings: [] };
  // A comma-separated list (the specification): traces go over OTLP when it names otlp; "none" alone turns them off.
  const exporters = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((e) => e.trim().toLowerCase()).filter(Boolean);
  if (exporters.length === 0 || (exporters.length === 1 && exporters[0] === 'none')) return { traced: false, warnings: [] };
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return { traced: false, warnings: [] };
  const problems: string[] = [];
  const others = exporters.filter((e) => e !== 'otlp' && e !== 'none');
  if (!exporters.includes('otlp')) problems.push(`OTEL_TRACES_EXPORTER: drover exports traces over OTLP only, got "${env.OTEL_TRACES_EXPORTER}"`);
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'] as const) {
    const protocol = env[name];
    if (protocol && protocol.trim() !== 'http/protobuf') problems.push(`${name}: drover sends OTLP over HTTP with protobuf ("http/protobuf"), got "${protocol.slice(0, 40)}"; point it at the collector's OTLP/HTTP port (4318)`);
    if (protocol) break; // the traces-specific one wins
  }
  // The endpoint the exporter will use (the traces-specific one wins), never echoed: a URL may carry a password.
  const used = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  const parsed = safeUrl(endpoint);
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) problems.push(`${used}: expected an http(s) URL such as http://collector:4318`);
  if (problems.length > 0) return { traced: false, warnings: problems.map((p) => `warning: traces are off: ${p}`) };
  const warnings = others.length > 0 ? [`warning: OTEL_TRACES_EXPORTER: drover exports over OTLP only; ${others.join(', ')} ignored`] : [];
  // The HTTP exporter drover uses does not read these: say so rather than send without them.
  const unread = ['CERTIFICATE', 'CLIENT_CERTIFICATE', 'CLIENT_KEY'].flatMap((v) => [`OTEL_EXPORTER_OTLP_${v}`, `OTEL_EXPORTER_OTLP_TRACES_${v}`]).filter((v) => env[v]);
  if (unread.length > 0) warnings.push(`warning: ${unread.join(', ')} ignored: drover's OTLP exporter trusts Node's CAs (add one with NODE_EXTRA_CA_CERTS) and sends no client certificate`);
  // A collector's credential (OTEL_EXPORTER_OTLP_HEADERS) sent in clear to another host.
  const loopback = parsed && (parsed.hostname === 'localhost' || parsed.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(parsed.hostname));
  if ((env.OTEL_EXPORTER_OTLP_HEADERS || env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) && parsed?.protocol === 'http:' && !loopback) {
    warnings.push(`warning: OTEL_EXPORTER_OTLP_HEADERS are sent in clear text to ${parsed.host}: use https`);
  }
  return { traced: true, warnings };
}

function safeUrl(raw: string): URL | undefined {
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

export interface Tracing {
  /** The processor workflow spans are handed to (the worker's sink) and the provider's own spans go through. */
  processor: SpanProcessor;
  resource: Resource;
  /** Export what is buffered. */
  flush(): Promise<void>;
  /** Flush and stop exporting, waiting at most `withinMs` (default 2 s) for the collector. */
  shutdown(withinMs?: number): Promise<void>;
}

let active: Tracing | undefined;

/**
 * Start tracing for this process (once; later calls return the same): a global tracer provider with the
 * AsyncLocalStorage context manager and W3C trace-context propagation, exporting in batches over OTLP/HTTP.
 */
export function startTracing(serviceName: string, warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Tracing {
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
  exportProblemsTo(warn);
  const processor = scrubbing(new BatchSpanProcessor(new OTLPTraceExporter({ timeoutMillis: exportTimeoutMs() })));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  active = {
    processor,
    resource,
    flush: () => provider.forceFlush(),
    // Bounded: a collector that does not answer (in the lost region, say) must not hold a command or a worker's exit.
    shutdown: async (withinMs = 2_000) => {
      active = undefined;
      await Promise.race([provider.shutdown().catch(() => undefined), new Promise<void>((resolve) => setTimeout(resolve, withinMs).unref())]);
    },
  };
  return active;
}

/**
 * A span processor that scrubs what leaves the process (audit/scrub.ts): every string attribute, the status message
 * and the events' attributes (an exception's message and stack). drover's own spans carry names and ids, but Temporal's
 * interceptors put a failed workflow's or activity's error message and stack on its span, and an error may quote a
 * URL with its password or a command line. Workflow spans reach the same processor through the worker's sink.
 */
export function scrubbing(inner: SpanProcessor): SpanProcessor {
  /* eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when traces are asked for */
  const { scrubSecrets } = require('../audit/scrub') as typeof import('../audit/scrub');
  return {
    onStart: (span, context) => inner.onStart(span, context),
    onEnd: (span) => {
      const status = span.status.message ? { ...span.status, message: scrubSecrets(span.status.message) } : span.status;
      // The span's own methods (spanContext()) still answer through the prototype.
      const clean = Object.create(span, {
        attributes: { value: scrubSecrets(span.attributes), enumerable: true },
        status: { value: status, enumerable: true },
        events: { value: span.events.map((e) => (e.attributes ? { ...e, attributes: scrubSecrets(e.attributes) } : e)), enumerable: true },
      }) as typeof span;
      inner.onEnd(clean);
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
  };
}

/** The SDK's own complaints (an export refused or timed out, spans dropped), as warnings, at most one a minute. */
function exportProblemsTo(warn: (line: string) => void): void {
  /* eslint-disable-next-line @typescript-eslint/no-require-imports -- as above */
  const { diag, DiagLogLevel } = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  /* eslint-disable-next-line @typescript-eslint/no-require-imports -- as above */
  const { scrubSecrets } = require('../audit/scrub') as typeof import('../audit/scrub');
  // Errors and warnings limited apart, so a harmless warning never hides an export that failed.
  const limited = () => {
    let last = 0;
    return (message: string) => {
      const now = Date.now();
      if (now - last < 60_000) return;
      last = now;
      warn(`warning: traces: ${scrubSecrets(String(message)).split('\n')[0].slice(0, 300)}`);
    };
  };
  diag.setLogger({ error: limited(), warn: limited(), info: () => undefined, debug: () => undefined, verbose: () => undefined }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
}

/**
 * How long one export may take: OTEL_EXPORTER_OTLP_TRACES_TIMEOUT or OTEL_EXPORTER_OTLP_TIMEOUT when set, else 2 s
 * (the SDK's default is 10 s). An export in flight keeps its socket and timer, and so the process, alive: a
 * collector that does not answer (in the lost region, say) would hold every traced command that long at its end.
 */
export function exportTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = Number(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT || env.OTEL_EXPORTER_OTLP_TIMEOUT);
  return Number.isFinite(raw) && raw > 0 ? raw : 2_000;
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
    await tracing.shutdown();
  }
}
