import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { workerLogFunction } from './worker-log';
import { resolveTofu } from '../tools/tofu';

/** The workflow interceptor modules every worker and bundle includes (the failure type on the worker's log). */
export const WORKFLOW_INTERCEPTOR_MODULES = [require.resolve('../workflows/log-interceptors')];

export interface WorkerSetup {
  address: string;
  taskQueue: string;
  namespace?: string;
  /** The activities' dependencies; `iac.binary` defaults to resolveTofu (the runbook's binary, else $DROVER_TOFU or the pinned build). */
  deps: Omit<ActivityDeps, 'temporal'>;
  /** A prebuilt workflow bundle (production and tests); without it the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** Create a drover worker: every workflow, and the activities built over the given AWS clients and the tools it injects. */
export async function createWorker(setup: WorkerSetup): Promise<{ worker: Worker; close(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address: setup.address });
  // The drill activities read other runs through a client of their own.
  const clientConnection = await Connection.connect({ address: setup.address });
  const client = new Client({ connection: clientConnection, namespace: setup.namespace ?? 'default' });
  const worker = await Worker.create({
    connection,
    namespace: setup.namespace ?? 'default',
    taskQueue: setup.taskQueue,
    activities: createActivities({ ...setup.deps, iac: { ...setup.deps.iac, binary: setup.deps.iac?.binary ?? resolveTofu }, temporal: () => client }),
    // A prebuilt bundle carries the interceptor module itself (workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES).
    ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath: require.resolve('../workflows'), interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES } }),
  });
  return {
    worker,
    close: async () => {
      await clientConnection.close();
      await connection.close();
    },
  };
}

/**
 * Log only warnings and errors from the Temporal runtime (DROVER_LOG_LEVEL overrides), expected refusals as one
 * line each (cli/worker-log.ts); call before any worker exists.
 */
export function quietRuntime(): void {
  const level = (process.env.DROVER_LOG_LEVEL ?? 'WARN').toUpperCase() as LogLevel;
  try {
    Runtime.install({ logger: new DefaultLogger(level, workerLogFunction) });
  } catch {
    // Already installed in this process (e.g. under tests): keep the existing runtime.
  }
}
