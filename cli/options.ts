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
