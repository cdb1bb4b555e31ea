import { Command } from 'commander';
import { z } from 'zod';
import type { FailbackInput } from '../../workflows/failback';
import type { RunStatus } from '../../contracts/run';
import { createAwsClients } from '../../aws/clients';
import { awsConfig, currentUser, loadRunbookForRun, loadRunbookOrThrow, withClient, withClientIfReachable } from '../context';
import { failbackPlan, renderPlan } from '../plan';
import { CliError, EXIT, type CliIO, type SetExit } from '../io';
import { addRunOptions, parseOptions, runOptions } from '../options';
import { fetchStatus, latestRun, startAndFollow } from '../runs';

const options = z.object({ ...runOptions });
const planOptions = z.object({ json: z.boolean().optional() });

/** `--plan`: what the failback would do, read against the live state (reads only). */
async function printPlan(file: string, raw: unknown, io: CliIO): Promise<void> {
  const opts = parseOptions(planOptions, raw);
  const runbook = loadRunbookOrThrow(file);
  const aws = createAwsClients(awsConfig());
  const plan = await withClientIfReachable((client) => failbackPlan(runbook, aws, client));
  if (opts.json) io.out(JSON.stringify(plan, null, 2));
  else renderPlan(plan).forEach((l) => io.out(l));
}

/** `drover failback RUNBOOK --reason TEXT`: return to the original region after a completed failover (or a failed one that promoted a database). */
export function failbackCommand(io: CliIO, setExit: SetExit): Command {
  return addRunOptions(
    new Command('failback')
      .description('return a failed-over application to its original region (needs a completed failover), then follow it live')
      .argument('<runbook>', 'runbook YAML file')
      .option('--plan', 'print what the failback would do, read against the live state, and change nothing (no --reason needed)'),
    { timeScale: true },
  )
    .action(async (file: string, raw: unknown) => {
      if ((raw as { plan?: boolean }).plan) {
        await printPlan(file, raw, io);
        setExit(EXIT.OK);
        return;
      }
      const opts = parseOptions(options, raw);
      const { runbook, ref } = loadRunbookForRun(file);
      const input: FailbackInput = {
        runbookRef: ref,
        reason: opts.reason,
        requestedBy: opts.requestedBy ?? currentUser(),
        options: opts.timeScale ? { timeScale: opts.timeScale } : undefined,
      };
      const code = await withClient((client) =>
        startAndFollow(client, io, {
          kind: 'failback',
          runbook: runbook.name,
          rb: runbook,
          input,
          summary: `failback of ${runbook.name} to ${runbook.regions.primary}`,
          detach: opts.detach,
          json: opts.json,
          precondition: async () => {
            const failover = await latestRun(client, 'failover', runbook.name);
            // A failover that failed after promoting a database (a breach mid-shift, one of several promotions failed)
            // leaves writers in the standby region: failback is how they come home.
            const promotedAny = failover?.status === 'FAILED' && promotedSomething((await fetchStatus(client, failover.workflowId)).status);
            if (failover?.status !== 'COMPLETED' && !promotedAny) {
              throw new CliError(
                failover
                  ? `the latest failover of ${runbook.name} did not complete (${failover.status}) and promoted no database; failback needs a failover that moved a writer`
                  : `${runbook.name} has no failover to fail back from`,
                EXIT.REFUSED,
              );
            }
            const previous = await latestRun(client, 'failback', runbook.name);
            if (previous?.status === 'COMPLETED' && previous.closeTime && failover?.closeTime && previous.closeTime > failover.closeTime) {
              throw new CliError(`${runbook.name} already failed back (${previous.workflowId}) after its latest failover`, EXIT.REFUSED);
            }
          },
        }),
      );
      setExit(code);
    });
}

/** Whether a (failed) failover promoted at least one database: its promotion step completed, or its per-database record says so. */
function promotedSomething(status: RunStatus): boolean {
  return status.steps.some((s) => s.id === 'promote-database' && s.status === 'done') || (status.databases ?? []).some((d) => d.promoted);
}
