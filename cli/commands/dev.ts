import { Command, InvalidArgumentError } from 'commander';
import type { ServerStatus } from '../dev-stack';
import { EXIT, type CliIO, type SetExit } from '../io';

// The stack's code (cli/dev-stack.ts, infra/local/) loads only when a dev command runs (not for its help): a production
// worker must not load the embedded stack (test/production-imports.unit.test.ts).
const devStack = () => import('../dev-stack');

/** `drover dev up|down|status`: a local Temporal dev server and moto server that outlive the CLI. */
export function devCommand(io: CliIO, setExit: SetExit): Command {
  const dev = new Command('dev').description('run a local Temporal dev server (with Web UI) and a moto AWS emulator for demos and development');

  dev
    .command('up')
    .description('start the local stack in the background (idempotent); honours TEMPORAL_ADDRESS and AWS_ENDPOINT_URL')
    .option('--temporal-port <port>', 'Temporal gRPC port', parsePort, 7233)
    .option('--ui-port <port>', 'Temporal Web UI port', parsePort, 8233)
    .option('--moto-port <port>', 'moto (AWS emulator) port', parsePort, 5055)
    .action(async (opts: { temporalPort: number; uiPort: number; motoPort: number }) => {
      await (await devStack()).devUp(io, opts);
      setExit(EXIT.OK);
    });

  dev
    .command('down')
    .description('stop the local stack (idempotent); Temporal history stays in its SQLite file')
    .action(async () => {
      await (await devStack()).devDown(io);
      setExit(EXIT.OK);
    });

  dev
    .command('status')
    .description('show whether the local stack is up and healthy (exit 0 when both servers are usable, 1 otherwise)')
    .option('--json', 'print the status as JSON')
    .action(async (opts: { json?: boolean }) => {
      const status = await (await devStack()).devStatus();
      if (opts.json) {
        io.out(JSON.stringify(status, null, 2));
      } else {
        io.out(`temporal: ${summarize(status.temporal)}`);
        io.out(`moto:     ${summarize(status.moto)}`);
      }
      setExit(status.temporal.usable && status.moto.usable ? EXIT.OK : EXIT.FAILED);
    });

  return dev;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a TCP port number (1-65535)');
  return n;
}

function summarize(s: ServerStatus): string {
  const where = [s.address, s.uiUrl ? `UI ${s.uiUrl}` : undefined, s.endpoint].filter(Boolean).join(', ');
  switch (s.state) {
    case 'up':
      return `up (${where}, pid ${s.pid})`;
    case 'unhealthy':
      return `running but not answering (${where}, pid ${s.pid}; log ${s.logFile})`;
    case 'external':
      return `external ${where} (${s.healthy ? 'reachable' : 'NOT reachable'})`;
    case 'down':
      return 'down';
  }
}
