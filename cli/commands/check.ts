import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { Command } from 'commander';
import { z } from 'zod';
import { MEMO_RUNBOOK } from '../../contracts/ids';
import { FailureType } from '../../contracts/failures';
import { checkWorkflowId, READINESS_WORKFLOW_TYPE, type ReadinessRun } from '../../contracts/readiness';
import type { ReadinessInput } from '../../workflows/readiness';
import { loadRunbookForRun, withClient } from '../context';
import { CliError, EXIT, type CliIO, type SetExit } from '../io';
import { parseOptions } from '../options';
import { taskQueue } from '../temporal';
import { needWorker, readinessExitCode, renderReadiness } from './readiness';

const checkOptions = z.object({
  json: z.boolean().optional(),
  direction: z.enum(['failover', 'failback'], { error: 'expected failover or failback' }).optional(),
});

/** `drover check RUNBOOK`: one evaluation, on the workers, printed with an exit code for its verdict. */
export function checkCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('check')
    .description("evaluate the runbook's readiness now on the workers: a verdict per check (ready, degraded, not ready) with the reason and the fix; exit 0 ready, 7 degraded, 1 not ready")
    .argument('<runbook>', 'runbook YAML file (the workers evaluate their copy; a copy that differs is a finding)')
    .option('--json', 'print the evaluation as JSON')
    .option('--direction <run>', 'failover or failback (default: the run that comes next: a failback when a failover is in effect)')
    .action(async (file: string, raw: unknown) => {
      const o = parseOptions(checkOptions, raw);
      const { runbook: rb, ref } = loadRunbookForRun(file);
      const input: ReadinessInput = { runbookRef: ref, trigger: 'check', ...(o.direction ? { direction: o.direction } : {}) };
      const workflowId = checkWorkflowId(rb.name, new Date());
      const r = await withClient(async (client) => {
        await needWorker(client);
        try {
          return await client.workflow.execute<(i: ReadinessInput) => Promise<ReadinessRun>>(READINESS_WORKFLOW_TYPE, {
            taskQueue: taskQueue(),
            workflowId,
            args: [input],
            memo: { [MEMO_RUNBOOK]: rb.name },
            workflowExecutionTimeout: '10m',
          });
        } catch (e) {
          // The workflow's failure wraps the activity's (ActivityFailure), which wraps what the activity threw.
          let cause: Error | undefined = e instanceof WorkflowFailedError ? e.cause : undefined;
          while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
          if (cause instanceof ApplicationFailure && cause.type === FailureType.RunbookRefused) throw new CliError(`readiness of ${rb.name} not evaluated: ${cause.message}`, EXIT.REFUSED);
          if (e instanceof WorkflowFailedError) throw new CliError(`readiness of ${rb.name} not evaluated: ${cause?.message ?? e.message}`, EXIT.UNAVAILABLE, [`the evaluation itself failed (not a verdict): its history (temporal workflow show --workflow-id ${workflowId}) and the worker's log say why`]);
          throw e;
        }
      });
      if (o.json) io.out(JSON.stringify(r, null, 2));
      else renderReadiness(r).forEach((l) => io.out(l));
      setExit(readinessExitCode(r.verdict));
    });
}

