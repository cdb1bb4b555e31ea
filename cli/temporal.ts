import { activeTracing } from '../telemetry/tracing';
import { Client, Connection } from '@temporalio/client';
import { CliError, EXIT } from './io';
import { runWorkflowId } from '../contracts/ids';
import { credentialRefusal, diagnoseTemporal, isLoopbackAddress, TemporalConfigError, temporalNamespace, type TemporalConnection } from '../config/temporal';

/** The task queue drover's workers poll; override with DROVER_TASK_QUEUE. */
export function taskQueue(): string {
  return process.env.DROVER_TASK_QUEUE ?? 'drover';
}

/** The namespace drover runs in: TEMPORAL_NAMESPACE, else the Temporal profile's (config/temporal.ts), else `default`. */
export function namespace(): string {
  return usableTemporalConfig(() => temporalNamespace());
}

/** A Temporal configuration drover cannot use is a usage error (exit 2) naming what to fix. */
export function usableTemporalConfig<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof TemporalConfigError) throw new CliError('the Temporal connection is misconfigured', EXIT.USAGE, e.problems);
    throw e;
  }
}

export { RUN_KINDS, runWorkflowId, type RunKind } from '../contracts/ids';

/** Workflow id of a runbook's failover: one at a time per runbook. */
export function failoverWorkflowId(runbook: string): string {
  return runWorkflowId('failover', runbook);
}

/** Connect to Temporal, turning an unreachable server, a failed TLS handshake or a refused credential into a clear CLI error (exit 5). */
export async function connectClient(target: TemporalConnection): Promise<{ client: Client; close(): Promise<void> }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: target.address, tls: target.tls, apiKey: target.apiKey, metadata: target.metadata, connectTimeout: '5s' });
  } catch (e) {
    throw await unavailable(e, target);
  }
  // A traced CLI (telemetry/tracing.ts) hands its span's context to the runs it starts, in their headers.
  const interceptors = activeTracing() ? { workflow: [new (await import('@temporalio/interceptors-opentelemetry')).OpenTelemetryWorkflowClientInterceptor()] } : undefined;
  return { client: new Client({ connection, namespace: target.namespace, ...(interceptors ? { interceptors } : {}) }), close: () => connection.close() };
}

/**
 * The exit-5 error for a connection that failed: a refused credential or a TLS problem said as such (what to
 * check), else "cannot reach". Shared by the CLI's client and the worker's connections.
 */
export async function unavailable(e: unknown, target: TemporalConnection): Promise<CliError> {
  const first = (e as Error).message?.split('\n')[0] ?? String(e);
  const refused = credentialRefusal(e, target);
  if (refused) return new CliError(refused, EXIT.UNAVAILABLE, ['docs/production.md: connecting to Temporal']);
  const tls = await diagnoseTemporal(target).catch(() => []);
  if (tls.length > 0) return new CliError(`cannot connect to Temporal at ${target.address}: the TLS connection failed`, EXIT.UNAVAILABLE, [...tls, 'docs/production.md: connecting to Temporal']);
  return new CliError(`cannot reach Temporal at ${target.address}: ${first}`, EXIT.UNAVAILABLE, [
    isLoopbackAddress(target.address) ? 'start the embedded stack with `drover dev up`, or set TEMPORAL_ADDRESS (or TEMPORAL_PROFILE)' : 'check TEMPORAL_ADDRESS (or the TEMPORAL_PROFILE profile) and that this host can reach it',
  ]);
}
