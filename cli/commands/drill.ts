import fs from 'node:fs';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowExecutionAlreadyStartedError, type Client, type ScheduleOptions } from '@temporalio/client';
import { Command } from 'commander';
import ms from 'ms';
import { z } from 'zod';
import { createDrillActivities, describeWindows, inDrillWindow } from '../../activities/drills';
import { createAwsClients } from '../../aws/clients';
import { buildReport, trendPoint } from '../../reports/report';
import { renderTrendTable } from '../../reports/render';
import { timeZone } from '../../runbooks/schema';
import type { DrillInput } from '../../workflows/drill';
import { drillScheduleId, DRILL_WORKFLOW_TYPE, manualDrillWorkflowId, MEMO_RUNBOOK, scheduledDrillWorkflowId, WORKFLOW_TYPES } from '../../contracts/ids';
import type { WorkflowOf } from '../workflows';
import { GATES_OF, requesterMustBeVerified } from '../../runbooks/approvers';
import { awsConfig, currentUser, loadRunbookForRun, loadRunbookOrThrow, withClient, withClientIfReachable } from '../context';
import { drillPlan, renderDrillPlan } from '../plan';
import { drillReportInput, followDrill, recentDrills } from '../drills';
import { CliError, EXIT, type CliIO, type SetExit } from '../io';
import { parseOptions, runOptions } from '../options';
import { proveRequester } from '../runs';
import { ensureCallerCredentials } from '../sign';
import { taskQueue } from '../temporal';
import { startAttributes } from '../visibility';

const runDrillOptions = z.object({
  reason: runOptions.reason.optional(),
  requestedBy: runOptions.requestedBy,
  detach: runOptions.detach,
  json: runOptions.json,
  timeScale: runOptions.timeScale,
});

const scheduleOptions = z.object({
  cron: z.string({ error: 'required: when to drill, as a cron expression such as "0 3 * * 6"' }).trim().min(1),
  timezone: timeZone.default('UTC'),
  catchupWindow: z
    .string()
    .default('10m')
    .transform((text, ctx) => {
      const v = /^\d+(\.\d+)?\s*(s|m|h|d)$/.test(text.trim()) ? ms(text.trim() as ms.StringValue) : undefined;
      if (!v) {
        ctx.addIssue({ code: 'custom', message: `expected a duration such as 10m or 1h, got "${text}"` });
        return z.NEVER;
      }
      return v;
    }),
  requestedBy: runOptions.requestedBy,
  timeScale: runOptions.timeScale,
});

const historyOptions = z.object({
  last: z.coerce.number().int().min(1).max(500).default(10),
  json: z.boolean().optional(),
});

/** A runbook named by its file (loaded and validated) or by its name (schedule management). */
function runbookName(arg: string): string {
  if (/\.ya?ml$/i.test(arg) || fs.existsSync(arg)) return loadRunbookOrThrow(arg).name;
  if (!/^[a-z][a-z0-9-]*$/.test(arg)) throw new CliError('invalid arguments', EXIT.USAGE, [`<runbook>: "${arg}" is neither a runbook file nor a runbook name`]);
  return arg;
}

/** The runbook of a drill (validated, opted in) and the reference the drill carries: name and digest. */
function optedIn(file: string) {
  const { runbook: rb, ref } = loadRunbookForRun(file);
  if (!rb.drills.enabled) {
    throw new CliError(`drills are not enabled for ${rb.name}`, EXIT.REFUSED, [`${file}: set drills.enabled: true and name at least one window under drills.windows`]);
  }
  return { rb, ref };
}

async function onSchedule(name: string, fn: (id: string) => Promise<void>): Promise<void> {
  const id = drillScheduleId(name);
  try {
    await fn(id);
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) throw new CliError(`no drill schedule for ${name}`, EXIT.NOT_FOUND, ['create one with: drover drill schedule RUNBOOK.yaml --cron EXPR']);
    throw e;
  }
}

/** `drover drill run|schedule|schedules|pause|unpause|trigger|delete|history`. */
/** How long `drill trigger` waits for the schedule to report the action it took (Temporal takes it asynchronously). */
const TRIGGER_WAIT_MS = 10_000;

/**
 * Trigger the schedule (overlap SKIP) and say what came of it: the drill it started (workflow and run id, for
 * `drover report --run-id` and `audit verify --run-id`), or that it was skipped because a drill of it runs.
 */
async function triggerDrill(client: Client, id: string): Promise<string> {
  const handle = client.schedule.getHandle(id);
  const before = (await handle.describe()).info;
  await handle.trigger(ScheduleOverlapPolicy.SKIP);
  const deadline = Date.now() + TRIGGER_WAIT_MS;
  for (;;) {
    const info = (await handle.describe()).info;
    const started = info.recentActions.find((a) => !before.recentActions.some((b) => b.action.workflow.firstExecutionRunId === a.action.workflow.firstExecutionRunId));
    if (started) return `triggered ${id}: started ${started.action.workflow.workflowId} (run ${started.action.workflow.firstExecutionRunId})`;
    if (info.numActionsSkippedOverlap > before.numActionsSkippedOverlap) {
      const running = info.runningActions[0]?.workflow.workflowId;
      return `triggered ${id}: skipped, ${running ? `drill ${running}` : 'a drill of it'} is running`;
    }
    if (Date.now() >= deadline) return `triggered ${id}: not reported within ${TRIGGER_WAIT_MS / 1000}s (see drover drill history)`;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
/** `drill run --plan`: whether a drill would start now, and its failover and failback as a drill runs them (reads only). */
async function printDrillPlan(file: string, json: boolean | undefined, io: CliIO): Promise<void> {
  const rb = loadRunbookOrThrow(file);
  const aws = createAwsClients(awsConfig());
  const refusalsWith = (client: Client) => () => createDrillActivities(() => client).drillRefusals({ runbook: rb.name, drills: rb.drills, self: '' });
  // Without Temporal the plan still reads AWS; whether the drill would be refused is not known.
  const plan = await withClientIfReachable((client, unreachable) => drillPlan(rb, aws, client ? refusalsWith(client) : () => Promise.reject(new Error(unreachable)), client));
  if (json) io.out(JSON.stringify(plan, null, 2));
  else renderDrillPlan(plan).forEach((l) => io.out(l));
}

export function drillCommand(io: CliIO, setExit: SetExit): Command {
  const drill = new Command('drill').description('DR drills: a failover in drill mode, verification, automatic failback and a report');

  drill
    .command('run')
    .description('start a drill now and follow it live')
    .argument('<runbook>', 'runbook YAML file (with drills.enabled: true)')
    .option('--reason <text>', 'why; recorded in the timeline (default: "DR drill")')
    .option('--requested-by <id>', 'who requests it (default: $DROVER_USER or $USER)')
    .option('--detach', 'start the drill and return without following it')
    .option('--json', 'print the drill record as JSON')
    .option('--time-scale <factor>', 'compress soak times, between 0 and 1')
    .option('--plan', 'print whether a drill would start now and what its failover and failback would do, read against the live state, and change nothing')
    .action(async (file: string, raw: unknown) => {
      const o = parseOptions(runDrillOptions, raw);
      if ((raw as { plan?: boolean }).plan) {
        await printDrillPlan(file, o.json, io);
        setExit(EXIT.OK);
        return;
      }
      const { rb, ref } = optedIn(file);
      // A drill whose gates people approve, and which forbid self-approval, asks who requested it.
      const prove = requesterMustBeVerified(rb, GATES_OF.drill, rb.drills.autoApprove);
      if (prove) await ensureCallerCredentials();
      const input: DrillInput = { runbookRef: ref, trigger: 'manual', requestedBy: o.requestedBy ?? currentUser(), reason: o.reason, options: o.timeScale ? { timeScale: o.timeScale } : undefined };
      const code = await withClient(async (client) => {
        const attributes = await startAttributes(client, io, { runbook: rb.name, kind: 'drill', mode: 'drill', requestedBy: input.requestedBy });
        let runId = '';
        let workflowId = '';
        // A manual drill's id names its second: a second drill in the same second waits for the next one and takes that.
        for (let attempt = 1; !runId; attempt++) {
          workflowId = manualDrillWorkflowId(rb.name, new Date());
          try {
            runId = (await client.workflow.start<WorkflowOf<'drill'>>(WORKFLOW_TYPES.drill, { taskQueue: taskQueue(), workflowId, args: [input], memo: { [MEMO_RUNBOOK]: rb.name }, ...attributes })).firstExecutionRunId;
          } catch (e) {
            if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
            if (attempt === 3) throw new CliError(`drill ${workflowId} already exists; try again in a second`, EXIT.REFUSED);
            await new Promise((resolve) => setTimeout(resolve, 1010 - (Date.now() % 1000)));
          }
        }
        io.err(`started ${workflowId}: drill of ${rb.name} (${rb.regions.primary} -> ${rb.regions.standby} and back)`);
        if (prove) io.err(await proveRequester(client, workflowId, runId));
        if (o.detach) {
          io.out(workflowId);
          return EXIT.OK;
        }
        return followDrill(client, workflowId, io, o.json);
      });
      setExit(code);
    });

  drill
    .command('schedule')
    .description('create or replace the runbook\'s drill schedule (Temporal Schedule, overlap SKIP)')
    .argument('<runbook>', 'runbook YAML file (with drills.enabled: true); scheduled drills run the workers\' copy, refused once it differs from this file')
    .option('--cron <expr>', 'when, as a cron expression, e.g. "0 3 * * 6" (Saturdays 03:00)')
    .option('--timezone <tz>', 'IANA time zone of the cron expression', 'UTC')
    .option('--catchup-window <duration>', 'how late a missed drill may still start (e.g. after an outage of the server)', '10m')
    .option('--requested-by <id>', 'recorded as the requester of scheduled drills')
    .option('--time-scale <factor>', 'compress soak times of scheduled drills, between 0 and 1')
    .action(async (file: string, raw: unknown) => {
      const o = parseOptions(scheduleOptions, raw);
      const { rb, ref } = optedIn(file);
      const input: DrillInput = { runbookRef: ref, trigger: 'schedule', requestedBy: o.requestedBy ?? `schedule:${currentUser()}`, options: o.timeScale ? { timeScale: o.timeScale } : undefined };
      const scheduleId = drillScheduleId(rb.name);
      const options: ScheduleOptions = {
        scheduleId,
        spec: { cronExpressions: [o.cron], timezone: o.timezone },
        action: { type: 'startWorkflow', workflowType: DRILL_WORKFLOW_TYPE, workflowId: scheduledDrillWorkflowId(rb.name), taskQueue: taskQueue(), args: [input], memo: { [MEMO_RUNBOOK]: rb.name } },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: o.catchupWindow },
        memo: { [MEMO_RUNBOOK]: rb.name, cron: o.cron, timezone: o.timezone },
        state: { note: `DR drills of ${rb.name}` },
      };
      await withClient(async (client) => {
        // Scheduled drills start with drover's search attributes when the namespace has them now.
        Object.assign(options.action, await startAttributes(client, io, { runbook: rb.name, kind: 'drill', mode: 'drill', requestedBy: input.requestedBy }));
        let verb = 'created';
        try {
          await client.schedule.create(options);
        } catch (e) {
          if (e instanceof ScheduleAlreadyRunning) {
            await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec: options.spec, action: options.action, policies: options.policies }));
            verb = 'updated';
          } else if (/invalid|cron/i.test((e as Error).message)) {
            throw new CliError('invalid options', EXIT.USAGE, [`--cron: ${(e as Error).message}`]);
          } else throw e;
        }
        const d = await client.schedule.getHandle(scheduleId).describe();
        io.out(`${verb} schedule ${scheduleId}: "${o.cron}" ${o.timezone}, overlap SKIP, catch-up ${ms(o.catchupWindow)}`);
        const next = d.info.nextActionTimes[0];
        if (next) io.out(`next drill: ${next.toISOString()}`);
        // Temporal computes the next start times (up to 10): a drill starting outside every window is refused.
        const upcoming = d.info.nextActionTimes;
        const inside = upcoming.filter((t) => inDrillWindow(rb.drills.windows, t)).length;
        if (upcoming.length > 0 && inside < upcoming.length) {
          io.err(`warning: ${inside === 0 ? `none of the next ${upcoming.length} drills` : `${upcoming.length - inside} of the next ${upcoming.length} drills`} would start in a drill window (${describeWindows(rb.drills.windows)}); a drill started outside every window is refused`);
        }
      });
      setExit(EXIT.OK);
    });

  drill
    .command('schedules')
    .description('list drill schedules')
    .option('--json', 'print them as JSON')
    .action(async (raw: { json?: boolean }) => {
      await withClient(async (client) => {
        const rows = [];
        for await (const listed of client.schedule.list()) {
          if (listed.action?.workflowType !== DRILL_WORKFLOW_TYPE) continue;
          // The list comes from visibility, which lags; describe gives the current state.
          const s = await client.schedule.getHandle(listed.scheduleId).describe();
          rows.push({
            scheduleId: s.scheduleId,
            runbook: s.memo?.[MEMO_RUNBOOK] as string | undefined,
            cron: s.memo?.cron as string | undefined,
            timezone: s.memo?.timezone as string | undefined,
            paused: s.state.paused,
            next: s.info.nextActionTimes[0]?.toISOString(),
            last: s.info.recentActions.at(-1)?.takenAt.toISOString(),
          });
        }
        if (raw.json) io.out(JSON.stringify(rows, null, 2));
        else if (rows.length === 0) io.out('no drill schedules');
        else for (const r of rows) io.out(`${r.scheduleId}  ${r.runbook ?? '?'}  "${r.cron ?? '?'}" ${r.timezone ?? ''}  ${r.paused ? 'PAUSED' : 'active'}  next ${r.next ?? '-'}  last ${r.last ?? '-'}`);
      });
      setExit(EXIT.OK);
    });

  const manage: Array<[string, string, (client: Client, id: string) => Promise<string>]> = [
    ['pause', 'pause the runbook\'s drill schedule', async (c, id) => (await c.schedule.getHandle(id).pause('paused with drover drill pause'), `paused ${id}`)],
    ['unpause', 'resume the runbook\'s drill schedule', async (c, id) => (await c.schedule.getHandle(id).unpause('resumed with drover drill unpause'), `resumed ${id}`)],
    ['trigger', 'start a scheduled drill now (skipped if one is running); prints the drill\'s workflow and run ids', triggerDrill],
    ['delete', 'delete the runbook\'s drill schedule (running drills go on)', async (c, id) => (await c.schedule.getHandle(id).delete(), `deleted ${id}`)],
  ];
  for (const [name, description, fn] of manage) {
    drill
      .command(name)
      .description(description)
      .argument('<runbook>', 'runbook YAML file or runbook name')
      .action(async (arg: string) => {
        const rb = runbookName(arg);
        await withClient((client) => onSchedule(rb, async (id) => io.out(await fn(client, id))));
        setExit(EXIT.OK);
      });
  }

  drill
    .command('history')
    .description('recent drills of a runbook: RTO, RPO, pass or fail')
    .argument('<runbook>', 'runbook YAML file or runbook name')
    .option('--last <n>', 'how many drills', '10')
    .option('--json', 'print the trend points as JSON')
    .action(async (arg: string, raw: unknown) => {
      const o = parseOptions(historyOptions, raw);
      const name = runbookName(arg);
      await withClient(async (client) => {
        const points = (await recentDrills(client, name, o.last)).map((d) => trendPoint(buildReport(drillReportInput(d))));
        if (o.json) io.out(JSON.stringify(points, null, 2));
        else if (points.length === 0) io.out(`no drills of ${name} yet`);
        else renderTrendTable(points).forEach((l) => io.out(l));
      });
      setExit(EXIT.OK);
    });

  return drill;
}
