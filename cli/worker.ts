import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';

export interface WorkerSetup {
  address: string;
  taskQueue: string;
  namespace?: string;
  deps: ActivityDeps;
  /** A prebuilt workflow bundle (production and tests); without it the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** Create a drover worker: every workflow, and the activities built over the given AWS clients. */
export async function createWorker(setup: WorkerSetup): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: setup.address });
  const worker = await Worker.create({
    connection,
    namespace: setup.namespace ?? 'default',
    taskQueue: setup.taskQueue,
    activities: createActivities(setup.deps),
    ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
  });
  return { worker, connection };
}
