import { Command } from 'commander';
import { z } from 'zod';
import type { FailbackInput } from '../../workflows/failback';
import { currentUser, loadRunbookOrThrow, withClient } from '../context';
import { CliError, EXIT, type CliIO } from '../io';
import { parseOptions, runOptions } from '../options';
import { exitCodeFor, latestRun, refuseIfActive, toStderr, watchRun } from '../runs';
import { runWorkflowId, taskQueue } from '../temporal';
import type { SetExit } from './index';

const options = z.object({ ...runOptions });

/** `drover failback RUNBOOK --reason TEXT`: return to the original region after a completed failover. */
export function failbackCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('failback')
    .description('return a failed-over application to its original region (needs a completed failover), then follow it live')
    .argument('<runbook>', 'runbook YAML file')
    .option('--reason <text>', 'why; recorded in the timeline')
    .option('--requested-by <id>', 'who requests it (default: $DROVER_USER or $USER)')
    .option('--detach', 'start the run and return without following it')
    .option('--json', 'print the final status as JSON')
    .option('--time-scale <factor>', 'compress soak times (drills and demos), between 0 and 1')
    .action(async (file: string, raw: unknown) => {
      const opts = parseOptions(options, raw);
      const runbook = loadRunbookOrThrow(file);
      const input: FailbackInput = { runbook, reason: opts.reason, requestedBy: opts.requestedBy ?? currentUser(), options: opts.timeScale ? { timeScale: opts.timeScale } : undefined };
      const workflowId = runWorkflowId('failback', runbook.name);
      await withClient(async (client) => {
        await refuseIfActive(client, runbook.name, 'failback');
        const failover = await latestRun(client, 'failover', runbook.name);
        if (failover?.status !== 'COMPLETED') {
          throw new CliError(
            failover ? `the latest failover of ${runbook.name} did not complete (${failover.status}); failback needs a completed failover` : `${runbook.name} has no failover to fail back from`,
            EXIT.REFUSED,
          );
        }
        const previous = await latestRun(client, 'failback', runbook.name);
        if (previous?.status === 'COMPLETED' && previous.closeTime && failover.closeTime && previous.closeTime > failover.closeTime) {
          throw new CliError(`${runbook.name} already failed back (${previous.workflowId}) after its latest failover`, EXIT.REFUSED);
        }
        await client.workflow.start('failback', { taskQueue: taskQueue(), workflowId, args: [input] });
        io.err(`started ${workflowId}: failback of ${runbook.name} to ${runbook.regions.primary}`);
        if (opts.detach) return io.out(workflowId);
        const final = await watchRun(client, workflowId, opts.json ? toStderr(io) : io, { tty: !opts.json && process.stdout.isTTY });
        if (opts.json) io.out(JSON.stringify(final, null, 2));
        setExit(exitCodeFor(final));
      });
    });
}
