import { Command } from 'commander';
import { z } from 'zod';
import type { RebuildInput } from '../../workflows/rebuildCluster';
import { currentUser, loadRunbookForRun, withClient } from '../context';
import { CliError, EXIT, type CliIO, type SetExit } from '../io';
import { addRunOptions, parseOptions, runOptions } from '../options';
import { startAndFollow } from '../runs';

const options = z.object({
  region: z.string({ error: 'required: the region whose cluster is rebuilt' }).min(1),
  force: z.boolean().optional(),
  ...runOptions,
});

/** `drover rebuild RUNBOOK --region R --reason TEXT [--force]`: recreate a region's EKS cluster from code. */
export function rebuildCommand(io: CliIO, setExit: SetExit): Command {
  return addRunOptions(
    new Command('rebuild')
      .description('recreate a region\'s EKS cluster from code (CDK for Terraform + OpenTofu): plan, approve the plan, apply, redeploy, verify; follow it live')
      .argument('<runbook>', 'runbook YAML file')
      .option('--region <region>', 'the region whose cluster is rebuilt (traffic must already be away from it)')
      .option('--force', 'rebuild even though traffic still reaches the region, after an extra approval (gate rebuild-force)'),
    { timeScale: false },
  )
    .action(async (file: string, raw: unknown) => {
      const opts = parseOptions(options, raw);
      const { runbook, ref } = loadRunbookForRun(file);
      const problems: string[] = [];
      if (opts.region !== runbook.regions.primary && opts.region !== runbook.regions.standby) {
        problems.push(`--region: ${opts.region} is not a region of ${runbook.name} (${runbook.regions.primary}, ${runbook.regions.standby})`);
      } else if (!runbook.compute.clusters.some((c) => c.region === opts.region)) {
        problems.push(`${file}: compute.clusters: no cluster in ${opts.region} to rebuild`);
      }
      if (!runbook.rebuild) problems.push(`${file}: rebuild: missing; add a rebuild section (state backend, allowed destroys, redeploy hook) to rebuild clusters`);
      if (problems.length > 0) throw new CliError('cannot rebuild', EXIT.USAGE, problems);
      const input: RebuildInput = { runbookRef: ref, region: opts.region, reason: opts.reason, requestedBy: opts.requestedBy ?? currentUser(), force: opts.force };
      const summary = `rebuild of ${runbook.name}'s cluster in ${opts.region}${opts.force ? ' (forced)' : ''}`;
      const code = await withClient((client) => startAndFollow(client, io, { kind: 'rebuild', runbook: runbook.name, rb: runbook, input, summary, detach: opts.detach, json: opts.json }));
      setExit(code);
    });
}
