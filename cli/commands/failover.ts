import { Command } from 'commander';
import { z } from 'zod';
import type { FailoverInput } from '../../workflows/regionFailover';
import { currentUser, loadRunbookForRun, withClient } from '../context';
import { CliError, EXIT, type CliIO, type SetExit } from '../io';
import { addRunOptions, modeOption, parseOptions, runOptions } from '../options';
import { startAndFollow } from '../runs';

const options = z.object({
  to: z.string({ error: 'required: the region to fail over to' }).min(1),
  mode: modeOption,
  ...runOptions,
});

/** `drover failover RUNBOOK --to REGION [--mode planned|unplanned] --reason TEXT`: start and follow a failover. */
export function failoverCommand(io: CliIO, setExit: SetExit): Command {
  return addRunOptions(
    new Command('failover')
      .description('fail an application over to its standby region, then follow the run live')
      .argument('<runbook>', 'runbook YAML file')
      .option('--to <region>', 'the region to fail over to (the runbook\'s standby region)')
      .option('--mode <mode>', 'planned (primary reachable) or unplanned (primary region lost)', 'planned'),
    { timeScale: true },
  )
    .action(async (file: string, raw: unknown) => {
      const opts = parseOptions(options, raw);
      const { runbook, ref } = loadRunbookForRun(file);
      if (opts.to !== runbook.regions.standby) {
        const why = opts.to === runbook.regions.primary ? `${opts.to} is the primary region of ${runbook.name}` : `${opts.to} is not a region of ${runbook.name}`;
        throw new CliError('invalid options', EXIT.USAGE, [`--to: ${why}; failover goes to the standby region ${runbook.regions.standby}`]);
      }
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
