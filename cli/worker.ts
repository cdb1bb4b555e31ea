import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, IllegalStateError, NativeConnection, Runtime, Worker, type InjectedSinks, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import type { Duration } from '@temporalio/common';
import { iacTaskQueue } from '../contracts/ids';
import { createActivities, type ActivityDeps } from '../activities';
import { workerLogFunction } from './worker-log';
import { resolveTofu } from '../tools/tofu';
import type { TemporalConnection } from '../config/temporal';
import type { OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry';
import type { DroverSinks } from '../contracts/telemetry';
import { metricSinks } from '../telemetry/sinks';
import { activeTracing } from '../telemetry/tracing';

/**
 * The workflow interceptor modules every worker and bundle includes: the failure type on the worker's log, and
 * OpenTelemetry's workflow spans (exported through the worker's `exporter` sink when it traces, else dropped there).
 */
export const WORKFLOW_INTERCEPTOR_MODULES = [require.resolve('../workflows/log-interceptors'), require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];

/**
 * The sinks every worker registers: drover's metrics (telemetry/sinks.ts), and the workflow spans' exporter, which
 * hands them to the process's tracing, or drops them when it does not trace.
 */
export function workerSinks(): InjectedSinks<DroverSinks & OpenTelemetrySinks> {
  const tracing = activeTracing();
  /* eslint-disable-next-line @typescript-eslint/no-require-imports -- OpenTelemetry's SDK loads only when the process traces */
  const exporter = tracing ? (require('@temporalio/interceptors-opentelemetry') as typeof import('@temporalio/interceptors-opentelemetry')).makeWorkflowExporter(tracing.processor, tracing.resource) : { export: { fn: () => undefined } };
  return { ...metricSinks(), exporter };
}

/** Activity spans (each a child of the workflow's span that scheduled it), when the process traces. */
export function activityInterceptors(): NonNullable<WorkerOptions['interceptors']>['activity'] {
  if (!activeTracing()) return [];
  /* eslint-disable-next-line @typescript-eslint/no-require-imports -- as above */
  const otel = require('@temporalio/interceptors-opentelemetry') as typeof import('@temporalio/interceptors-opentelemetry');
  return [(ctx) => ({ inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx), outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx) })];
}

/** Which task queues a worker serves: its runs' queue (workflows and AWS activities), the IaC lane, or both. */
export type WorkerQueues = 'all' | 'core' | 'iac';

export interface WorkerSetup {
  address: string;
  /** TLS, API key and gRPC metadata for both connections (config/temporal.ts); plain text without. */
  connection?: Pick<TemporalConnection, 'tls' | 'apiKey' | 'metadata'>;
  taskQueue: string;
  namespace?: string;
  /** The activities' dependencies; `iac.binary` defaults to resolveTofu (the runbook's binary, else $DROVER_TOFU or the pinned build). */
  deps: Omit<ActivityDeps, 'temporal'>;
  /** A prebuilt workflow bundle (production and tests); without it the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Default all: one process serves both. A deployment may run the IaC lane on workers of its own (`iac`). */
  queues?: WorkerQueues;
  /**
   * How long a stopping worker lets running activities finish before it cancels them. The runs' queue: every
   * activity there resumes on another worker (waits keep their deadline, AWS calls are idempotent), so 30 s by
   * default. The IaC lane: an OpenTofu apply or a redeploy hook cancelled mid-way is interrupted (SIGINT, then
   * SIGKILL), so as long as the longest a runbook allows (`iacShutdownGrace`).
   */
  shutdownGrace?: Duration;
  iacShutdownGrace?: Duration;
  /** How many IaC activities (OpenTofu runs, redeploy hooks) one worker runs at once; default 1. */
  iacConcurrency?: number;
}

/** The worker could not connect to Temporal (unreachable, TLS, credential): `cause` is the SDK's error. */
export class TemporalConnectFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(`cannot connect to Temporal: ${(cause as Error)?.message?.split('\n')[0] ?? String(cause)}`);
    this.name = 'TemporalConnectFailure';
  }
}

/** A gRPC refusal by the server (NOT_FOUND 5, PERMISSION_DENIED 7, UNAUTHENTICATED 16), on the error or a cause. */
function isServerRefusal(e: unknown): boolean {
  for (let c = e, depth = 0; c && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (code === 5 || code === 7 || code === 16 || /Namespace .* (is )?not found|NamespaceNotFound|PERMISSION_DENIED|PermissionDenied|UNAUTHENTICATED|Unauthenticated/i.test(String((c as Error).message ?? ''))) return true;
  }
  return false;
}

/** A drover worker process: the workers for the queues it serves, run and stopped together. */
export interface DroverWorker {
  /** The runs' worker (workflows and AWS activities), when it serves that queue. */
  worker?: Worker;
  workers: Worker[];
  run(): Promise<void>;
  /** Run every worker until `until` settles (a promise, or a function started once they run). */
  runUntil<R>(until: Promise<R> | (() => Promise<R>)): Promise<R>;
  /** Stop polling; running activities get their grace (the process exits once every worker has stopped). */
  shutdown(): void;
  close(): Promise<void>;
}

/** Create a drover worker: every workflow, and the activities built over the given AWS clients and the tools it injects. */
export async function createWorker(setup: WorkerSetup): Promise<DroverWorker> {
  const secured = { tls: setup.connection?.tls, apiKey: setup.connection?.apiKey, metadata: setup.connection?.metadata };
  let connection: NativeConnection | undefined;
  let clientConnection: Connection;
  try {
    connection = await NativeConnection.connect({ address: setup.address, ...secured });
    // The drill activities read other runs through a client of their own.
    clientConnection = await Connection.connect({ address: setup.address, ...secured, connectTimeout: '10s' });
  } catch (e) {
    await connection?.close().catch(() => undefined);
    throw new TemporalConnectFailure(e);
  }
  const client = new Client({ connection: clientConnection, namespace: setup.namespace ?? 'default' });
  const activities = createActivities({ ...setup.deps, iac: { ...setup.deps.iac, binary: setup.deps.iac?.binary ?? resolveTofu }, temporal: () => client });
  const queues = setup.queues ?? 'all';
  const namespace = setup.namespace ?? 'default';
  const workers: Worker[] = [];
  let worker: Worker | undefined;
  try {
    if (queues !== 'iac') {
      worker = await Worker.create({
        connection,
        namespace,
        taskQueue: setup.taskQueue,
        activities,
        shutdownGraceTime: setup.shutdownGrace ?? '30s',
        sinks: workerSinks(),
        // A prebuilt bundle carries the interceptor modules itself (workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES).
        ...(setup.workflowBundle
          ? { workflowBundle: setup.workflowBundle, interceptors: { activity: activityInterceptors() } }
          : { workflowsPath: require.resolve('../workflows'), interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES, activity: activityInterceptors() } }),
      });
      workers.push(worker);
    }
    if (queues !== 'core') workers.push(await Worker.create(iacWorkerOptions(connection, namespace, setup.taskQueue, activities, setup)));
  } catch (e) {
    await clientConnection.close().catch(() => undefined);
    if (workers.length === 0) await connection.close().catch(() => undefined);
    // Worker.create asks the server about the namespace: a namespace it does not have, or an identity it refuses, is
    // the connection's problem (exit 5), anything else (the bundle, the options) the worker's own.
    if (isServerRefusal(e)) throw new TemporalConnectFailure(e);
    throw e;
  }
  return {
    worker,
    workers,
    run: async () => {
      // One worker failing stops the others too (the process must not stay up half-serving), then the first error.
      const ran = await Promise.allSettled(workers.map((w) => w.run().catch((e: unknown) => {
        for (const other of workers) if (other.getState() === 'RUNNING') other.shutdown();
        throw e;
      })));
      const failed = ran.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    runUntil: <R>(until: Promise<R> | (() => Promise<R>)) => workers.reduce<() => Promise<R>>((inner, w) => () => w.runUntil(inner), typeof until === 'function' ? until : () => until)(),
    shutdown: () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    },
    close: async () => {
      await clientConnection.close();
      await connection.close();
    },
  };
}

/** The IaC lane's worker: activities only, `iacConcurrency` at a time, a shutdown grace as long as an apply. */
export function iacWorkerOptions(connection: NativeConnection, namespace: string, taskQueue: string, activities: WorkerOptions['activities'], setup: Pick<WorkerSetup, 'iacShutdownGrace' | 'iacConcurrency'> = {}): WorkerOptions {
  return {
    connection,
    namespace,
    taskQueue: iacTaskQueue(taskQueue),
    activities,
    maxConcurrentActivityTaskExecutions: setup.iacConcurrency ?? 1,
    shutdownGraceTime: setup.iacShutdownGrace ?? DEFAULT_IAC_GRACE,
    interceptors: { activity: activityInterceptors() },
  };
}

/** The IaC lane's default grace: a rebuild's default OpenTofu timeout (60 m) and the 30 s tofu gets to stop. */
export const DEFAULT_IAC_GRACE = '61m';

/**
 * Log only warnings and errors from the Temporal runtime (DROVER_LOG_LEVEL overrides), expected refusals as one
 * line each (cli/worker-log.ts); call before any worker exists. With `prometheus` (a loopback host:port), the
 * runtime's own worker metrics are served there in Prometheus's text format (the health server's /metrics reads
 * and repeats them: cli/health.ts), durations in seconds.
 */
export function quietRuntime(opts: { prometheus?: string } = {}): void {
  const level = (process.env.DROVER_LOG_LEVEL ?? 'WARN').toUpperCase() as LogLevel;
  try {
    Runtime.install({
      logger: new DefaultLogger(level, workerLogFunction),
      ...(opts.prometheus ? { telemetryOptions: { metrics: { prometheus: { bindAddress: opts.prometheus, useSecondsForDurations: true } } } } : {}),
    });
  } catch (e) {
    // Already installed in this process (e.g. under tests): keep the existing runtime. Anything else (the metrics
    // exporter's port taken) is the caller's to handle.
    if (!(e instanceof IllegalStateError)) throw e;
  }
}
