import { Command } from 'commander';
import { databasesOf } from '../../runbooks/databases';
import { readFileSync } from 'node:fs';
import { formatProblems, loadRunbookFile } from '../../runbooks/load';
import { runbookDigest } from '../../runbooks/source';
import { EXIT, type CliIO, type SetExit } from '../io';

/** `drover validate FILE`: report every problem in a runbook, exit 2 if there is any. */
export function validateCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('validate')
    .description('validate a runbook file and report every problem at once')
    .argument('<file>', 'runbook YAML file')
    .option('--json', 'print the result as JSON')
    .action((file: string, opts: { json?: boolean }) => {
      const result = loadRunbookFile(file);
      // The digest a run names: the workers run their own copy of the runbook, refused if it differs.
      const digest = () => runbookDigest(readFileSync(file, 'utf8'));
      if (opts.json) {
        io.out(JSON.stringify(result.ok ? { ok: true, name: result.runbook.name, digest: digest() } : { ok: false, problems: result.problems }, null, 2));
      } else if (result.ok) {
        const rb = result.runbook;
        const dbs = databasesOf(rb).length;
        io.out(`${file}: valid runbook "${rb.name}" (${rb.regions.primary} -> ${rb.regions.standby}, ${rb.dns.records.length} records, ${rb.compute.clusters.length} clusters, ${dbs} database${dbs === 1 ? '' : 's'})`);
        io.out(`digest ${digest()} (runs name it; the workers must hold this very file as ${rb.name}.yaml)`);
      } else {
        for (const line of formatProblems(file, result.problems)) io.err(line);
        io.err(`${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} found`);
      }
      setExit(result.ok ? EXIT.OK : EXIT.USAGE);
    });
}
