import { Command, CommanderError } from 'commander';
import { version } from '../package.json';
import { CliError, consoleIO, EXIT, type CliIO, type ExitCode } from './io';
import { registerCommands } from './commands';
import { announceTargetsTo } from './context';

/** Run the drover CLI in-process and return its exit code; never calls process.exit. */
export async function exec(argv: string[], io: CliIO = consoleIO): Promise<number> {
  const program = new Command('drover')
    .description('Disaster-recovery runbooks for two-region AWS applications, on Temporal')
    .version(`drover ${version} (node ${process.version})`, '-V, --version', 'print drover\'s version and exit')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) })
    .showSuggestionAfterError();
  announceTargetsTo(io);
  const state: { code: ExitCode } = { code: EXIT.OK };
  registerCommands(program, io, (code) => {
    state.code = code;
  });
  // Subcommands built in their own files must also throw instead of exiting, and write through io.
  const inherit = (cmd: Command) => {
    cmd.copyInheritedSettings(cmd.parent ?? program);
    cmd.commands.forEach(inherit);
  };
  program.commands.forEach(inherit);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return state.code;
  } catch (e) {
    return reportError(e, io);
  }
}

function reportError(e: unknown, io: CliIO): number {
  if (e instanceof CommanderError) {
    // Help and version are "errors" to commander; its own message was already written.
    return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (e instanceof CliError) {
    io.err(`drover: ${e.message}`);
    for (const line of e.lines) io.err(`  ${line}`);
    return e.exitCode;
  }
  const err = e as Error;
  io.err(`drover: unexpected error: ${err?.message ?? String(e)}`);
  if (process.env.DROVER_DEBUG) io.err(err?.stack ?? '');
  return EXIT.FAILED;
}

if (require.main === module) {
  exec(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    () => {
      process.exitCode = EXIT.FAILED;
    },
  );
}
