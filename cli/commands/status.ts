import { Command } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/client';
import { DRILL_WORKFLOW_TYPE } from '../../contracts/ids';
import { withClient } from '../context';
import { drillStatusLines, fetchDrill, followDrill } from '../drills';
import type { CliIO, SetExit } from '../io';
import { renderStatus } from '../render';
import { fetchStatus, followRun } from '../runs';

/** `drover status RUN [--watch] [--json]`: steps with durations, current step, pending gate, RTO/RPO. */
export function statusCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('status')
    .description('show a run: its steps with durations, the current step and any pending gate')
    .argument('<run>', 'run id (workflow id, e.g. failover-apnakart)')
    .option('--watch', 'follow the run live until it ends')
    .option('--json', 'print as JSON')
    .action(async (run: string, opts: { watch?: boolean; json?: boolean }) => {
      await withClient(async (client) => {
        const type = await client.workflow
          .getHandle(run)
          .describe()
          .then((d) => d.type)
          .catch((e: unknown) => {
            if (e instanceof WorkflowNotFoundError) return undefined; // fetchStatus says so clearly
            throw e;
          });
        if (type === DRILL_WORKFLOW_TYPE) {
          if (opts.watch) return setExit(await followDrill(client, run, io, opts.json));
          const { drill } = await fetchDrill(client, run);
          if (opts.json) io.out(JSON.stringify(drill, null, 2));
          else (await drillStatusLines(client, drill)).forEach((l) => io.out(l));
          return;
        }
        if (opts.watch) return setExit(await followRun(client, run, io, opts.json));
        const { status, progress } = await fetchStatus(client, run);
        if (opts.json) io.out(JSON.stringify({ ...status, progress }, null, 2));
        else renderStatus(status, Date.now(), progress).forEach((l) => io.out(l));
      });
    });
}
