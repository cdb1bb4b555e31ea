import { Command } from 'commander';
import { withClient } from '../context';
import type { CliIO } from '../io';
import { renderStatus } from '../render';
import { exitCodeFor, fetchStatus, toStderr, watchRun } from '../runs';
import type { SetExit } from './index';

/** `drover status RUN [--watch] [--json]`: steps with durations, current step, pending gate, RTO/RPO. */
export function statusCommand(io: CliIO, setExit: SetExit): Command {
  return new Command('status')
    .description('show a run: its steps with durations, the current step and any pending gate')
    .argument('<run>', 'run id (workflow id, e.g. failover-apnakart)')
    .option('--watch', 'follow the run live until it ends')
    .option('--json', 'print as JSON')
    .action(async (run: string, opts: { watch?: boolean; json?: boolean }) => {
      await withClient(async (client) => {
        if (opts.watch) {
          const final = await watchRun(client, run, opts.json ? toStderr(io) : io, { tty: !opts.json && process.stdout.isTTY });
          if (opts.json) io.out(JSON.stringify(final, null, 2));
          setExit(exitCodeFor(final));
          return;
        }
        const { status } = await fetchStatus(client, run);
        if (opts.json) io.out(JSON.stringify(status, null, 2));
        else renderStatus(status).forEach((l) => io.out(l));
      });
    });
}
