import { Command } from 'commander';
import { z } from 'zod';
import type { CleanupInput } from '../../workflows/cleanup';
import { createDbLifecycleActivities } from '../../activities/dblifecycle';
import { createAwsClients } from '../../aws/clients';
import { chooseRetained, formatAge, type CleanupChoice } from '../../contracts/cleanup';
import { databasesOf, dbIn } from '../../runbooks/databases';
import { duration } from '../../runbooks/schema';
import type { Runbook } from '../../runbooks/schema';
import { awsConfig, currentUser, loadRunbookForRun, withClient } from '../context';
import { CliError, EXIT, type CliIO, type SetExit } from '../io';
import { parseOptions, runOptions } from '../options';
import { runningDrills } from '../drills';
import { startAndFollow } from '../runs';

const options = z.object({
  olderThan: duration.optional(),
  delete: z.boolean().optional(),
  json: z.boolean().optional(),
  detach: z.boolean().optional(),
  requestedBy: runOptions.requestedBy,
  reason: z.string().optional(),
});

/** The runbook's retained instances as RDS has them now, each with what a cleanup would do. Reads only. */
async function listChoices(rb: Runbook, olderThanMs: number | undefined): Promise<CleanupChoice[]> {
  const aws = createAwsClients(awsConfig());
  const lifecycle = createDbLifecycleActivities(aws.rds, aws.ec2);
  const now = Date.now();
  const choices: CleanupChoice[] = [];
  for (const d of databasesOf(rb).filter((x) => x.engine !== 'aurora-global')) {
    for (const region of [rb.regions.primary, rb.regions.standby]) {
      let found;
      try {
        found = await lifecycle.listRetained({ region, identifiers: [dbIn(rb, d, region)] });
      } catch (e) {
        throw new CliError(`cannot read the retained instances in ${region}: ${(e as Error).message.split('\n')[0]}`, EXIT.UNAVAILABLE, ['check the AWS endpoint, credentials and regions']);
      }
      choices.push(...chooseRetained(found, now, olderThanMs, d.retainFor));
    }
  }
  return choices;
}

function render(rb: Runbook, choices: CleanupChoice[], now: number): string[] {
  if (choices.length === 0) return [`${rb.name}: no retained instance in ${rb.regions.primary} or ${rb.regions.standby}`];
  const lines = [`${rb.name}: ${choices.length} retained instance${choices.length === 1 ? '' : 's'} (each costs as a running instance until deleted)`];
  for (const c of choices) {
    const age = c.retainedAt === undefined ? 'retained at an unknown time' : `retained ${formatAge(Math.max(0, now - c.retainedAt))} ago`;
    lines.push(`  ${c.identifier} (${c.region}) ${c.instanceClass ?? '?'} ${c.status}, ${age}: ${c.reason}`);
    lines.push(`    ${c.action === 'delete' ? 'delete, after a final snapshot' : 'keep'}: ${c.why}`);
  }
  return lines;
}

/**
 * `drover cleanup RUNBOOK [--older-than D] [--delete --reason TEXT]`: list the instances the runbook's failbacks
 * and drills kept; with --delete, delete those old enough in an audited run (`cleanup-<name>`), each after a
 * final snapshot that stays.
 */
export function cleanupCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('cleanup')
    .description("list the RDS instances the runbook's failbacks and drills kept (renamed <id>-old-…); with --delete, delete those old enough, each after a final snapshot, in an audited run")
    .argument('<runbook>', 'runbook YAML file')
    .option('--older-than <duration>', "select instances retained at least this long ago (e.g. 7d); default each database's retainFor")
    .option('--delete', 'delete the selected instances (a run, cleanup-<name>, followed live); without it, only list')
    .option('--reason <text>', 'why (required with --delete; recorded in the audit trail)')
    .option('--requested-by <id>', 'who requests it (default: $DROVER_USER or $USER)')
    .option('--detach', 'with --delete: start the run and return without following it')
    .option('--json', 'print as JSON')
    .action(async (file: string, raw: unknown) => {
      const opts = parseOptions(options, raw);
      const { runbook, ref } = loadRunbookForRun(file);
      const problems: string[] = [];
      if (opts.delete) {
        if (!opts.reason || opts.reason.trim().length < 3) problems.push('--reason: required with --delete (at least 3 characters): why (recorded in the audit trail)');
        if (opts.olderThan === undefined && !databasesOf(runbook).some((d) => d.retainFor !== undefined)) {
          problems.push(`--older-than: required with --delete: no database of ${runbook.name} sets retainFor, so nothing says how old is old enough (--older-than 0s selects all)`);
        }
      } else if (opts.detach) problems.push('--detach: only with --delete (listing starts no run)');
      if (problems.length > 0) throw new CliError('invalid options', EXIT.USAGE, problems);

      const now = Date.now();
      const choices = await listChoices(runbook, opts.olderThan);
      const doomed = choices.filter((c) => c.action === 'delete');
      if (!opts.delete || doomed.length === 0) {
        if (opts.json) io.out(JSON.stringify({ runbook: runbook.name, olderThanMs: opts.olderThan, instances: choices }, null, 2));
        else {
          render(runbook, choices, now).forEach((l) => io.out(l));
          if (opts.delete) io.out('nothing to delete: no run was started');
          else if (doomed.length > 0) io.out(`to delete ${doomed.length === 1 ? 'it' : `these ${doomed.length}`} (each after a final snapshot): drover cleanup ${file}${opts.olderThan !== undefined ? ` --older-than ${(raw as { olderThan: string }).olderThan}` : ''} --delete --reason TEXT`);
        }
        setExit(EXIT.OK);
        return;
      }
      if (!opts.json) render(runbook, choices, now).forEach((l) => io.err(l));
      const input: CleanupInput = {
        runbookRef: ref,
        reason: (opts.reason as string).trim(),
        requestedBy: opts.requestedBy ?? currentUser(),
        olderThanMs: opts.olderThan,
        // What was shown is all that may go: the workers decide again with their own account and clock.
        selected: doomed.map((c) => ({ region: c.region, identifier: c.identifier })),
      };
      const summary = `cleanup of ${runbook.name}'s retained instances (${doomed.length} to delete)`;
      const code = await withClient((client) =>
        startAndFollow(client, io, {
          kind: 'cleanup',
          runbook: runbook.name,
          rb: runbook,
          input,
          summary,
          detach: opts.detach,
          json: opts.json,
          // A drill's failback may be retiring (and waiting on) an instance this would delete.
          precondition: async () => {
            const drills = await runningDrills(client, runbook.name);
            if (drills.length > 0) throw new CliError(`a drill of ${runbook.name} is running (${drills.join(', ')}); one run per runbook at a time, so this cleanup was not started`, EXIT.REFUSED);
          },
        }),
      );
      setExit(code);
    });
}
