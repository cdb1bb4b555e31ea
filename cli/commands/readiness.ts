import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { Command } from 'commander';
import ms from 'ms';
import { z } from 'zod';
import { queuePolled } from '../../activities/drills';
import { MEMO_RUNBOOK } from '../../contracts/ids';
import { lastChanged, READINESS_WORKFLOW_TYPE, readinessScheduleId, scheduledReadinessWorkflowId, type ReadinessRun, type Verdict } from '../../contracts/readiness';
import type { ReadinessInput } from '../../workflows/readiness';
import { loadRunbookForRun, loadRunbookOrThrow, withClient } from '../context';
import { CliError, EXIT, type CliIO, type ExitCode, type SetExit } from '../io';
import { parseOptions } from '../options';
import { taskQueue } from '../temporal';
import { evaluations } from '../readiness';

/** `drover check`'s exit code for a verdict: 0 ready, 7 degraded, 1 not ready (README, exit codes). */
export function readinessExitCode(verdict: Verdict): ExitCode {
  return verdict === 'ready' ? EXIT.OK : verdict === 'degraded' ? EXIT.DEGRADED : EXIT.FAILED;
}

const LABEL: Record<Verdict, string> = { ready: 'READY', degraded: 'DEGRADED', 'not-ready': 'NOT READY' };

/** An evaluation as people read it: the verdict, then each check (not-ready first), its reasons and its fix. */
export function renderReadiness(r: ReadinessRun): string[] {
  const order: Verdict[] = ['not-ready', 'degraded', 'ready'];
  const checks = [...r.checks].sort((a, b) => order.indexOf(a.verdict) - order.indexOf(b.verdict));
  const width = Math.max(...checks.map((c) => c.id.length), 5);
  const lines = [`${r.runbook}: ${LABEL[r.verdict]} for a ${r.direction} (${r.directionReason}), evaluated ${r.evaluatedAt}`];
  for (const c of checks) {
    lines.push(`  ${LABEL[c.verdict].padEnd(9)}  ${c.id.padEnd(width)}  ${c.title}`);
    for (const reason of c.reasons.filter(Boolean)) lines.push(`  ${' '.repeat(9)}  ${' '.repeat(width)}  - ${reason}`);
    if (c.fix) lines.push(`  ${' '.repeat(9)}  ${' '.repeat(width)}  fix: ${c.fix}`);
  }
  if (r.change) lines.push(`change: ${r.change.changed.length ? r.change.changed.join('; ') : 'none'}${r.change.notified ? ` (published${r.change.messageId ? `, message ${r.change.messageId}` : ''})` : r.change.why ? ` (not published: ${r.change.why})` : ''}`);
  return lines;
}

const scheduleOptions = z.object({
  every: z
    .string()
    .default('15m')
    .transform((text, ctx) => {
      const v = /^\d+\s*(m|h|d)$/.test(text.trim()) ? ms(text.trim() as ms.StringValue) : undefined;
      if (!v || v < 60_000) {
        ctx.addIssue({ code: 'custom', message: `expected a duration of a minute or more such as 15m or 1h, got "${text}"` });
        return z.NEVER;
      }
      return v;
    }),
});

const historyOptions = z.object({
  history: z.coerce.number().int().min(1).max(500).default(10),
  json: z.boolean().optional(),
});

/** A runbook named by its file (validated) or by its name. */
function runbookName(arg: string): string {
  if (/\.ya?ml$/i.test(arg)) return loadRunbookOrThrow(arg).name;
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(arg)) throw new CliError('invalid arguments', EXIT.USAGE, [`<runbook>: "${arg}" is neither a runbook file (.yaml) nor a runbook name`]);
  return arg;
}

/** How long `check` looks for a worker polling the task queue (as status and approvals wait for one: 15 s). */
const WORKER_WAIT_MS = 15_000;

/**
 * Refused before anything waits on it: no worker polls the task queue, so no evaluation would ever run. A worker that
 * has just started shows in DescribeTaskQueue only after its first poll, so this looks for 15 s.
 */
export async function needWorker(client: Client): Promise<void> {
  const deadline = Date.now() + WORKER_WAIT_MS;
  let polled = await queuePolled(client, taskQueue(), 'workflow');
  while (!polled && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    polled = await queuePolled(client, taskQueue(), 'workflow');
  }
  if (!polled) {
    throw new CliError(`no worker polled task queue ${taskQueue()} within ${WORKER_WAIT_MS / 1000} s`, EXIT.UNAVAILABLE, ['readiness is evaluated by the workers (their credentials, their copy of the runbook): start one with drover worker, or set DROVER_TASK_QUEUE']);
  }
}

/** `drover readiness RUNBOOK [--history N]`, `readiness schedule RUNBOOK [--every 15m]`, `readiness unschedule RUNBOOK`. */
export function readinessCommand(io: CliIO, setExit: SetExit): Command {
  const readiness = new Command('readiness')
    .description("the runbook's readiness over time: its latest evaluations and when each check last changed; schedule evaluations (Temporal Schedule) that publish each change of verdict")
    .argument('[runbook]', 'runbook YAML file or runbook name')
    .option('--history <n>', 'how many evaluations to show, newest first', '10')
    .option('--json', 'print them as JSON')
    .action(async (arg: string | undefined, raw: unknown) => {
      if (!arg) throw new CliError('invalid arguments', EXIT.USAGE, ['<runbook>: required (a runbook file or name), or a subcommand: schedule, unschedule']);
      const o = parseOptions(historyOptions, raw);
      const name = runbookName(arg);
      const list = await withClient((client) => evaluations(client, name, o.history));
      if (list.length === 0) throw new CliError(`no readiness evaluations of ${name}`, EXIT.NOT_FOUND, ['evaluate now with: drover check RUNBOOK.yaml; or schedule: drover readiness schedule RUNBOOK.yaml']);
      const since = lastChanged(list.map((l) => l.result));
      if (o.json) {
        io.out(JSON.stringify({ runbook: name, checks: since, evaluations: list.map((l) => ({ workflowId: l.workflowId, ...l.result })) }, null, 2));
      } else {
        const [latest] = list;
        renderReadiness(latest.result).forEach((l) => io.out(l));
        io.out('');
        io.out(`each check's verdict, since (of the ${list.length} evaluation${list.length === 1 ? '' : 's'} shown):`);
        for (const [id, s] of Object.entries(since)) io.out(`  ${id}: ${LABEL[s.verdict]} since ${s.since ?? `at least ${list[list.length - 1].result.evaluatedAt}`}`);
        io.out('');
        io.out('evaluations:');
        for (const l of list) io.out(`  ${l.result.evaluatedAt}  ${LABEL[l.result.verdict].padEnd(9)}  ${l.result.trigger.padEnd(8)}  ${l.workflowId}${l.result.change?.changed.length ? `  changed: ${l.result.change.changed.join('; ')}` : ''}`);
      }
      setExit(readinessExitCode(list[0].result.verdict));
    });

  readiness
    .command('schedule')
    .description('create or replace the runbook\'s readiness schedule (Temporal Schedule, overlap SKIP): each evaluation publishes a change of verdict to the runbook\'s SNS topic')
    .argument('<runbook>', 'runbook YAML file (scheduled evaluations run the workers\' copy; one that differs is a finding)')
    .option('--every <duration>', 'how often, a minute or more (e.g. 15m, 1h)', '15m')
    .action(async (file: string, raw: unknown) => {
      const o = parseOptions(scheduleOptions, raw);
      const { runbook: rb, ref } = loadRunbookForRun(file);
      const input: ReadinessInput = { runbookRef: ref, trigger: 'schedule' };
      const scheduleId = readinessScheduleId(rb.name);
      const options: ScheduleOptions = {
        scheduleId,
        spec: { intervals: [{ every: o.every }] },
        action: { type: 'startWorkflow', workflowType: READINESS_WORKFLOW_TYPE, workflowId: scheduledReadinessWorkflowId(rb.name), taskQueue: taskQueue(), args: [input], memo: { [MEMO_RUNBOOK]: rb.name }, workflowExecutionTimeout: '10m' },
        // An evaluation still running when the next is due: the next is skipped (overlap SKIP), never queued behind it.
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' },
        memo: { [MEMO_RUNBOOK]: rb.name, every: ms(o.every) },
        state: { note: `readiness of ${rb.name}` },
      };
      await withClient(async (client) => {
        let verb = 'created';
        try {
          await client.schedule.create(options);
        } catch (e) {
          if (!(e instanceof ScheduleAlreadyRunning)) throw e;
          await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec: options.spec, action: options.action, policies: options.policies }));
          verb = 'updated';
        }
        const d = await client.schedule.getHandle(scheduleId).describe();
        io.out(`${verb} schedule ${scheduleId}: every ${ms(o.every)}, overlap SKIP`);
        const next = d.info.nextActionTimes[0];
        if (next) io.out(`next evaluation: ${next.toISOString()}`);
      });
      setExit(EXIT.OK);
    });

  readiness
    .command('unschedule')
    .description("delete the runbook's readiness schedule (its evaluations stay listed)")
    .argument('<runbook>', 'runbook YAML file or runbook name')
    .action(async (arg: string) => {
      const name = runbookName(arg);
      await withClient(async (client) => {
        try {
          await client.schedule.getHandle(readinessScheduleId(name)).delete();
        } catch (e) {
          if (e instanceof ScheduleNotFoundError) throw new CliError(`no readiness schedule for ${name}`, EXIT.NOT_FOUND);
          throw e;
        }
      });
      io.out(`deleted ${readinessScheduleId(name)}`);
      setExit(EXIT.OK);
    });
  return readiness;
}
