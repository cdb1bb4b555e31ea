import { Command } from 'commander';
import { prepareControls } from '../../activities/controls';
import { createAwsClients } from '../../aws/clients';
import { formatPath } from '../../runbooks/load';
import { awsConfig, loadRunbookOrThrow } from '../context';
import { CliError, EXIT, type CliIO, type SetExit } from '../io';

/**
 * `drover prepare FILE [--apply]`: build the runbook's data-plane controls (docs/region-loss.md), so an unplanned
 * failover can move traffic without Route 53's API. Shows the changes; makes them only with --apply. Never changes
 * which region serves traffic. Exit 0 ready (or made ready), 1 changes to make (shown, not applied), 2 bad input or
 * a record shape the controls cannot protect (nothing changed), 5 AWS unreachable.
 */
export function prepareCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('prepare')
    .description("build the runbook's data-plane controls (alarms, Route 53 health checks, writer failover pairs) so an unplanned failover needs no Route 53 API; shows the changes, makes them with --apply")
    .argument('<file>', 'runbook YAML file')
    .option('--apply', 'make the changes (without it, only shown)')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: { apply?: boolean; json?: boolean }) => {
      const rb = loadRunbookOrThrow(file);
      const aws = createAwsClients(awsConfig());
      let out;
      try {
        out = await prepareControls(rb, { route53: aws.route53, cloudwatch: aws.cloudwatch, rds: aws.rds }, { apply: opts.apply === true });
      } catch (e) {
        throw new CliError(`cannot prepare ${rb.name}: ${(e as Error).message.split('\n')[0]}`, EXIT.UNAVAILABLE, ["check the AWS endpoint and credentials: drover prepare needs Route 53's API (us-east-1) and CloudWatch in both regions"]);
      }
      if (opts.json) {
        io.out(JSON.stringify({ runbook: rb.name, ...out, problems: out.problems.map((p) => ({ path: formatPath(p.path), message: p.message })) }, null, 2));
      } else {
        for (const w of out.warnings) io.err(`warning: ${w}`);
        for (const p of out.problems) io.err(`${file}: ${formatPath(p.path)}: ${p.message}`);
        if (out.problems.length > 0) io.err(`${out.problems.length} record shape${out.problems.length === 1 ? '' : 's'} the controls cannot protect; nothing was changed`);
        else if (out.changes.length === 0) io.out(`${rb.name}: data-plane controls ready; nothing to change`);
        else {
          io.out(`${rb.name}: ${out.changes.length} change${out.changes.length === 1 ? '' : 's'} ${out.applied ? 'made' : 'to make'}:`);
          for (const c of out.changes) io.out(`  ${c.where}: ${c.what}`);
          if (!out.applied) io.out(`run again with --apply to make them (no region's traffic moves): drover prepare ${file} --apply`);
        }
      }
      setExit(out.problems.length > 0 ? EXIT.USAGE : out.changes.length === 0 || out.applied ? EXIT.OK : EXIT.FAILED);
    });
}
