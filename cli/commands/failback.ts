import { Command } from 'commander';
import { z } from 'zod';
import type { FailbackInput } from '../../workflows/failback';
import { currentUser, loadRunbookOrThrow, withClient } from '../context';
import { CliError, EXIT, type CliIO } from '../io';
import { addRunOptions, parseOptions, runOptions } from '../options';
import { latestRun, startAndFollow } from '../runs';
import { signRequester } from '../sign';
import { runWorkflowId } from '../temporal';
import type { SetExit } from './index';

const options = z.object({ ...runOptions });

/** `drover failback RUNBOOK --reason TEXT`: return to the original region after a completed failover. */
export function failbackCommand(io: CliIO, setExit: SetExit): Command {
  return addRunOptions(
    new Command('failback')
      .description('return a failed-over application to its original region (needs a completed failover), then follow it live')
      .argument('<runbook>', 'runbook YAML file'),
    { timeScale: true },
  )
    .action(async (file: string, raw: unknown) => {
      const opts = parseOptions(options, raw);
      const runbook = loadRunbookOrThrow(file);
      const input: FailbackInput = {
        runbook,
        reason: opts.reason,
        requestedBy: opts.requestedBy ?? currentUser(),
        requesterIdentity: await signRequester(runWorkflowId('failback', runbook.name)),
        options: opts.timeScale ? { timeScale: opts.timeScale } : undefined,
      };
      const code = await withClient((client) =>
        startAndFollow(client, io, {
          kind: 'failback',
          runbook: runbook.name,
          workflowType: 'failback',
          input,
          summary: `failback of ${runbook.name} to ${runbook.regions.primary}`,
          detach: opts.detach,
          json: opts.json,
          precondition: async () => {
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
          },
        }),
      );
      setExit(code);
    });
}
