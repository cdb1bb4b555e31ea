import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { Command } from 'commander';
import { z } from 'zod';
import type { FailoverInput } from '../../workflows/regionFailover';
import { currentUser, loadRunbookOrThrow, withClient } from '../context';
import { CliError, EXIT, type CliIO } from '../io';
import { modeOption, parseOptions, runOptions } from '../options';
import { exitCodeFor, refuseIfActive, toStderr, watchRun } from '../runs';
import { failoverWorkflowId, taskQueue } from '../temporal';
import type { SetExit } from './index';

const options = z.object({
  to: z.string({ error: 'required: the region to fail over to' }).min(1),
  mode: modeOption,
  ...runOptions,
});

/** `drover failover RUNBOOK --to REGION [--mode planned|unplanned] --reason TEXT`: start and follow a failover. */
export function failoverCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('failover')
    .description('fail an application over to its standby region, then follow the run live')
    .argument('<runbook>', 'runbook YAML file')
    .option('--to <region>', 'the region to fail over to (the runbook\'s standby region)')
    .option('--mode <mode>', 'planned (primary reachable) or unplanned (primary region lost)', 'planned')
    .option('--reason <text>', 'why; recorded in the timeline')
    .option('--requested-by <id>', 'who requests it (default: $DROVER_USER or $USER)')
    .option('--detach', 'start the run and return without following it')
    .option('--json', 'print the final status as JSON')
    .option('--time-scale <factor>', 'compress soak times (drills and demos), between 0 and 1')
    .action(async (file: string, raw: unknown) => {
      const opts = parseOptions(options, raw);
      const runbook = loadRunbookOrThrow(file);
      if (opts.to !== runbook.regions.standby) {
        const why = opts.to === runbook.regions.primary ? `${opts.to} is the primary region of ${runbook.name}` : `${opts.to} is not a region of ${runbook.name}`;
        throw new CliError('invalid options', EXIT.USAGE, [`--to: ${why}; failover goes to the standby region ${runbook.regions.standby}`]);
      }
      const input: FailoverInput = {
        runbook,
        targetRegion: opts.to,
        mode: opts.mode,
        reason: opts.reason,
        requestedBy: opts.requestedBy ?? currentUser(),
        options: opts.timeScale ? { timeScale: opts.timeScale } : undefined,
      };
      const workflowId = failoverWorkflowId(runbook.name);
      await withClient(async (client) => {
        await refuseIfActive(client, runbook.name, 'failover');
        try {
          await client.workflow.start('regionFailover', { taskQueue: taskQueue(), workflowId, args: [input] });
        } catch (e) {
          if (e instanceof WorkflowExecutionAlreadyStartedError) {
            throw new CliError(`a failover of ${runbook.name} is already running (${workflowId}); only one runs at a time`, EXIT.REFUSED, [`follow it with: drover status ${workflowId} --watch`]);
          }
          throw e;
        }
        io.err(`started ${workflowId}: ${input.mode} failover of ${runbook.name} to ${input.targetRegion}`);
        if (opts.detach) {
          io.out(workflowId);
          return;
        }
        const final = await watchRun(client, workflowId, opts.json ? toStderr(io) : io, { tty: !opts.json && process.stdout.isTTY });
        if (opts.json) io.out(JSON.stringify(final, null, 2));
        setExit(exitCodeFor(final));
      });
    });
}
