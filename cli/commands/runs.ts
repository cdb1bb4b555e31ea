import fs from 'node:fs';
import { Command } from 'commander';
import { z } from 'zod';
import { resolveEndpoints } from '../../config/endpoints';
import { formatDuration } from '../../contracts/duration';
import { LISTED_KINDS } from '../../contracts/ids';
import { loadRunbookOrThrow, withClient } from '../context';
import { CliError, EXIT, type CliIO, type SetExit } from '../io';
import { parseOptions } from '../options';
import { namespace } from '../temporal';
import { listRuns, missingSearchAttributes, createAttributeCommands, RUN_OUTCOMES, type RunRow } from '../visibility';

const choices = (values: readonly string[]) => values.map((v) => `"${v}"`).join(', ');
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/**
 * `--since`: a date (UTC midnight), a date and time with its zone, or an age (`30m`, `12h`, `7d`, `2w`).
 * Local times without a zone are refused: an incident timeline must not depend on the laptop's zone.
 */
export function parseSince(text: string, now = Date.now()): Date | string {
  const t = text.trim();
  const age = /^(\d{1,6})\s*([mhdw])$/.exec(t);
  const stamp = /^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/i.exec(t);
  let at: Date;
  if (age) at = new Date(now - Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS]);
  else if (stamp) {
    // Date rolls 2026-02-30 over to March 2: the calendar date must come back unchanged.
    const day = new Date(`${stamp[1]}T00:00:00Z`);
    if (Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== stamp[1]) return `"${text}" is not a calendar date`;
    at = stamp[2] ? new Date(t) : day;
    if (Number.isNaN(at.getTime())) return `"${text}" is not a valid time`;
  } else return `expected a date (2026-11-20), a time with its zone (2026-11-20T08:00:00Z, 2026-11-20T13:30:00+05:30) or an age (30m, 12h, 7d, 2w), got "${text}"`;
  if (at.getTime() > now) return `${at.toISOString()} is in the future`;
  return at;
}

const options = z.object({
  runbook: z
    .string()
    .trim()
    .refine((v) => /\.ya?ml$/i.test(v) || fs.existsSync(v) || /^[a-z][a-z0-9-]{0,62}$/.test(v), { error: 'expected a runbook name (lower-case letters, digits, dashes) or a runbook file' })
    .optional(),
  kind: z.enum(LISTED_KINDS, { error: (iss) => `expected ${choices(LISTED_KINDS)}, got "${String(iss.input)}"` }).optional(),
  since: z
    .string()
    .transform((text, ctx) => {
      const at = parseSince(text);
      if (typeof at === 'string') {
        ctx.addIssue({ code: 'custom', message: at });
        return z.NEVER;
      }
      return at;
    })
    .optional(),
  outcome: z.enum(RUN_OUTCOMES, { error: (iss) => `expected ${choices(RUN_OUTCOMES)}, got "${String(iss.input)}"` }).optional(),
  limit: z.coerce.number({ error: 'expected a number' }).int({ error: 'expected a whole number' }).min(1).max(1000).default(50),
  json: z.boolean().optional(),
});

/** The runs as an aligned table, newest first. */
export function renderRunsTable(rows: RunRow[]): string[] {
  const header = ['RUN', 'KIND', 'RUNBOOK', 'MODE', 'OUTCOME', 'REQUESTED BY', 'STARTED (UTC)', 'DURATION'];
  const cells = rows.map((r) => [
    r.workflowId,
    r.kind,
    r.runbook,
    r.mode,
    r.outcome,
    r.requestedBy,
    r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ''),
    // Whole seconds; a running row measured on a clock behind its start reads 0s, not a negative.
    `${formatDuration(Math.max(0, r.durationMs), { precision: 'seconds' })}${r.closedAt ? '' : '+'}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ');
  return [line(header), ...cells.map(line)];
}

/** `drover runs list [--runbook R] [--kind K] [--since DATE] [--outcome O] [--limit N] [--json]`: drover's runs, from Temporal visibility. */
export function runsCommand(io: CliIO, setExit: SetExit): Command {
  const runs = new Command('runs').description("drover's runs (failovers, failbacks, promotions, rebuilds, drills), from Temporal visibility");
  runs
    .command('list')
    .description('list runs, newest first: filter by runbook, kind, start time and outcome')
    .option('--runbook <runbook>', 'runbook name, or runbook file')
    .option('--kind <kind>', `one of ${LISTED_KINDS.join(', ')}`)
    .option('--since <when>', 'started at or after: a date (2026-11-20, UTC), a time with its zone (2026-11-20T08:00:00Z), or an age (30m, 12h, 7d)')
    .option('--outcome <outcome>', `one of ${RUN_OUTCOMES.join(', ')}`)
    .option('--limit <n>', 'at most this many runs (running ones first, then the most recently closed)', '50')
    .option('--json', 'print the runs as JSON')
    .action(async (raw: unknown) => {
      const o = parseOptions(options, raw);
      const runbook = o.runbook && (/\.ya?ml$/i.test(o.runbook) || fs.existsSync(o.runbook) ? loadRunbookOrThrow(o.runbook).name : o.runbook);
      await withClient(async (client) => {
        const { missing, error } = await missingSearchAttributes(client);
        if (missing.length > 0) {
          const where = `Temporal at ${resolveEndpoints().temporalAddress} (namespace ${namespace()})`;
          throw new CliError(
            error ? `cannot list drover's search attributes on ${where}: ${error}` : `${where} lacks drover's search attributes ${missing.join(', ')}, which drover runs list filters on`,
            EXIT.UNAVAILABLE,
            [
              'register them once per namespace (the embedded dev server registers them itself):',
              ...createAttributeCommands(missing).map((c) => `  ${c}`),
              'runs started before they were registered are not listed; runs start either way',
            ],
          );
        }
        const rows = await listRuns(client, { runbook, kind: o.kind, since: o.since, outcome: o.outcome }, o.limit);
        if (o.json) io.out(JSON.stringify(rows, null, 2));
        else if (rows.length === 0) io.out('no runs match');
        else renderRunsTable(rows).forEach((l) => io.out(l));
      });
      setExit(EXIT.OK);
    });
  return runs;
}
