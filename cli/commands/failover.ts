import { Command } from 'commander';
import { z } from 'zod';
import type { FailoverInput } from '../../workflows/regionFailover';
import { createAwsClients } from '../../aws/clients';
import type { Runbook } from '../../runbooks/schema';
import { awsConfig, currentUser, loadRunbookForRun, loadRunbookOrThrow, withClient, withClientIfReachable } from '../context';
import { failoverPlan, renderPlan } from '../plan';
import { CliError, EXIT, type CliIO, type SetExit } from '../io';
import { addRunOptions, modeOption, parseOptions, runOptions } from '../options';
import { startAndFollow } from '../runs';

const options = z.object({
  to: z.string({ error: 'required: the region to fail over to' }).min(1),
  mode: modeOption,
  ...runOptions,
});

// A plan starts nothing: no reason, no requester.
const planOptions = z.object({
  to: z.string({ error: 'required: the region to fail over to' }).min(1),
  mode: modeOption,
  json: z.boolean().optional(),
});

/** `--plan`: what the failover would do, read against the live state (AWS reads only; Temporal for step times when reachable). */
async function printPlan(file: string, raw: unknown, io: CliIO): Promise<void> {
  const opts = parseOptions(planOptions, raw);
  const runbook = loadRunbookOrThrow(file);
  refuseTarget(runbook, opts.to);
  const aws = createAwsClients(awsConfig());
  const plan = await withClientIfReachable((client) => failoverPlan(runbook, opts.mode, aws, client));
  if (opts.json) io.out(JSON.stringify(plan, null, 2));
  else renderPlan(plan).forEach((l) => io.out(l));
}

function refuseTarget(runbook: Runbook, to: string): void {
  if (to !== runbook.regions.standby) {
    const why = to === runbook.regions.primary ? `${to} is the primary region of ${runbook.name}` : `${to} is not a region of ${runbook.name}`;
    throw new CliError('invalid options', EXIT.USAGE, [`--to: ${why}; failover goes to the standby region ${runbook.regions.standby}`]);
  }
}

/** `drover failover RUNBOOK --to REGION [--mode planned|unplanned] --reason TEXT`: start and follow a failover. */
export function failoverCommand(io: CliIO, setExit: SetExit): Command {
  return addRunOptions(
    new Command('failover')
      .description('fail an application over to its standby region, then follow the run live')
      .argument('<runbook>', 'runbook YAML file')
      .option('--to <region>', 'the region to fail over to (the runbook\'s standby region)')
      .option('--mode <mode>', 'planned (primary reachable) or unplanned (primary region lost)', 'planned')
      .option('--plan', 'print what the failover would do, read against the live state, and change nothing (no --reason needed)'),
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
      refuseTarget(runbook, opts.to);
      const input: FailoverInput = {
        runbookRef: ref,
        targetRegion: opts.to,
        mode: opts.mode,
        reason: opts.reason,
        requestedBy: opts.requestedBy ?? currentUser(),
        options: opts.timeScale ? { timeScale: opts.timeScale } : undefined,
      };
      const summary = `${input.mode} failover of ${runbook.name} to ${input.targetRegion}`;
      const code = await withClient((client) => startAndFollow(client, io, { kind: 'failover', runbook: runbook.name, rb: runbook, input, summary, detach: opts.detach, json: opts.json }));
      setExit(code);
    });
}
