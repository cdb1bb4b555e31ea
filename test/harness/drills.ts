import type { Client } from '@temporalio/client';
import { exec } from '../../cli/main';
import type { DrillResult, RunStatus } from '../../contracts/run';
import { captureIO, eventually } from './fixtures';
import { testTemporalAddress } from './servers';

/** Drills opted in, any time of day, with a one-hour cooldown after real runs. */
export const DRILLS_ANY_TIME: [Array<string | number>, unknown] = [['drills'], { enabled: true, windows: [{ from: '00:00', to: '24:00' }], cooldown: '1h' }];

/** Point the in-process CLI at the test servers and a task queue. */
export function useCli(awsEndpoint: string, taskQueue: string): void {
  process.env.TEMPORAL_ADDRESS = testTemporalAddress();
  process.env.AWS_ENDPOINT_URL = awsEndpoint;
  process.env.DROVER_TASK_QUEUE = taskQueue;
}

/** Start a drill with the CLI, detached; returns its workflow id. */
export async function startDrill(file: string, timeScale = 0.01): Promise<string> {
  const io = captureIO();
  const code = await exec(['drill', 'run', file, '--time-scale', String(timeScale), '--detach'], io);
  if (code !== 0) throw new Error(`drill run exited ${code}: ${io.all()}`);
  return io.stdout[0];
}

/** The drill's live record (query) while it runs. */
export async function drillRecord(client: Client, drillId: string): Promise<DrillResult | undefined> {
  return client.workflow.getHandle(drillId).query<DrillResult>('drill').catch(() => undefined);
}

/** Wait until a run's current step is `step` (queried live). */
export async function atStep(client: Client, workflowId: string, step: string, timeoutMs = 60_000): Promise<void> {
  await eventually(async () => (await client.workflow.getHandle(workflowId).query<RunStatus>('status').catch(() => undefined))?.currentStep === step, `${workflowId} at step ${step}`, timeoutMs);
}

/** A run's final record (a RunStatus, a DrillResult), from its result or from the details of its failure. */
export async function runOutcome<T>(client: Client, workflowId: string): Promise<T> {
  try {
    return (await client.workflow.getHandle(workflowId).result()) as T;
  } catch (e) {
    const details = (e as { cause?: { details?: unknown[] } }).cause?.details?.[0] as T | undefined;
    if (!details) throw e;
    return details;
  }
}

/** The drill's final record, from its result or its failure details. */
export function drillOutcome(client: Client, drillId: string): Promise<DrillResult> {
  return runOutcome<DrillResult>(client, drillId);
}
