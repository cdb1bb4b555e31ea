import fs from 'node:fs';
import { workerSinks } from '../../cli/worker';
import path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import { ensureTestServer } from '../../infra/local/testserver';
import type { RunStatus } from '../../contracts/run';
import { workflowBundle, writeRunbook } from './fixtures';
import type { Runbook } from '../../runbooks/schema';
import type { StubWorld } from './stubs';
import { scanHistory } from './secrets';

/**
 * The workflow tier's environment: one Temporal time-skipping test server per test file (the Java test
 * server from Maven Central, installed by the workflow project's global setup), the real workflow bundle,
 * and a worker per test whose activities are a StubWorld's plain functions.
 */

/**
 * One time-skipping server for the calling test file (started before its tests, with the workflow bundle
 * built; torn down after them): the getter returns it inside tests.
 */
export function timeSkippingPerFile(): () => TestWorkflowEnvironment {
  let env: TestWorkflowEnvironment | undefined;
  beforeAll(async () => {
    env = await startTimeSkipping();
    await workflowBundle();
  }, 180_000);
  afterAll(async () => {
    if (!env) return;
    try {
      await scanTimeSkippingHistories(env);
    } finally {
      await env.teardown();
    }
  });
  return () => {
    if (!env) throw new Error('the time-skipping test server did not start');
    return env;
  };
}

/**
 * The "no secrets" scan of a time-skipping server, before it is torn down: every workflow it ran (open and
 * closed; the Java test server has no visibility query, so ListWorkflowExecutions is refused and the
 * open and closed lists are read instead), each history scanned (test/harness/secrets.ts). Throws, failing
 * the file, on a finding (named by workflow, event and kind, never the secret) or when it cannot list.
 */
export async function scanTimeSkippingHistories(env: TestWorkflowEnvironment): Promise<{ histories: number }> {
  const service = env.connection.workflowService;
  const namespace = env.namespace ?? 'default';
  const runs = new Map<string, { workflowId: string; runId: string }>();
  for (const list of ['open', 'closed'] as const) {
    let nextPageToken: Uint8Array | undefined;
    do {
      const page =
        list === 'open'
          ? await service.listOpenWorkflowExecutions({ namespace, maximumPageSize: 1000, nextPageToken })
          : await service.listClosedWorkflowExecutions({ namespace, maximumPageSize: 1000, nextPageToken });
      for (const e of page.executions ?? []) {
        const workflowId = e.execution?.workflowId ?? '';
        const runId = e.execution?.runId ?? '';
        runs.set(`${workflowId}/${runId}`, { workflowId, runId });
      }
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
  }
  const findings: string[] = [];
  for (const run of runs.values()) {
    const history = await env.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    for (const f of scanHistory(history)) findings.push(`${run.workflowId} (run ${run.runId}), event ${f.eventId}: ${f.kind}`);
  }
  if (findings.length > 0) throw new Error(`secrets scan of the time-skipping server: ${findings.length} finding(s):\n${findings.join('\n')}`);
  return { histories: runs.size };
}

let runbooks = 0;
/** An ApnaKart variant of its own (its own workflow ids), `set` applied (YAML paths); by default without approval gates. */
export function workflowTestRunbook(prefix: string, set: Array<[Array<string | number>, unknown]> = [[['approvals', 'gates'], []]]): Runbook {
  return writeRunbook({ name: `${prefix}-${process.pid}-${++runbooks}`, set }).runbook;
}

/** The SDK gives a test server 5 s to answer; a loaded machine can miss that, so a start is tried a few times. */
const STARTS = 3;

export async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const executable = process.env.DROVER_TEST_SERVER_BIN ?? (await ensureTestServer());
  let last: unknown;
  for (let attempt = 1; attempt <= STARTS; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: executable } } });
    } catch (e) {
      last = e;
      // SDK 1.24: "Failed to start ephemeral server: ephemeral server at ... did not start within 5s" (the SDK kills that server).
      if (!/did not start within|Failed connecting to test server/.test(String((e as Error)?.message))) throw e;
      process.stderr.write(`[drover harness] the time-skipping test server did not answer in time (attempt ${attempt} of ${STARTS})\n`);
    }
  }
  throw last;
}

/**
 * Runs that fail on purpose would each log a warning (and the SDK's core warns that the test server lacks
 * newer capabilities): only errors are shown, unless DROVER_TEST_LOG_LEVEL says otherwise. Once per test
 * file (each file has its own module registry, so its own Runtime).
 */
function quietRuntime(): void {
  const level = (process.env.DROVER_TEST_LOG_LEVEL ?? 'ERROR') as LogLevel;
  try {
    Runtime.install({ logger: new DefaultLogger(level), telemetryOptions: { logging: { filter: { core: level, other: level }, forward: {} } } });
  } catch {
    // Installed already (a second environment in the same file): keep it.
  }
}

let seq = 0;
/** A task queue of its own for each test (the workflow ids are the runbooks' own too). */
export function taskQueue(prefix: string): string {
  return `${prefix}-${process.pid}-${++seq}`;
}

/** Run `fn` while a worker on `queue` serves the workflows with `world`'s activities. */
export async function withStubWorker<T>(env: TestWorkflowEnvironment, queue: string, world: StubWorld, fn: () => Promise<T>): Promise<T> {
  const worker = await Worker.create({ sinks: workerSinks(), connection: env.nativeConnection, taskQueue: queue, workflowBundle: await workflowBundle(), activities: world.activities() });
  return worker.runUntil(fn);
}

/**
 * Start `workflowType` on a task queue of its own served by `world`'s activities, and run `fn` with its
 * handle. The run is terminated afterwards if `fn` left it running (a failed assertion): time skipping
 * is global to the test server, and an abandoned run waiting on an activity no worker serves would stop
 * the next test's clock.
 */
export async function withRun<T>(
  env: TestWorkflowEnvironment,
  world: StubWorld,
  start: { workflowType: string; workflowId: string; args: unknown[] },
  fn: (handle: WorkflowHandle) => Promise<T>,
): Promise<T> {
  const queue = taskQueue(start.workflowType);
  return withStubWorker(env, queue, world, async () => {
    const handle = await env.client.workflow.start(start.workflowType, { taskQueue: queue, workflowId: start.workflowId, args: start.args });
    try {
      return await fn(handle);
    } finally {
      await terminateWithChildren(env, handle);
    }
  });
}

/** Terminate a run left running, and the child runs it started (the test server may leave them running). */
async function terminateWithChildren(env: TestWorkflowEnvironment, handle: WorkflowHandle): Promise<void> {
  const history = await handle.fetchHistory().catch(() => undefined);
  const children = (history?.events ?? []).map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId).filter((id): id is string => Boolean(id));
  for (const id of children) await env.client.workflow.getHandle(id).terminate('the test is over').catch(() => undefined);
  await handle.terminate('the test is over').catch(() => undefined);
}

/** The run's status query, polled until `pred` holds (a gate pending, a step reached); real time, not skipped. */
export async function statusWhen(handle: WorkflowHandle, pred: (s: RunStatus) => boolean, what: string, timeoutMs = 30_000): Promise<RunStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await handle.query<RunStatus>('status').catch(() => undefined);
    if (s && pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(s && { phase: s.phase, currentStep: s.currentStep, pendingGate: s.pendingGate?.name })}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The failure a failed run ends with: its type and the record (RunStatus) it carries. */
export async function runFailure<T = RunStatus>(p: Promise<unknown>): Promise<{ type?: string; message: string; record: T }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof WorkflowFailedError)) throw new Error(`expected the run to fail, it ${err === undefined ? 'completed' : `threw ${String(err)}`}`);
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(cause)}`);
  return { type: cause.type ?? undefined, message: cause.message, record: cause.details?.[0] as T };
}

/**
 * Save a run's history as `file` in the directory DROVER_RECORD_HISTORIES names, for the replay tests
 * (test/histories, listed in its index.json); nothing when it is unset.
 */
export async function recordHistory(handle: Pick<WorkflowHandle, 'fetchHistory'>, file: string | undefined): Promise<void> {
  const dir = process.env.DROVER_RECORD_HISTORIES;
  if (!dir || !file) return;
  fs.writeFileSync(path.join(dir, file), historyToJSON(await handle.fetchHistory()));
}
