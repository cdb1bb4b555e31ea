import { isThrottlingError } from '@smithy/core/retry';
import { activeMetrics } from './metrics';
import { activeTracing } from './tracing';

// What every AWS SDK client drover builds reports (aws/clients.ts adds these to each client's middleware stack):
// a span per call, child of the activity's span, and the call, error, throttle and duration metrics. drover's own
// middleware rather than @opentelemetry/instrumentation-aws-sdk: that one patches the SDK's modules as they are
// required, and drover loads each service's SDK lazily, after tracing starts or without it; the metrics need the
// same hook anyway. Attribute names follow OpenTelemetry's semantic conventions for the AWS SDK (rpc.system
// "aws-api", rpc.service, rpc.method, aws.request_id, cloud.region). The request id is what AWS support asks for
// ("include the request ID in your correspondence": AWS SDK for .NET, ResponseMetadata.RequestId); the v3 SDK reads it
// from the answer's x-amzn-RequestId (or x-amz-request-id) header into $metadata.requestId (aws/aws-sdk-js-v3#4015).

type Next = (args: unknown) => Promise<unknown>;
interface Context {
  commandName?: string;
}
interface Metadata {
  $metadata?: { requestId?: string; httpStatusCode?: number; attempts?: number };
}

/** The service's name as the SDK's clients spell it in spans: `RDS`, `Route53`, `EKS`. */
const SPAN_SERVICE: Record<string, string> = { route53: 'Route53', rds: 'RDS', eks: 'EKS', cloudwatch: 'CloudWatch', ec2: 'EC2', kms: 'KMS', secretsmanager: 'SecretsManager', s3: 'S3', sns: 'SNS' };

/** The error's code (its name, as the SDK sets it from AWS's answer), when it looks like one: never its message. */
function errorCode(e: unknown): string {
  const name = (e as { name?: unknown } | null)?.name;
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9.]{0,63}$/.test(name) ? name : 'Error';
}

/**
 * The whole call (step `initialize`: outside the SDK's retries): a span, the call counter, its duration, and the
 * error counter when it fails after its retries.
 */
export function awsCallMiddleware(service: string, region: string) {
  return (next: Next, context: Context) => async (args: unknown) => {
    const metrics = activeMetrics();
    const tracing = activeTracing();
    if (!metrics && !tracing) return next(args);
    const operation = String(context.commandName ?? 'unknown').replace(/Command$/, '');
    const labels = { service, operation };
    const started = performance.now();
    /* eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when tracing runs */
    const otel = tracing ? (require('@opentelemetry/api') as typeof import('@opentelemetry/api')) : undefined;
    const rpcService = SPAN_SERVICE[service] ?? service;
    const span = otel?.trace.getTracer('drover').startSpan(`${rpcService}.${operation}`, { kind: otel.SpanKind.CLIENT, attributes: { 'rpc.system': 'aws-api', 'rpc.service': rpcService, 'rpc.method': operation, 'cloud.region': region } });
    const finish = (meta: Metadata['$metadata'], error?: unknown) => {
      metrics?.awsCalls.inc(labels);
      metrics?.awsDuration.observe(labels, (performance.now() - started) / 1000);
      if (error !== undefined) metrics?.awsErrors.inc(labels);
      if (span && otel) {
        if (meta?.requestId) span.setAttribute('aws.request_id', meta.requestId);
        if (meta?.httpStatusCode) span.setAttribute('http.response.status_code', meta.httpStatusCode);
        if (meta?.attempts) span.setAttribute('aws.attempts', meta.attempts);
        if (error !== undefined) {
          span.setAttribute('error.type', errorCode(error));
          span.setStatus({ code: otel.SpanStatusCode.ERROR, message: errorCode(error) });
        }
        span.end();
      }
    };
    try {
      const out = (await (span && otel ? otel.context.with(otel.trace.setSpan(otel.context.active(), span), () => next(args)) : next(args))) as { output?: Metadata };
      finish(out?.output?.$metadata);
      return out;
    } catch (e) {
      // A failed call's request id: the SDK's metadata (from the x-amzn-RequestId header), else the id in the error
      // body when the SDK copies it onto the error (RDS's modelled errors: <RequestId>). An error the service's model
      // does not define (all of EC2's) carries neither on the error: its span then has no aws.request_id.
      const err = e as Metadata & { RequestId?: unknown; RequestID?: unknown };
      const bodyId = typeof err?.RequestId === 'string' ? err.RequestId : typeof err?.RequestID === 'string' ? err.RequestID : undefined;
      finish({ ...err?.$metadata, requestId: err?.$metadata?.requestId ?? bodyId }, e);
      throw e;
    }
  };
}

/** Each attempt (step `deserialize`: inside the retries): counts the ones AWS throttled. */
export function awsAttemptMiddleware(service: string) {
  return (next: Next, context: Context) => async (args: unknown) => {
    try {
      return await next(args);
    } catch (e) {
      const metrics = activeMetrics();
      if (metrics && isThrottlingError(e as Parameters<typeof isThrottlingError>[0])) metrics.awsThrottles.inc({ service, operation: String(context.commandName ?? 'unknown').replace(/Command$/, '') });
      throw e;
    }
  };
}
