import type { Command } from 'commander';
import { z } from 'zod';
import { CliError, EXIT } from './io';

/** Validate a command's options with its zod schema; every problem becomes a `--option: message` line (exit 2). */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => {
    const key = String(i.path[0] ?? '');
    const flag = key === '' ? '(arguments)' : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    return `${flag}: ${i.message}`;
  });
  throw new CliError('invalid options', EXIT.USAGE, lines);
}

/** Options every run-starting command (failover, promote, failback) shares. */
export const runOptions = {
  reason: z.string({ error: 'required: why (recorded in the timeline)' }).trim().min(3, { error: 'give a reason of at least 3 characters' }),
  requestedBy: z.string().min(1).optional(),
  detach: z.boolean().optional(),
  json: z.boolean().optional(),
  timeScale: z.coerce.number().positive().max(1).optional(),
};

/** `--mode planned|unplanned`, planned by default. */
export const modeOption = z.enum(['planned', 'unplanned'], { error: 'expected "planned" or "unplanned"' }).default('planned');

/** Declare the options every run-starting command shares (validated by `runOptions`). */
export function addRunOptions(cmd: Command, opts: { timeScale: boolean }): Command {
  cmd
    .option('--reason <text>', 'why; recorded in the timeline')
    .option('--requested-by <id>', 'who requests it (default: $DROVER_USER or $USER)')
    .option('--detach', 'start the run and return without following it')
    .option('--json', 'print the final status as JSON');
  return opts.timeScale ? cmd.option('--time-scale <factor>', 'compress soak times (drills and demos), between 0 and 1') : cmd;
}
