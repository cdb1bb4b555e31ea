import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { WORKFLOW_INTERCEPTOR_MODULES, workerSinks } from './worker';

/** Where the committed workflow histories are, and their index (file, the workflow id it was recorded under, what it is). */
export const HISTORIES_DIR = path.join(__dirname, '..', 'test', 'histories');

export interface RecordedHistory {
  file: string;
  workflowId: string;
  about: string;
}

/** The histories every workflow change must still replay (test/histories/index.json). */
export function recordedHistories(dir = HISTORIES_DIR): RecordedHistory[] {
  return JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as RecordedHistory[];
}

const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };

/**
 * The workflow bundle production workers load (DROVER_WORKFLOW_BUNDLE): built once, with the worker's interceptors,
 * then every recorded history replayed against this very bundle. Returns its code and the replays that failed
 * (a non-empty list: the bundle must not be deployed while runs recorded with older code may still be open).
 */
export async function buildCheckedBundle(dir = HISTORIES_DIR): Promise<{ code: string; replayed: number; failures: string[] }> {
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, logger: silent });
  const failures: string[] = [];
  const recorded = recordedHistories(dir);
  for (const h of recorded) {
    try {
      const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, h.file), 'utf8')));
      await Worker.runReplayHistory({ workflowBundle: bundle, replayName: 'drover-bundle', sinks: workerSinks() }, history, h.workflowId);
    } catch (e) {
      failures.push(`${h.file} (${h.workflowId}): ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return { code: bundle.code, replayed: recorded.length, failures };
}
