import { Command, CommanderError, Help } from 'commander';
import { version } from '../package.json';
import { CliError, consoleIO, EXIT, type CliIO, type ExitCode } from './io';
import { COMMANDS } from './commands';

/** Run the drover CLI in-process and return its exit code; never calls process.exit. */
export async function exec(argv: string[], io: CliIO = consoleIO): Promise<number> {
  const program = new Command('drover')
    .description('Disaster-recovery runbooks for two-region AWS applications, on Temporal')
    .version(`drover ${version} (node ${process.version})`, '-V, --version', 'print drover\'s version and exit')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) })
    .showSuggestionAfterError();
  const state: { code: ExitCode } = { code: EXIT.OK };
  const setExit = (code: ExitCode) => {
    state.code = code;
  };
  // Only the command invoked (or whose help is asked) is loaded; the others are listed from the table.
  const wanted = invokedCommand(argv);
  const listed = new Map<Command, string>();
  try {
    for (const entry of COMMANDS) {
      if (entry.name !== wanted) {
        const stub = new Command(entry.name).description(entry.description).allowUnknownOption().allowExcessArguments().action(() => {
          throw new Error(`the ${entry.name} command was not loaded`);
        });
        listed.set(stub, entry.term);
        program.addCommand(stub);
        continue;
      }
      program.addCommand((await entry.load())(io, setExit));
      // Where its calls go is said once per invocation (cli/context.ts), by commands that make any.
      if (entry.announces) (await import('./context')).announceTargetsTo(io);
    }
  } catch (e) {
    return reportError(e, io);
  }
  const defaults = new Help();
  program.configureHelp({ subcommandTerm: (cmd) => listed.get(cmd) ?? defaults.subcommandTerm(cmd) });
  // Subcommands built in their own files must also throw instead of exiting, and write through io.
  const inherit = (cmd: Command) => {
    cmd.copyInheritedSettings(cmd.parent ?? program);
    cmd.commands.forEach(inherit);
  };
  program.commands.forEach(inherit);
  try {
    const parse = async () => {
      await program.parseAsync(argv, { from: 'user' });
      return state.code;
    };
    // Traces when OTEL_EXPORTER_OTLP_*ENDPOINT asks (telemetry/tracing.ts): the command is the root span, named as the
    // table names it (never other text the user typed), and a run it starts carries its context (cli/temporal.ts).
    // The worker traces itself, as its own service.
    const { tracingSettings } = await import('../telemetry/tracing');
    const command = COMMANDS.find((c) => c.name === wanted)?.name;
    const settings = command && command !== 'worker' ? tracingSettings() : { traced: false, warnings: [] };
    for (const w of settings.warnings) io.err(w);
    if (!settings.traced || !command) return await parse();
    const { startTracing, withRootSpan } = await import('../telemetry/tracing');
    return await withRootSpan(startTracing('drover-cli', (line) => io.err(line)), `drover ${command}`, { 'drover.command': command }, parse);
  } catch (e) {
    return reportError(e, io);
  }
}

/** The command `argv` runs, or whose help it asks for (`help <command>`); the root has no options that take a value. */
export function invokedCommand(argv: string[]): string | undefined {
  const operands = argv.filter((a) => !a.startsWith('-'));
  return operands[0] === 'help' ? operands[1] : operands[0];
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
