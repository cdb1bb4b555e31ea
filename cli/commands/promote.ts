import { Command } from 'commander';
import { z } from 'zod';
import { databasesOf, findDatabase } from '../../runbooks/databases';
import type { PromoteInput } from '../../workflows/promoteReplica';
import { currentUser, loadRunbookForRun, withClient } from '../context';
import { CliError, EXIT, type CliIO, type SetExit } from '../io';
import { addRunOptions, modeOption, parseOptions, runOptions } from '../options';
import { startAndFollow } from '../runs';

const options = z.object({
  to: z.string({ error: 'required: the region whose database becomes the writer' }).min(1),
  mode: modeOption,
  database: z.string().min(1).optional(),
  ...runOptions,
});

/** `drover promote RUNBOOK --to REGION --mode planned|unplanned --reason TEXT`: promote the database alone. */
export function promoteCommand(io: CliIO, setExit: SetExit): Command {
  return addRunOptions(
    new Command('promote')
      .description('promote the database in a region to writer (planned: fenced, RPO 0; unplanned: RPO = last lag), then follow it live')
      .argument('<runbook>', 'runbook YAML file')
      .option('--to <region>', 'the region whose database becomes the writer')
      .option('--mode <mode>', 'planned or unplanned', 'planned')
      .option('--database <name>', "which of the runbook's databases (required when it lists several)"),
    { timeScale: false },
  )
    .action(async (file: string, raw: unknown) => {
      const opts = parseOptions(options, raw);
      const { runbook, ref } = loadRunbookForRun(file);
      if (opts.to !== runbook.regions.primary && opts.to !== runbook.regions.standby) {
        throw new CliError('invalid options', EXIT.USAGE, [`--to: ${opts.to} is not a region of ${runbook.name} (${runbook.regions.primary}, ${runbook.regions.standby})`]);
      }
      const db = findDatabase(runbook, opts.database);
      if (!db) {
        const names = databasesOf(runbook).map((d) => d.name).join(', ');
        throw new CliError('invalid options', EXIT.USAGE, [opts.database === undefined ? `--database: required, ${runbook.name} has several databases (${names})` : `--database: ${runbook.name} has no database ${opts.database} (it has ${names})`]);
      }
      const several = databasesOf(runbook).length > 1;
      const input: PromoteInput = { runbookRef: ref, toRegion: opts.to, mode: opts.mode, reason: opts.reason, requestedBy: opts.requestedBy ?? currentUser(), ...(several ? { database: db.name } : {}) };
      const summary = `${input.mode} promotion of ${runbook.name}'s database${several ? ` ${db.name}` : ''} in ${input.toRegion}`;
      const code = await withClient((client) => startAndFollow(client, io, { kind: 'promote', runbook: runbook.name, rb: runbook, input, summary, detach: opts.detach, json: opts.json }));
      setExit(code);
    });
}
