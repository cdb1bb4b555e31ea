import { Client, Connection } from '@temporalio/client';
import { CliError, EXIT } from './io';
import { runWorkflowId } from '../contracts/ids';

/** The task queue drover's workers poll; override with DROVER_TASK_QUEUE. */
export function taskQueue(): string {
  return process.env.DROVER_TASK_QUEUE ?? 'drover';
}

/** The namespace drover runs in; override with TEMPORAL_NAMESPACE. */
export function namespace(): string {
  return process.env.TEMPORAL_NAMESPACE ?? 'default';
}

export { RUN_KINDS, runWorkflowId, type RunKind } from '../contracts/ids';

/** Workflow id of a runbook's failover: one at a time per runbook. */
export function failoverWorkflowId(runbook: string): string {
  return runWorkflowId('failover', runbook);
}

/** Connect to Temporal, turning an unreachable server into a clear CLI error (exit 5). */
export async function connectClient(address: string): Promise<{ client: Client; close(): Promise<void> }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: '5s' });
  } catch (e) {
    throw new CliError(`cannot reach Temporal at ${address}: ${(e as Error).message.split('\n')[0]}`, EXIT.UNAVAILABLE, [
      'start the embedded stack with `drover dev up`, or set TEMPORAL_ADDRESS',
    ]);
  }
  return { client: new Client({ connection, namespace: namespace() }), close: () => connection.close() };
}
