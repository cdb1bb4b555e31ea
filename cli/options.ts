import type { z } from 'zod';
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
