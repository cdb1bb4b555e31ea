/**
 * Every exit code each drover command documents (README "Exit codes" and the commands' own docs and help),
 * one row per command and code: the real CLI (`exec`, in-process, what bin/drover runs) driven into the
 * condition on the suite's Temporal dev server and a private moto, one worker serving the file's task
 * queue. Each row asserts the exact exit code and the exact first line the command printed (stdout or
 * stderr); `status --watch` rows also assert every line the watch rendered. A command that follows a run
 * first prints the same `started …` line whatever the outcome, so its row also pins the condition: the
 * verdict the run ended with (`FAILED: …`, `REJECTED: …`, `ABORTED: …`, the failure's message), or, for a
 * completed run, that there is none, no step failed, and the closing line.
 *
 * The runs that take seconds are started together before the rows (each by the CLI call its row then
 * asserts), a few runbooks serving several runs one after another; rows that change the environment
 * (Temporal unreachable, no AWS credentials, no emulator) run alone, after them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { exec } from '../cli/main';
import { EXIT } from '../cli/io';
import type { DrillResult, RunStatus } from '../contracts/run';
import type { Runbook } from '../runbooks/schema';
import { DRILLS_ANY_TIME, runOutcome } from './harness/drills';
import { IntegrationEnv, PRIMARY, STANDBY } from './harness/env';
import { captureIO, eventually, onlyDatabase, setAlarm, writeRunbook } from './harness/fixtures';
import { testTemporalAddress, testTempDir } from './harness/servers';

type Edits = Array<[Array<string | number>, unknown]>;

const env = new IntegrationEnv();
const saved = { ...process.env };
const TQ = `exit-codes-${process.pid}`;
/** A task queue no worker polls: runs started there never answer a query or an update. */
const NOBODY = `exit-codes-nobody-${process.pid}`;
const UNREACHABLE = '127.0.0.1:1';
const REASON = 'exit code test';
const RUN = ['--reason', REASON, '--requested-by', 'ic-test'];
const FAST = ['--time-scale', '0.01'];

interface Result {
  code: number;
  out: string[];
  err: string[];
}

/** Run the CLI in-process with the file's environment plus `overrides` (undefined removes a variable), for this call only. */
async function cli(args: string[], overrides: Record<string, string | undefined> = {}, io = captureIO()): Promise<Result> {
  const before = { ...process.env };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return { code: await exec(args, io), out: io.stdout, err: io.stderr };
  } finally {
    process.env = before;
  }
}

/**
 * Start a run-starting command that follows its run; `started` settles once it printed that it started the
 * run (from then on the workflow id names the new run, not an earlier one of the same id).
 */
function follow(args: string[]): { result: Promise<Result>; started: Promise<void> } {
  const io = captureIO();
  const result = cli(args, {}, io);
  const began = () => io.stderr.some((l) => l.startsWith('started '));
  const started = Promise.race([
    eventually(async () => began(), `${args.join(' ')} to start its run`, 120_000).then(() => undefined),
    result.then((r) => {
      if (!began()) throw new Error(`drover ${args.join(' ')} exited ${r.code} without starting a run: ${r.err.join('\n')}`);
    }),
  ]);
  return { result, started };
}

/** A value computed once, on first use. */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

const query = (id: string) => env.client.workflow.getHandle(id).query<RunStatus>('status');
async function gatePending(id: string, gate: string): Promise<void> {
  let last = 'no status yet';
  await eventually(async () => {
    const s = await query(id).catch((e: unknown) => void (last = `query failed: ${(e as Error).message}`));
    if (s) last = `${s.phase} at ${s.currentStep ?? '-'}${s.error ? `: ${s.error.message}` : ''}`;
    if (s?.phase === 'failed' || s?.phase === 'rejected' || s?.phase === 'aborted' || s?.phase === 'completed') throw new Error(`${id} ended (${last}) before gate ${gate}`);
    return s?.pendingGate?.name === gate;
  }, `${id} waiting at gate ${gate}`, 120_000).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}; last: ${last}`);
  });
}
/** Wait until a run has resolved its runbook (its status knows where it moves from), so a watch's header is the full one. */
async function resolved(id: string): Promise<void> {
  await eventually(async () => Boolean((await query(id).catch(() => undefined))?.fromRegion) || (await env.client.workflow.getHandle(id).describe()).status.name !== 'RUNNING', `${id} resolving its runbook`);
}
const runIdOf = async (id: string) => (await env.client.workflow.getHandle(id).describe()).runId;

const GATES_NONE: [Array<string | number>, unknown] = [['approvals', 'gates'], []];

let seeding: Promise<unknown> = Promise.resolve();
interface Seeded {
  file: string;
  runbook: Runbook;
  /** Rewrite the runbook's file (same name, same resources) with `set` on top of what it was seeded with; the workers hold the new copy. */
  variant(set: Edits): string;
}
/** A seeded ApnaKart variant; one seeding at a time (runbooks share the names of their security groups). */
function seeded(prefix: string, set: Edits = []): Promise<Seeded> {
  const next = seeding
    .catch(() => undefined)
    .then(async () => {
      const s = await env.seeded(`xc-${prefix}`, set);
      const probeBases = { [PRIMARY]: env.apps.apps[PRIMARY].baseUrl, [STANDBY]: env.apps.apps[STANDBY].baseUrl };
      return { file: s.file, runbook: s.runbook, variant: (more: Edits) => writeRunbook({ name: s.runbook.name, unique: true, set: [...set, ...more], probeBases }).file };
    });
  seeding = next;
  return next;
}

let plain = 0;
/** A runbook the workers hold, nothing seeded for it: runs that end before they touch AWS, and refusals in the CLI. */
function unseeded(prefix: string, set: Edits = []): { file: string; name: string } {
  const { file, runbook } = writeRunbook({ name: `xc-${prefix}-${process.pid}-${++plain}`, set });
  return { file, name: runbook.name };
}

// ---- The runs, each started by the CLI call its rows assert -------------------------------------------------

/** A gated failover approved with --as and followed to completion; its failback, approved, followed to completion. */
const trip = once(async () => {
  const rb = await seeded('trip');
  const name = rb.runbook.name;
  const id = `failover-${name}`;
  const failover = follow(['failover', rb.file, '--to', STANDBY, ...RUN, ...FAST]);
  await failover.started;
  await gatePending(id, 'failover');
  const approve = await cli(['approve', id, '--gate', 'failover', '--as', 'ic-arjun', '--comment', 'go']);
  const completed = await failover.result;
  const back = follow(['failback', rb.file, ...RUN, ...FAST]);
  await back.started;
  await gatePending(`failback-${name}`, 'failback');
  await cli(['approve', `failback-${name}`, '--gate', 'failback', '--as', 'ic-priya']);
  return { rb, name, id, completed, approve, failback: await back.result };
});

/**
 * One gated runbook, one run after another: a failover followed (and watched) while it waits at its gate,
 * rejected; the runbook with a 3 s gate timeout: a failover aborted; a rebuild of the primary region (traffic
 * on it) refused; forced, and rejected at the extra gate.
 */
const gated = once(async () => {
  const rb = await seeded('gated', [[['approvals', 'gates'], ['failover', 'failback', 'rebuild-force']]]);
  const name = rb.runbook.name;
  const id = `failover-${name}`;
  const run = follow(['failover', rb.file, '--to', STANDBY, ...RUN, ...FAST]);
  await run.started;
  await gatePending(id, 'failover');
  const watching = captureIO();
  const watch = cli(['status', id, '--watch'], {}, watching);
  // The decision comes once the watch has printed the pending gate.
  await eventually(async () => watching.stdout.some((l) => l.startsWith('waiting for approval at gate')), 'the watch to print the gate');
  const reject = await cli(['reject', id, '--gate', 'failover', '--as', 'sre-meera', '--reason', 'primary recovered']);
  const rejected = { failover: await run.result, watch: await watch, runId: await runIdOf(id), reject };

  const timeout = rb.variant([[['approvals', 'policies'], { failover: { timeout: '3s' } }]]);
  const aborted = await cli(['failover', timeout, '--to', STANDBY, ...RUN, ...FAST]);

  const rebuild = `rebuild-${name}`;
  const refused = await cli(['rebuild', timeout, '--region', PRIMARY, ...RUN]);
  const forced = follow(['rebuild', timeout, '--region', PRIMARY, ...RUN, '--force']);
  await forced.started;
  await gatePending(rebuild, 'rebuild-force');
  await cli(['reject', rebuild, '--gate', 'rebuild-force', '--as', 'ic-arjun', '--reason', 'fail over first']);
  return { rb, name, id, rejected, aborted, refused, forced: await forced.result };
});

/** A failover that completes, then a failback whose first soak back breaches (an alarm firing in the original region). */
const breach = once(async () => {
  const rb = await seeded('breach', [GATES_NONE]);
  const failover = await cli(['failover', rb.file, '--to', STANDBY, ...RUN, ...FAST]);
  if (failover.code !== 0) throw new Error(`the failover before the failback exited ${failover.code}: ${failover.err.join('\n')}`);
  await setAlarm(env.moto.endpoint, PRIMARY, rb.runbook.health.alarms[PRIMARY][0], 'ALARM');
  return { rb, failback: await cli(['failback', rb.file, ...RUN, ...FAST]) };
});

/**
 * One runbook with an alarm firing in the standby region: a failover refused at preflight, followed; another
 * started detached and followed with status --watch; a drill (no cooldown) whose failover fails preflight.
 */
const alarmed = once(async () => {
  const rb = await seeded('alarm', [GATES_NONE, [['drills'], { enabled: true, windows: [{ from: '00:00', to: '24:00' }], cooldown: '0s' }]]);
  await setAlarm(env.moto.endpoint, STANDBY, rb.runbook.health.alarms[STANDBY][0], 'ALARM');
  const id = `failover-${rb.runbook.name}`;
  const followed = await cli(['failover', rb.file, '--to', STANDBY, ...RUN]);
  const detached = await cli(['failover', rb.file, '--to', STANDBY, ...RUN, '--detach']);
  await resolved(id);
  const watch = await cli(['status', id, '--watch']);
  const watched = { runId: await runIdOf(id), watch, detached };
  const drill = await cli(['drill', 'run', rb.file, '--requested-by', 'ic-test', '--json', ...FAST]);
  return { rb, id, followed, watched, drill };
});

/**
 * A drill whose readiness is only degraded (its replica's lag, 3600 s, over the 30 s bound: a drill is not refused for
 * that), and whose failover's preflight then fails on the lag (a planned failover refuses it): the drill fails.
 */
const lagging = once(async () => {
  const rb = await seeded('lag', [GATES_NONE, [['drills'], { enabled: true, windows: [{ from: '00:00', to: '24:00' }], cooldown: '0s' }]]);
  env.lag.set(onlyDatabase(rb.runbook).replica.identifier, 3600);
  const drill = await cli(['drill', 'run', rb.file, '--requested-by', 'ic-test', '--json', ...FAST]);
  return { rb, drill };
});

/** `drover check` of the lagging runbook (degraded), then `drover readiness` of it: the latest evaluation, degraded. */
const checkedLagging = once(async () => {
  const { rb } = await lagging();
  const checked = await cli(['check', rb.file]);
  if (checked.code !== EXIT.DEGRADED) throw new Error(`check exited ${checked.code}: ${[...checked.out, ...checked.err].join('\n')}`);
  return { history: await cli(['readiness', rb.runbook.name]) };
});

/** A valid runbook file whose runbook the workers do not hold. */
const notOnWorkers = once(async () => {
  const { file, name } = (await files()).valid;
  const other = path.join(testTempDir('exit-not-deployed-'), 'not-deployed.yaml');
  fs.writeFileSync(other, fs.readFileSync(file, 'utf8').replace(`name: ${name}`, `name: xc-not-deployed-${process.pid}`));
  return other;
});

/** A failover waiting at its gate, left pending: another run of the runbook is active for the rows that need one. */
const pending = once(async () => {
  const rb = await seeded('pending', [DRILLS_ANY_TIME]);
  const id = `failover-${rb.runbook.name}`;
  const start = await cli(['failover', rb.file, '--to', STANDBY, ...RUN, '--detach']);
  await gatePending(id, 'failover');
  return { rb, id, start };
});

/**
 * One runbook without gates, promotions one after another: planned to the standby, followed to completion;
 * planned back to the primary whose lag never reaches 0 (3 s bound); planned to the standby again, started
 * detached and followed with status --watch (already standalone: nothing promoted twice).
 */
const promotions = once(async () => {
  const rb = await seeded('promote', [GATES_NONE, [['database', 'lagZeroTimeout'], '3s']]);
  const id = `promote-${rb.runbook.name}`;
  const completed = await cli(['promote', rb.file, '--to', STANDBY, ...RUN]);
  env.lag.set(onlyDatabase(rb.runbook).primary.identifier, 30);
  const failed = await cli(['promote', rb.file, '--to', PRIMARY, ...RUN]);
  const detached = await cli(['promote', rb.file, '--to', STANDBY, ...RUN, '--detach']);
  await resolved(id);
  const watch = await cli(['status', id, '--watch']);
  return { rb, id, completed, failed, watched: { detached, watch, runId: await runIdOf(id) } };
});

/** A promotion started on its own asks the failover gate (no promote gate in the runbook): rejected there. */
const promotionRejected = once(async () => {
  const rb = unseeded('promote-rejected');
  const id = `promote-${rb.name}`;
  const run = follow(['promote', rb.file, '--to', STANDBY, ...RUN]);
  await run.started;
  await gatePending(id, 'failover');
  await cli(['reject', id, '--gate', 'failover', '--as', 'sre-meera', '--reason', 'not now']);
  return { rb, id, run: await run.result };
});

/** A failover of a runbook edited after the workers got their copy: the workers refuse it. */
const edited = once(async () => {
  const rb = unseeded('edited');
  fs.appendFileSync(rb.file, '# edited after the workers loaded it\n');
  return { rb, run: await cli(['failover', rb.file, '--to', STANDBY, ...RUN]) };
});

/** A drill that completes (gates approved by drover-drill); then, gates no longer auto-approved, a drill left waiting and a second one refused. */
const drills = once(async () => {
  const rb = await seeded('drill', [DRILLS_ANY_TIME]);
  const completed = await cli(['drill', 'run', rb.file, '--requested-by', 'ic-test', '--json', ...FAST]);
  const waiting = rb.variant([[['drills'], { ...(DRILLS_ANY_TIME[1] as object), autoApprove: false }]]);
  const first = await cli(['drill', 'run', waiting, '--requested-by', 'ic-test', '--detach']);
  const firstId = first.out[0];
  await gatePending(`${firstId}-failover`, 'failover');
  // Drills find each other through visibility, which lags a little behind.
  await eventually(async () => {
    for await (const w of env.client.workflow.list({ query: `WorkflowType = 'drill' AND ExecutionStatus = 'Running'` })) if (w.workflowId === firstId) return true;
    return false;
  }, `${firstId} listed as running`);
  const second = await cli(['drill', 'run', waiting, '--requested-by', 'ic-test', '--json']);
  return { rb, completed, firstId, second };
});

/** A run no worker serves: status, approve and reject each give up after the 15 s worker deadline (together). */
const unserved = once(async () => {
  const rb = unseeded('unserved');
  const id = `failover-${rb.name}`;
  await env.client.workflow.start('regionFailover', { taskQueue: NOBODY, workflowId: id, args: [{ runbookRef: { name: rb.name, digest: 'sha256:0' }, targetRegion: STANDBY, mode: 'planned', reason: REASON, requestedBy: 'ic-test' }] });
  const [status, approve, reject] = await Promise.all([
    cli(['status', id]),
    cli(['approve', id, '--gate', 'failover', '--as', 'ic-arjun']),
    cli(['reject', id, '--gate', 'failover', '--as', 'ic-arjun', '--reason', 'no worker']),
  ]);
  return { id, status, approve, reject };
});

const SLOW = [trip, gated, breach, alarmed, lagging, pending, promotions, promotionRejected, edited, drills, unserved];

// ---- Setup ----------------------------------------------------------------------------------------------

let stopWorker: () => void = () => undefined;
let workerDone: Promise<void> | undefined;
const schedulesMade: string[] = [];

beforeAll(async () => {
  await env.start();
  process.env.TEMPORAL_ADDRESS = testTemporalAddress();
  process.env.AWS_ENDPOINT_URL = env.moto.endpoint;
  process.env.DROVER_TASK_QUEUE = TQ;
  // A home of its own with no dev stack state in it: the CLI never finds a dev stack of the user's.
  process.env.DROVER_HOME = testTempDir('exit-home-');
  const stop = new Promise<void>((r) => (stopWorker = r));
  workerDone = env.withWorker(TQ, () => stop);
  // Every slow run at once; a failure shows in the rows that use it.
  await Promise.allSettled(SLOW.map((f) => f()));
}, 600_000);

afterAll(async () => {
  // Runs left waiting (at a gate, on a queue nobody polls, a drill and its failover) and schedules end here.
  const open: string[] = [];
  for await (const w of env.client.workflow.list({ query: `ExecutionStatus = 'Running'` })) if (w.workflowId.includes(`-${process.pid}-`)) open.push(w.workflowId);
  for (const id of open) await env.client.workflow.getHandle(id).terminate('exit-codes test over').catch(() => undefined);
  for (const id of schedulesMade) await env.client.schedule.getHandle(id).delete().catch(() => undefined);
  stopWorker();
  await workerDone;
  process.env = saved;
  await env.stop();
}, 120_000);

// ---- The table --------------------------------------------------------------------------------------------

interface Row {
  command: string;
  code: number;
  condition: string;
  /** The CLI call (or the slow run whose call it was). */
  run: () => Promise<Result>;
  /** The exact first line printed, on the stream named (left out only where other test files decide it). */
  first?: () => Promise<{ stream: 'out' | 'err'; line: string }>;
  /** More to check about what was printed. */
  check?: (r: Result) => Promise<void>;
}

const out = (line: string) => ({ stream: 'out' as const, line });
const err = (line: string) => ({ stream: 'err' as const, line });

const offlineCalls: Array<() => Promise<string[]>> = [];
/**
 * A call made with TEMPORAL_ADDRESS naming a port nothing listens on. Connecting gives up after the
 * client's 5 s connect timeout, so these calls are made together, once, the first time a row needs one.
 */
function offline(args: () => Promise<string[]>): () => Promise<Result> {
  const index = offlineCalls.push(args) - 1;
  return async () => (await offlineResults())[index];
}
const offlineResults = once(async () => {
  const argv = await Promise.all(offlineCalls.map((f) => f()));
  const before = process.env.TEMPORAL_ADDRESS;
  process.env.TEMPORAL_ADDRESS = UNREACHABLE;
  try {
    return await Promise.all(
      argv.map(async (args) => {
        const io = captureIO();
        return { code: await exec(args, io), out: io.stdout, err: io.stderr };
      }),
    );
  } finally {
    process.env.TEMPORAL_ADDRESS = before;
  }
});
const cannotReach = err(`drover: cannot reach Temporal at ${UNREACHABLE}: Failed to connect before the deadline`);
const noRun = (id: string) => err(`drover: no run ${id}`);
const NONE = `failover-xc-none-${process.pid}`;
const noWorker = async () => err(`drover: run ${(await unserved()).id} is running, but no drover worker answered within 15s`);
const started = (id: string, what: string) => err(`started ${id}: ${what}`);
const header = (kind: string, name: string) => out(`${kind} ${name}: ${PRIMARY} -> ${STANDBY} (planned), requested by ic-test: ${REASON}`);
/** The drill a `drill run --json` printed the record of. */
const drillOf = (r: Result) => JSON.parse(r.out.join('\n')) as DrillResult;
/** The verdict lines a followed run printed: its phase in capitals, then its error (cli/render.ts); none when it completed. */
const verdicts = (r: Result) => r.out.filter((l) => /^(RUNNING|WAITING-APPROVAL|COMPLETED|FAILED|REJECTED|ABORTED): /.test(l));
/** The run ended with exactly this verdict (a string exactly, a RegExp matching it whole). */
const endedWith = (verdict: string | RegExp) => async (r: Result) => expect(verdicts(r)).toEqual([typeof verdict === 'string' ? verdict : expect.stringMatching(verdict)]);
/** The run completed: no verdict, no step shown failed, and its last line is `last`. */
const completedWith = (last: () => RegExp) => async (r: Result) =>
  expect({ verdicts: verdicts(r), failedSteps: r.out.filter((l) => l.startsWith('  ✗ ')), last: r.out.at(-1) }).toEqual({ verdicts: [], failedSteps: [], last: expect.stringMatching(last()) });
const ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;
/** The RPO line of a promotion whose writes were fenced and whose lag reached 0. */
const RPO_ZERO = new RegExp(String.raw`^RPO: 0s replica lag observed at ${ISO} \(writes fenced and lag 0 before promotion: RPO 0\)$`);
/** What the alarmed runbook's preflight failed on (an alarm firing in the standby region). */
const alarmedPreflight = async () => `preflight failed, nothing was changed:\n- target alarms: alarm ${(await alarmed()).rb.runbook.health.alarms[STANDBY][0]} in ${STANDBY} is ALARM`;
const NO_CREDENTIALS = { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined, AWS_EC2_METADATA_DISABLED: 'true', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials', AWS_CONFIG_FILE: '/nonexistent/config' };

/**
 * What a watch printed, with what changes from run to run written as placeholders: the run id, times,
 * durations, request and security group ids, and the padding of the step columns.
 */
function rendered(lines: string[], runId: string): string[] {
  const DUR = String.raw`(?:-?\d+(?:\.\d)?s|\d+ms|\d+m\d\ds|\d+h\d\dm|–)`;
  return (
    lines
      // What a long step reports while it runs depends on when the watch polled.
      .filter((l) => !l.startsWith('      … '))
      .map((l) =>
        l
          .replaceAll(runId, '<run>')
          .replace(new RegExp(String.raw`\s+\+${DUR}\s+${DUR}(?=( \[[^\]]+\])?$)`), ' +<t> <d>')
          .replace(new RegExp(String.raw`^(  timeout:   in )${DUR}`), '$1<d>')
          .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>'),
      )
  );
}

/** Fixed files for the rows that need no run. */
const files = once(async () => {
  const dir = testTempDir('exit-files-');
  const bad = path.join(dir, 'bad.yaml');
  fs.writeFileSync(bad, 'version: 1\nname: Bad Name\n');
  return {
    bad,
    valid: unseeded('valid'),
    noDrills: unseeded('no-drills', [[['drills'], { enabled: false }]]),
    noRebuild: unseeded('no-rebuild', [[['rebuild'], undefined]]),
    drills: unseeded('drills', [DRILLS_ANY_TIME]),
  };
});

let schedules = 0;
/** A runbook with drills and a drill schedule of its own (a yearly cron: it never fires while the test runs). */
async function scheduled(taskQueue = TQ): Promise<{ file: string; name: string; id: string }> {
  const rb = unseeded(`sched-${++schedules}`, [DRILLS_ANY_TIME]);
  const r = await cli(['drill', 'schedule', rb.file, '--cron', '0 3 1 1 *'], { DROVER_TASK_QUEUE: taskQueue });
  if (r.code !== 0) throw new Error(`drill schedule exited ${r.code}: ${r.err.join('\n')}`);
  schedulesMade.push(`drill-${rb.name}`);
  return { ...rb, id: `drill-${rb.name}` };
}

const ROWS: Row[] = [
  { command: '(none)', code: 2, condition: 'an unknown command', run: () => cli(['frobnicate']), first: async () => err("error: unknown command 'frobnicate'") },

  // validate
  { command: 'validate', code: 0, condition: 'a valid runbook', run: async () => cli(['validate', (await files()).valid.file]), first: async () => out(`${(await files()).valid.file}: valid runbook "${(await files()).valid.name}" (${PRIMARY} -> ${STANDBY}, 3 records, 2 clusters, 1 database)`) },
  { command: 'validate', code: 2, condition: 'an invalid runbook', run: async () => cli(['validate', (await files()).bad]), first: async () => err(`${(await files()).bad}:1:1 regions: required`), check: async (r) => expect(r.err).toContain(`${(await files()).bad}:2:7 name: expected lower-case letters, digits and dashes, starting with a letter`) },

  // init
  { command: 'init', code: 2, condition: 'the same region twice', run: () => cli(['init', '--name', 'shop', '--primary', PRIMARY, '--standby', PRIMARY, '--zone', 'shop.test', '--out', path.join(testTempDir('init-'), 'shop.yaml')]), first: async () => err('drover: invalid options'), check: async (r) => expect(r.err[1]).toBe('  --standby: must differ from --primary') },
  { command: 'init', code: 4, condition: 'no such hosted zone in the account', run: () => cli(['init', '--name', 'shop', '--primary', PRIMARY, '--standby', STANDBY, '--zone', 'no-such-zone.test', '--out', path.join(testTempDir('init-'), 'shop.yaml')]), first: async () => err('drover: no hosted zone no-such-zone.test in this account') },

  // schema
  { command: 'schema', code: 0, condition: 'the schema printed', run: () => cli(['schema']), first: async () => out('{'), check: async (r) => expect(JSON.parse(r.out.join('\n'))).toMatchObject({ $schema: 'http://json-schema.org/draft-07/schema#', title: 'drover runbook' }) },
  { command: 'schema', code: 2, condition: '--out cannot be written', run: async () => cli(['schema', '--out', path.join(path.dirname((await files()).bad), 'no-such-dir', 'runbook.schema.json')]), first: async () => err(`drover: cannot write ${path.join(path.dirname((await files()).bad), 'no-such-dir', 'runbook.schema.json')}: ENOENT`) },

  // failover
  {
    command: 'failover',
    code: 0,
    condition: 'the run completed (its gate approved with --as)',
    run: async () => (await trip()).completed,
    first: async () => started((await trip()).id, `planned failover of ${(await trip()).name} to ${STANDBY}`),
    check: completedWith(() => new RegExp(String.raw`^RTO: \S+ measured from trigger to verified traffic on ${STANDBY} \(approval wait \S+, excluding it \S+; objective 15m00s: not judged \(time-scaled ×0\.01\)\)$`)),
  },
  { command: 'failover', code: 1, condition: 'the run failed (preflight: an alarm firing in the standby region)', run: async () => (await alarmed()).followed, first: async () => started((await alarmed()).id, `planned failover of ${(await alarmed()).rb.runbook.name} to ${STANDBY}`), check: async (r) => endedWith(`FAILED: ${await alarmedPreflight()}`)(r) },
  { command: 'failover', code: 2, condition: '--to is the primary region, not the standby', run: async () => cli(['failover', (await files()).valid.file, '--to', PRIMARY, ...RUN]), first: async () => err('drover: invalid options'), check: async (r) => expect(r.err[1]).toBe(`  --to: ${PRIMARY} is the primary region of ${(await files()).valid.name}; failover goes to the standby region ${STANDBY}`) },
  { command: 'failover', code: 2, condition: '--to is no region of the runbook', run: async () => cli(['failover', (await files()).valid.file, '--to', 'eu-west-1', ...RUN]), first: async () => err('drover: invalid options'), check: async (r) => expect(r.err[1]).toBe(`  --to: eu-west-1 is not a region of ${(await files()).valid.name}; failover goes to the standby region ${STANDBY}`) },
  { command: 'failover', code: 2, condition: 'an invalid runbook', run: async () => cli(['failover', (await files()).bad, '--to', STANDBY, ...RUN]), first: async () => err(`drover: ${(await files()).bad} is not a valid runbook`) },
  { command: 'failover', code: 3, condition: 'another failover of the runbook is running', run: async () => cli(['failover', (await pending()).rb.file, '--to', STANDBY, ...RUN]), first: async () => err(`drover: a failover of ${(await pending()).rb.runbook.name} is running (${(await pending()).id}); one run per runbook at a time, so this failover was not started`) },
  {
    command: 'failover',
    code: 3,
    condition: 'the workers refused the runbook (edited since they loaded it)',
    run: async () => (await edited()).run,
    first: async () => started(`failover-${(await edited()).rb.name}`, `planned failover of ${(await edited()).rb.name} to ${STANDBY}`),
    check: async (r) => {
      const { name } = (await edited()).rb;
      const refused = new RegExp(String.raw`^FAILED: the workers' copy of runbook ${name} \(test-runbooks:${name}, sha256:([0-9a-f]{64})\) is not the one you validated \(sha256:([0-9a-f]{64})\); nothing was changed\. Deploy the runbook you validated to the workers, or validate theirs$`);
      await endedWith(refused)(r);
      // Two different digests: the workers' copy is the file before the edit.
      const [, theirs, validated] = refused.exec(verdicts(r)[0]) ?? [];
      expect(theirs).not.toBe(validated);
    },
  },
  { command: 'failover', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['failover', (await files()).valid.file, '--to', STANDBY, ...RUN]), first: async () => cannotReach },
  { command: 'failover', code: 6, condition: 'rejected at the gate', run: async () => (await gated()).rejected.failover, first: async () => started((await gated()).id, `planned failover of ${(await gated()).name} to ${STANDBY}`), check: endedWith('REJECTED: gate failover rejected by sre-meera: primary recovered (identity unverified)') },
  { command: 'failover', code: 6, condition: 'aborted on the gate timeout', run: async () => (await gated()).aborted, first: async () => started((await gated()).id, `planned failover of ${(await gated()).name} to ${STANDBY}`), check: endedWith('ABORTED: gate failover was not approved within 3s (0 of 1 approvals); nothing after it was changed') },

  // promote
  { command: 'promote', code: 0, condition: 'the promotion completed', run: async () => (await promotions()).completed, first: async () => started((await promotions()).id, `planned promotion of ${(await promotions()).rb.runbook.name}'s database in ${STANDBY}`), check: completedWith(() => RPO_ZERO) },
  {
    command: 'promote',
    code: 1,
    condition: 'the promotion failed (replica lag never reached 0)',
    run: async () => (await promotions()).failed,
    first: async () => started((await promotions()).id, `planned promotion of ${(await promotions()).rb.runbook.name}'s database in ${PRIMARY}`),
    check: async (r) => {
      // Promoting back to the primary region: the old primary is the replica now, its lag held at 30 s. A poll still
      // in flight at the deadline (a loaded machine) adds "; the last poll was not answered" (activities/wait.ts).
      const db = onlyDatabase((await promotions()).rb.runbook);
      const [replica, writer] = [db.primary.identifier, db.replica.identifier];
      await endedWith(
        new RegExp(
          String.raw`^FAILED: replica lag of ${replica} did not reach 0 within 3s \(timed out after 3000 ms waiting for ReplicaLag of ${replica} to reach 0 \(last: lag 30s at ${ISO}(; the last poll was not answered)?\)\); ${writer} was unfenced and ${replica} was not promoted$`,
        ),
      )(r);
    },
  },
  { command: 'promote', code: 2, condition: '--to is not a region of the runbook', run: async () => cli(['promote', (await files()).valid.file, '--to', 'eu-west-1', ...RUN]), first: async () => err('drover: invalid options') },
  { command: 'promote', code: 2, condition: '--database names no database of the runbook', run: async () => cli(['promote', (await files()).valid.file, '--to', STANDBY, '--database', 'orders', ...RUN]), first: async () => err('drover: invalid options') },
  { command: 'promote', code: 3, condition: 'a failover of the runbook is running', run: async () => cli(['promote', (await pending()).rb.file, '--to', STANDBY, ...RUN]), first: async () => err(`drover: a failover of ${(await pending()).rb.runbook.name} is running (${(await pending()).id}); one run per runbook at a time, so this promote was not started`) },
  { command: 'promote', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['promote', (await files()).valid.file, '--to', STANDBY, ...RUN]), first: async () => cannotReach },
  { command: 'promote', code: 6, condition: 'rejected at its gate', run: async () => (await promotionRejected()).run, first: async () => started((await promotionRejected()).id, `planned promotion of ${(await promotionRejected()).rb.name}'s database in ${STANDBY}`), check: endedWith('REJECTED: gate failover rejected by sre-meera: not now (identity unverified)') },

  // failback
  { command: 'failback', code: 0, condition: 'the failback completed', run: async () => (await trip()).failback, first: async () => started(`failback-${(await trip()).name}`, `failback of ${(await trip()).name} to ${PRIMARY}`), check: completedWith(() => RPO_ZERO) },
  {
    command: 'failback',
    code: 1,
    condition: 'the failback failed (a breach at the first step back)',
    run: async () => (await breach()).failback,
    first: async () => started(`failback-${(await breach()).rb.runbook.name}`, `failback of ${(await breach()).rb.runbook.name} to ${PRIMARY}`),
    check: async (r) => {
      const { runbook } = (await breach()).rb;
      const db = onlyDatabase(runbook);
      await endedWith(
        `FAILED: health breach at 10% in ${PRIMARY}: alarm ${runbook.health.alarms[PRIMARY][0]} is ALARM; traffic reverted to 0%; compensation: undone: traffic back to 100% ${STANDBY}; ` +
          `database: the writer is ${db.primary.identifier} in ${PRIMARY} (promoted); ${db.replica.identifier} stays fenced; ${db.writerRecord.name} points at the writer`,
      )(r);
    },
  },
  { command: 'failback', code: 2, condition: 'no --reason', run: async () => cli(['failback', (await files()).valid.file]), first: async () => err('drover: invalid options') },
  { command: 'failback', code: 3, condition: 'no failover to fail back from', run: async () => cli(['failback', (await files()).valid.file, ...RUN]), first: async () => err(`drover: ${(await files()).valid.name} has no failover to fail back from`) },
  { command: 'failback', code: 3, condition: 'a failover of the runbook is running', run: async () => cli(['failback', (await pending()).rb.file, ...RUN]), first: async () => err(`drover: a failover of ${(await pending()).rb.runbook.name} is running (${(await pending()).id}); one run per runbook at a time, so this failback was not started`) },
  { command: 'failback', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['failback', (await files()).valid.file, ...RUN]), first: async () => cannotReach },

  // approve
  { command: 'approve', code: 0, condition: 'the approval counted', run: async () => (await trip()).approve, first: async () => out('approved gate failover as ic-arjun (unverified); 1 of 1 approvals, the gate is open') },
  { command: 'approve', code: 2, condition: 'no --as and no AWS credentials to sign with', run: async () => cli(['approve', (await pending()).id, '--gate', 'failover'], NO_CREDENTIALS), first: async () => err('drover: no AWS credentials to sign your identity with: Could not load credentials from any providers') },
  { command: 'approve', code: 3, condition: 'the run has ended', run: async () => cli(['approve', `failback-${(await trip()).name}`, '--gate', 'failback', '--as', 'ic-arjun']), first: async () => err(`drover: run failback-${(await trip()).name} has already ended (completed)`) },
  { command: 'approve', code: 3, condition: 'the gate asked for is not the pending one', run: async () => cli(['approve', (await pending()).id, '--gate', 'failback', '--as', 'ic-arjun']), first: async () => err('drover: refused: gate "failback" is not pending; the pending gate is "failover"') },
  { command: 'approve', code: 3, condition: "the approver is not in the gate's policy", run: async () => cli(['approve', (await pending()).id, '--gate', 'failover', '--as', 'mallory']), first: async () => err(`drover: refused: "mallory" is not an approver of gate failover of runbook ${(await pending()).rb.runbook.name} (approvers: ic-priya, ic-arjun, sre-meera)`) },
  { command: 'approve', code: 4, condition: 'no such run', run: () => cli(['approve', NONE, '--gate', 'failover', '--as', 'ic-arjun']), first: async () => noRun(NONE) },
  {
    command: 'approve',
    code: 5,
    condition: 'without --as, the run publishes no identity key to seal the signed identity to (its worker cannot read its key)',
    run: async () => (await noKey()).approve,
    first: async () => err(`drover: run ${(await noKey()).id} publishes no identity key to seal your signed identity to: the worker could not read its identity key: EEXIST: file already exists, mkdir '${path.dirname((await noKey()).keyFile)}'`),
    check: async () => expect((await noKey()).gate?.identityKey).toBeUndefined(),
  },
  { command: 'approve', code: 5, condition: 'no worker answered within 15 s', run: async () => (await unserved()).approve, first: noWorker },
  { command: 'approve', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['approve', NONE, '--gate', 'failover', '--as', 'ic-arjun']), first: async () => cannotReach },

  // reject
  { command: 'reject', code: 0, condition: 'the rejection counted', run: async () => (await gated()).rejected.reject, first: async () => out('rejected gate failover as sre-meera (unverified)') },
  { command: 'reject', code: 2, condition: 'no --reason', run: () => cli(['reject', NONE, '--gate', 'failover', '--as', 'ic-arjun']), first: async () => err('drover: invalid options') },
  { command: 'reject', code: 3, condition: 'the run has ended', run: async () => cli(['reject', `failback-${(await trip()).name}`, '--gate', 'failback', '--as', 'ic-arjun', '--reason', 'too late']), first: async () => err(`drover: run failback-${(await trip()).name} has already ended (completed)`) },
  { command: 'reject', code: 4, condition: 'no such run', run: () => cli(['reject', NONE, '--gate', 'failover', '--as', 'ic-arjun', '--reason', 'no such run']), first: async () => noRun(NONE) },
  { command: 'reject', code: 5, condition: 'no worker answered within 15 s', run: async () => (await unserved()).reject, first: noWorker },
  { command: 'reject', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['reject', NONE, '--gate', 'failover', '--as', 'ic-arjun', '--reason', 'unreachable']), first: async () => cannotReach },

  // status
  { command: 'status', code: 0, condition: 'a run waiting at its gate', run: async () => cli(['status', (await pending()).id]), first: async () => header('failover', (await pending()).rb.runbook.name) },
  {
    command: 'status --watch',
    code: 0,
    condition: 'follows a promotion to its completion',
    run: async () => (await promotions()).watched.watch,
    first: async () => header('promote', (await promotions()).rb.runbook.name),
    check: async (r) => {
      const { rb, watched, id } = await promotions();
      const db = onlyDatabase(rb.runbook);
      expect(watched.detached).toEqual({ code: 0, out: [id], err: [`started ${id}: planned promotion of ${rb.runbook.name}'s database in ${STANDBY}`] });
      expect(rendered(r.out, watched.runId)).toEqual([
        `promote ${rb.runbook.name}: ${PRIMARY} -> ${STANDBY} (planned), requested by ic-test: ${REASON}`,
        `run ${id} / <run>   phase: running   traffic on ${STANDBY}: 0%`,
        '  ✓ Take the runbook (one run at a time; a running drill fails back first) +<t> <d>',
        '      taken: no other run holds it',
        `  ✓ Fence writes on ${db.primary.identifier} (${PRIMARY}) +<t> <d>`,
        `      ${db.primary.identifier} was already fenced`,
        // The first promotion made the standby standalone (RDS cleared its source): this run resumes from it.
        `  – Wait for replica lag 0 on ${db.replica.identifier} +<t> <d>`,
        `      ${db.replica.identifier} is already promoted: nothing to wait for`,
        `  ✓ Promote ${db.replica.identifier} in ${STANDBY} +<t> <d>`,
        `      ${db.replica.identifier} was already standalone; not promoted again`,
        `  ✓ Point ${db.writerRecord.name} at ${db.replica.identifier} +<t> <d>`,
        expect.stringMatching(/^ {6}already \S+$/),
        '  ✓ Verify the new writer is standalone and available +<t> <d>',
        `      ${db.replica.identifier} is standalone and available`,
        `  ✓ Record the final state of ${db.primary.identifier} +<t> <d>`,
        `      ${db.primary.identifier}: available, fenced`,
        `RPO: unknown observed at <time> (resumed: ${db.replica.identifier} was promoted by an earlier drover run; its RPO is in that run's record)`,
      ]);
    },
  },
  {
    command: 'status --watch',
    code: 1,
    condition: 'follows a failover to its failure',
    run: async () => (await alarmed()).watched.watch,
    first: async () => header('failover', (await alarmed()).rb.runbook.name),
    check: async (r) => {
      const { rb, id, watched } = await alarmed();
      const why = `preflight failed, nothing was changed:\n- target alarms: alarm ${rb.runbook.health.alarms[STANDBY][0]} in ${STANDBY} is ALARM`;
      expect(rendered(r.out, watched.runId)).toEqual([
        `failover ${rb.runbook.name}: ${PRIMARY} -> ${STANDBY} (planned), requested by ic-test: ${REASON}`,
        `run ${id} / <run>   phase: running   traffic on ${STANDBY}: 0%`,
        '  ✓ Stop running drills (a real failover takes precedence) +<t> <d>',
        '      no drill running',
        '  ✗ Preflight checks +<t> <d>',
        `      data-plane controls not ready for ${PRIMARY}: an unplanned failover would be refused; run drover prepare <the ${rb.runbook.name} runbook file> --apply`,
        '      worker permissions not checked: arn:aws:sts::123456789012:user/moto is neither a role session nor an IAM user',
        '      1 of the checks failed',
        `      ${why}`,
        `FAILED: ${why}`,
      ]);
    },
  },
  {
    command: 'status --watch',
    code: 6,
    condition: 'follows a failover through its gate to its rejection',
    run: async () => (await gated()).rejected.watch,
    first: async () => header('failover', (await gated()).name),
    check: async (r) => {
      const { id, name, rejected } = await gated();
      expect(rendered(r.out, rejected.runId)).toEqual([
        `failover ${name}: ${PRIMARY} -> ${STANDBY} (planned), requested by ic-test: ${REASON}`,
        `run ${id} / <run>   phase: waiting-approval   traffic on ${STANDBY}: 0%`,
        '  ✓ Stop running drills (a real failover takes precedence) +<t> <d>',
        '      no drill running',
        '  ✓ Preflight checks +<t> <d>',
        `      data-plane controls not ready for ${PRIMARY}: an unplanned failover would be refused; run drover prepare <the ${name} runbook file> --apply`,
        // The way back (a failback re-creates both replicas) is one of the checks; the topology its failback compares with, read after them.
        // The worker's permission check (iam-preflight-v1): moto's GetCallerIdentity names no role or IAM user for the harness's keys.
        '      worker permissions not checked: arn:aws:sts::123456789012:user/moto is neither a role session nor an IAM user',
        '      10 checks passed',
        '      topology fingerprint: 7 record sets, 2 DB instances, 4 node groups, 4 alarms',
        `waiting for approval at gate "failover": planned failover of ${name} ${PRIMARY} -> ${STANDBY}: ${REASON}`,
        '  approvals: 0 of 1 (none yet)',
        '  needed:    1 more, from: ic-priya, ic-arjun, sre-meera; not the requester ic-test',
        '  timeout:   in <d>, then abort',
        `  approve:   drover approve ${id} --gate failover [--comment TEXT]   (signed with your AWS credentials)`,
        `             drover approve ${id} --gate failover --as <id>   (local development: recorded as unverified)`,
        '  ✗ Approval: failover +<t> <d> [gate]',
        '      gate failover rejected by sre-meera: primary recovered (identity unverified)',
        'REJECTED: gate failover rejected by sre-meera: primary recovered (identity unverified)',
      ]);
    },
  },
  { command: 'status', code: 4, condition: 'no such run', run: () => cli(['status', NONE]), first: async () => noRun(NONE) },
  { command: 'status', code: 5, condition: 'no worker answered within 15 s', run: async () => (await unserved()).status, first: noWorker },
  { command: 'status', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['status', NONE]), first: async () => cannotReach },

  // drill run
  {
    command: 'drill run',
    code: 0,
    condition: 'the drill completed',
    run: async () => (await drills()).completed,
    first: async () => started(drillOf((await drills()).completed).workflowId, `drill of ${(await drills()).rb.runbook.name} (${PRIMARY} -> ${STANDBY} and back)`),
    check: async (r) => {
      const id = drillOf(r).workflowId;
      expect(drillOf(r).phase).toBe('completed');
      expect(r.err.slice(-3)).toEqual([`drill ${id}: COMPLETED`, expect.stringMatching(/^ {2}RTO \S+ \(objective 900s: not judged \(time-scaled ×0\.01\)\)$/), `  report: drover report ${id} [--format md|json|html]`]);
    },
  },
  {
    command: 'drill run',
    code: 1,
    condition: 'the drill failed (its failover failed preflight: the replica\'s lag, which its readiness only calls degraded) and rolled back',
    run: async () => (await lagging()).drill,
    first: async () => started(drillOf((await lagging()).drill).workflowId, `drill of ${(await lagging()).rb.runbook.name} (${PRIMARY} -> ${STANDBY} and back)`),
    check: async (r) => {
      const id = drillOf(r).workflowId;
      expect(drillOf(r).phase).toBe('failed');
      expect(r.err.slice(-3)).toEqual([`drill ${id}: FAILED`, expect.stringMatching(/^ {2}failover check failed: preflight failed, nothing was changed:\n- .*replica lag \d+s exceeds the bound of 30s/), `  report: drover report ${id} [--format md|json|html]`]);
    },
  },
  {
    command: 'drill run',
    code: 3,
    condition: 'the drill refused by its readiness (an alarm firing in the standby region: not ready)',
    run: async () => (await alarmed()).drill,
    first: async () => started(drillOf((await alarmed()).drill).workflowId, `drill of ${(await alarmed()).rb.runbook.name} (${PRIMARY} -> ${STANDBY} and back)`),
    check: async (r) => {
      const { rb } = await alarmed();
      expect(drillOf(r).phase).toBe('refused');
      expect(drillOf(r).failover).toBeUndefined();
      expect(r.err.slice(1)).toEqual([
        `drill ${drillOf(r).workflowId}: REFUSED`,
        `  refused: readiness: alarms:${STANDBY} is not ready (alarm ${rb.runbook.health.alarms[STANDBY][0]} in ${STANDBY} is ALARM); fix: find out why it alarms before failing over into it`,
      ]);
    },
  },
  { command: 'drill run', code: 2, condition: 'a --time-scale out of range', run: async () => cli(['drill', 'run', (await files()).drills.file, '--time-scale', '2']), first: async () => err('drover: invalid options') },
  { command: 'drill run', code: 3, condition: 'drills not enabled for the runbook', run: async () => cli(['drill', 'run', (await files()).noDrills.file]), first: async () => err(`drover: drills are not enabled for ${(await files()).noDrills.name}`) },
  {
    command: 'drill run',
    code: 3,
    condition: 'another drill of the runbook is running',
    run: async () => (await drills()).second,
    first: async () => started(drillOf((await drills()).second).workflowId, `drill of ${(await drills()).rb.runbook.name} (${PRIMARY} -> ${STANDBY} and back)`),
    check: async (r) => {
      const { firstId } = await drills();
      expect(r.err.slice(1)).toEqual([`drill ${drillOf(r).workflowId}: REFUSED`, `  refused: another drill of ${(await drills()).rb.runbook.name} is running (${firstId})`]);
    },
  },
  { command: 'drill run', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['drill', 'run', (await files()).drills.file]), first: async () => cannotReach },

  // check, readiness (docs/readiness.md): evaluated by the worker on TQ
  {
    command: 'check',
    code: 7,
    condition: 'degraded: the replica lags past its bound (and moto cannot simulate the worker\'s permissions)',
    run: async () => cli(['check', (await lagging()).rb.file]),
    check: async (r) => {
      const { rb } = await lagging();
      expect(r.out[0]).toMatch(new RegExp(`^${rb.runbook.name}: DEGRADED for a failover \\(no standby promoted by drover: ${PRIMARY} is the primary\\), evaluated ${ISO}$`));
      expect(r.out).toContainEqual(expect.stringMatching(/^ {2}DEGRADED {3}replica:main +replica /));
      expect(r.out).toContainEqual(expect.stringMatching(/- ReplicaLag 3600s exceeds the bound of 30s/));
      expect(r.out.some((l) => l.startsWith('  NOT READY'))).toBe(false);
    },
  },
  {
    command: 'check',
    code: 1,
    condition: 'not ready: an alarm firing in the standby region (--json)',
    run: async () => cli(['check', (await alarmed()).rb.file, '--json']),
    first: async () => out('{'),
    check: async (r) => {
      const run = JSON.parse(r.out.join('\n')) as { verdict: string; checks: Array<{ id: string; verdict: string; fix?: string }> };
      expect(run.verdict).toBe('not-ready');
      expect(run.checks.filter((c) => c.verdict === 'not-ready')).toEqual([expect.objectContaining({ id: `alarms:${STANDBY}`, fix: 'find out why it alarms before failing over into it' })]);
    },
  },
  { command: 'check', code: 2, condition: 'a --direction that is not one', run: async () => cli(['check', (await files()).valid.file, '--direction', 'sideways']), first: async () => err('drover: invalid options'), check: async (r) => expect(r.err).toContain('  --direction: expected failover or failback') },
  {
    command: 'check',
    code: 3,
    condition: 'the workers refused the runbook (they hold none of that name)',
    run: async () => cli(['check', await notOnWorkers()]),
    first: async () => err(`drover: readiness of xc-not-deployed-${process.pid} not evaluated: the workers have no runbook xc-not-deployed-${process.pid} in test-runbooks: deploy it to the workers' runbook directory`),
  },
  {
    command: 'check',
    code: 5,
    condition: 'no worker polls the task queue',
    run: async () => cli(['check', (await files()).valid.file], { DROVER_TASK_QUEUE: NOBODY }),
    first: async () => err(`drover: no worker polled task queue ${NOBODY} within 15 s`),
  },
  { command: 'check', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['check', (await files()).valid.file]), first: async () => cannotReach },
  { command: 'readiness', code: 7, condition: 'the latest evaluation degraded', run: async () => (await checkedLagging()).history, check: async (r) => expect(r.out[0]).toMatch(/: DEGRADED for a failover /) },
  { command: 'readiness', code: 2, condition: '--history 0', run: () => cli(['readiness', `xc-nothing-${process.pid}`, '--history', '0']), first: async () => err('drover: invalid options') },
  { command: 'readiness', code: 2, condition: 'no runbook named', run: () => cli(['readiness']), first: async () => err('drover: invalid arguments') },
  { command: 'readiness', code: 4, condition: 'no evaluation of the runbook yet', run: () => cli(['readiness', `xc-nothing-${process.pid}`]), first: async () => err(`drover: no readiness evaluations of xc-nothing-${process.pid}`) },
  { command: 'readiness', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['readiness', `xc-nothing-${process.pid}`]), first: async () => cannotReach },
  {
    command: 'readiness schedule',
    code: 0,
    condition: 'a schedule created (every 6 hours: it never fires while the test runs)',
    run: async () => cli(['readiness', 'schedule', (await files()).valid.file, '--every', '6h']).finally(async () => schedulesMade.push(`readiness-${(await files()).valid.name}`)),
    first: async () => out(`created schedule readiness-${(await files()).valid.name}: every 6h, overlap SKIP`),
  },
  { command: 'readiness schedule', code: 2, condition: 'an interval under a minute', run: async () => cli(['readiness', 'schedule', (await files()).valid.file, '--every', '30s']), first: async () => err('drover: invalid options') },
  { command: 'readiness unschedule', code: 4, condition: 'no schedule for the runbook', run: () => cli(['readiness', 'unschedule', `xc-nothing-${process.pid}`]), first: async () => err(`drover: no readiness schedule for xc-nothing-${process.pid}`) },

  // drill schedule, schedules, pause, unpause, trigger, delete, history
  { command: 'drill schedule', code: 0, condition: 'a schedule created', run: async () => cli(['drill', 'schedule', (await files()).drills.file, '--cron', '0 3 1 1 *']).finally(async () => schedulesMade.push(`drill-${(await files()).drills.name}`)), first: async () => out(`created schedule drill-${(await files()).drills.name}: "0 3 1 1 *" UTC, overlap SKIP, catch-up 10m`) },
  { command: 'drill schedule', code: 2, condition: 'a cron expression that is not one', run: async () => cli(['drill', 'schedule', (await files()).valid.file, '--cron', 'every tuesday']), first: async () => err('drover: invalid options') },
  { command: 'drill schedule', code: 3, condition: 'drills not enabled for the runbook', run: async () => cli(['drill', 'schedule', (await files()).noDrills.file, '--cron', '0 3 1 1 *']), first: async () => err(`drover: drills are not enabled for ${(await files()).noDrills.name}`) },
  { command: 'drill schedule', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['drill', 'schedule', (await files()).drills.file, '--cron', '0 3 1 1 *']), first: async () => cannotReach },
  {
    command: 'drill schedules',
    code: 0,
    condition: 'the schedules listed, ours among them (its first line is whichever schedule visibility lists first: other test files add theirs)',
    run: async () => {
      const mine = await listedSchedule();
      // Schedules are listed from visibility, which lags a little behind a create.
      return eventually(async () => {
        const r = await cli(['drill', 'schedules']);
        return r.out.some((l) => l.startsWith(`${mine.id}  `)) ? r : undefined;
      }, `${mine.id} listed`, 30_000);
    },
    check: async (r) => {
      const mine = await listedSchedule();
      const year = new Date().getUTCFullYear();
      const next = Date.now() < Date.UTC(year, 0, 1, 3) ? Date.UTC(year, 0, 1, 3) : Date.UTC(year + 1, 0, 1, 3);
      expect(r.out).toContain(`${mine.id}  ${mine.name}  "0 3 1 1 *" UTC  active  next ${new Date(next).toISOString()}  last -`);
    },
  },
  { command: 'drill schedules', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['drill', 'schedules']), first: async () => cannotReach },
  ...(['pause', 'unpause', 'delete'] as const).map((verb): Row => {
    const made = once(() => scheduled());
    const did = { pause: 'paused', unpause: 'resumed', delete: 'deleted' }[verb];
    return { command: `drill ${verb}`, code: 0, condition: 'its schedule exists', run: async () => cli(['drill', verb, (await made()).name]), first: async () => out(`${did} ${(await made()).id}`) };
  }),
  {
    command: 'drill trigger',
    code: 0,
    condition: 'its schedule exists (its drill starts on a queue no worker polls)',
    run: async () => cli(['drill', 'trigger', (await triggered()).name]),
    check: async (r) => {
      const { id, name } = await triggered();
      expect(r.out).toEqual([expect.stringMatching(new RegExp(String.raw`^triggered ${id}: started drill-${name}-scheduled-\S+ \(run [0-9a-f-]{36}\)$`))]);
    },
  },
  ...(['pause', 'unpause', 'trigger', 'delete'] as const).map((verb): Row => ({ command: `drill ${verb}`, code: 4, condition: 'no schedule for the runbook', run: () => cli(['drill', verb, `xc-nothing-${process.pid}`]), first: async () => err(`drover: no drill schedule for xc-nothing-${process.pid}`) })),
  { command: 'drill pause', code: 2, condition: 'neither a runbook file nor a runbook name', run: () => cli(['drill', 'pause', 'Not A Name']), first: async () => err('drover: invalid arguments') },
  { command: 'drill pause', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['drill', 'pause', `xc-nothing-${process.pid}`]), first: async () => cannotReach },
  { command: 'drill history', code: 0, condition: 'a runbook with no drill yet', run: () => cli(['drill', 'history', `xc-nothing-${process.pid}`]), first: async () => out(`no drills of xc-nothing-${process.pid} yet`) },
  { command: 'drill history', code: 2, condition: '--last 0', run: () => cli(['drill', 'history', `xc-nothing-${process.pid}`, '--last', '0']), first: async () => err('drover: invalid options') },
  { command: 'drill history', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['drill', 'history', `xc-nothing-${process.pid}`]), first: async () => cannotReach },

  // report
  { command: 'report', code: 0, condition: 'the report of a completed failback', run: async () => cli(['report', `failback-${(await trip()).name}`, '--trend', '0']), first: async () => out(`# Failback report: ${(await trip()).name} — NOT JUDGED (time-scaled ×0.01)`), check: async (r) => expect(r.out.join('\n')).toMatch(/^- ✗ rto: \d+ ms, not judged against the objective of 900000 ms: a time-scaled run \(×0\.01\), its soaks compressed$/m) },
  { command: 'report', code: 2, condition: 'an unknown --format', run: () => cli(['report', NONE, '--format', 'pdf']), first: async () => err('drover: invalid options') },
  { command: 'report', code: 4, condition: 'no such run', run: () => cli(['report', NONE]), first: async () => noRun(NONE) },
  { command: 'report', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['report', NONE]), first: async () => cannotReach },

  // runs list
  { command: 'runs list', code: 0, condition: 'runs of a runbook', run: async () => listed(), first: async () => out(await listHeader()) },
  { command: 'runs list', code: 2, condition: 'a --since that is no time', run: () => cli(['runs', 'list', '--since', 'yesterday']), first: async () => err('drover: invalid options') },
  { command: 'runs list', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['runs', 'list']), first: async () => cannotReach },

  // audit
  { command: 'audit verify', code: 0, condition: "a completed failback's trail against its record", run: async () => cli(['audit', 'verify', `failback-${(await trip()).name}`]), first: async () => out(await verifiedLine()) },
  { command: 'audit verify', code: 1, condition: 'an edited event in the trail', run: async () => editedTrail(), first: async () => err(`drover: audit of ${(await alarmed()).id} FAILED verification (run ${(await alarmed()).watched.runId})`) },
  { command: 'audit verify', code: 2, condition: '--events without --head', run: () => cli(['audit', 'verify', NONE, '--events', '3']), first: async () => err('drover: invalid options') },
  { command: 'audit verify', code: 2, condition: '--children with --head', run: () => cli(['audit', 'verify', NONE, '--children', '--head', 'a'.repeat(64)]), first: async () => err('drover: invalid options'), check: async (r) => expect(r.err[1]).toBe('  --children: not with --head: a head anchors one run, and each child run is anchored by its own Temporal record') },
  { command: 'audit verify', code: 4, condition: 'no such run', run: () => cli(['audit', 'verify', NONE]), first: async () => err(`drover: no run ${NONE}: Temporal has no run of ${NONE}, and jsonl:${process.env.DROVER_AUDIT_DIR} holds no audit trail for it`) },
  { command: 'audit verify', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['audit', 'verify', NONE]), first: async () => cannotReach },
  { command: 'audit show', code: 0, condition: "a completed failback's trail", run: async () => cli(['audit', 'show', `failback-${(await trip()).name}`]), first: async () => out(await shownLine()) },
  { command: 'audit show', code: 2, condition: '--store s3 without --bucket and --region', run: () => cli(['audit', 'show', NONE, '--store', 's3']), first: async () => err('drover: invalid options') },
  { command: 'audit show', code: 4, condition: 'no such run', run: () => cli(['audit', 'show', NONE]), first: async () => err(`drover: no run ${NONE}: Temporal has no run of ${NONE}`) },
  {
    command: 'audit show',
    code: 5,
    condition: 'AWS unreachable (an S3 store read offline with --run-id)',
    run: () => cli(['audit', 'show', NONE, '--store', 's3', '--bucket', 'drover-audit-xc', '--region', STANDBY, '--run-id', 'r1'], { AWS_ENDPOINT_URL: `http://${UNREACHABLE}` }),
    first: async () => err(`drover: the audit of ${NONE} cannot be read: AWS did not answer: AWS SDK error wrapper for Error: connect ECONNREFUSED ${UNREACHABLE}`),
  },
  { command: 'audit show', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['audit', 'show', NONE]), first: async () => cannotReach },
  { command: 'audit export', code: 0, condition: "a completed failback's trail as CSV", run: async () => cli(['audit', 'export', `failback-${(await trip()).name}`, '--format', 'csv']), first: async () => out('seq,at,actor,actorVerified,action,target,before,after,requestId,detail,runId,workflowId,runbook,prevHash,hash') },
  { command: 'audit export', code: 2, condition: 'an unknown --format', run: () => cli(['audit', 'export', NONE, '--format', 'pdf']), first: async () => err('drover: invalid options') },
  { command: 'audit export', code: 4, condition: 'no such run', run: () => cli(['audit', 'export', NONE]), first: async () => err(`drover: no run ${NONE}: Temporal has no run of ${NONE}`) },
  { command: 'audit export', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['audit', 'export', NONE]), first: async () => cannotReach },

  // rebuild
  { command: 'rebuild', code: 2, condition: '--region is not a region of the runbook', run: async () => cli(['rebuild', (await files()).valid.file, '--region', 'eu-west-9', ...RUN]), first: async () => err('drover: cannot rebuild') },
  { command: 'rebuild', code: 2, condition: 'the runbook has no rebuild section', run: async () => cli(['rebuild', (await files()).noRebuild.file, '--region', STANDBY, ...RUN]), first: async () => err('drover: cannot rebuild') },
  {
    command: 'rebuild',
    code: 3,
    condition: 'traffic still reaches the region (no --force)',
    run: async () => (await gated()).refused,
    first: async () => started(`rebuild-${(await gated()).name}`, `rebuild of ${(await gated()).name}'s cluster in ${PRIMARY}`),
    check: async (r) => {
      const [api, www, statics] = (await gated()).rb.runbook.dns.records.map((d) => d.name);
      await endedWith(`FAILED: traffic still reaches ${PRIMARY}: ${api} sends 100% to ${PRIMARY}; ${www} sends 100% to ${PRIMARY}; ${statics} sends 100% to ${PRIMARY}. Move it away first (drover failover), or pass --force to rebuild under an extra approval`)(r);
    },
  },
  { command: 'rebuild', code: 5, condition: 'Temporal unreachable', run: offline(async () => ['rebuild', (await files()).valid.file, '--region', STANDBY, ...RUN]), first: async () => cannotReach },
  { command: 'rebuild', code: 6, condition: 'forced, and rejected at the rebuild-force gate', run: async () => (await gated()).forced, first: async () => started(`rebuild-${(await gated()).name}`, `rebuild of ${(await gated()).name}'s cluster in ${PRIMARY} (forced)`), check: endedWith('REJECTED: gate rebuild-force rejected by ic-arjun: fail over first (identity unverified)') },

  // worker (it runs until stopped: only its refusals end it)
  { command: 'worker', code: 2, condition: 'an unknown --iac-stack', run: () => cli(['worker', '--iac-stack', 'pulumi']), first: async () => err('drover: invalid options') },
  { command: 'worker', code: 2, condition: '--runbooks is not a directory', run: () => cli(['worker', '--runbooks', '/nonexistent/runbooks']), first: async () => err('drover: invalid options') },
  { command: 'worker', code: 2, condition: 'DROVER_PROFILE names no profile', run: () => cli(['worker'], { DROVER_PROFILE: 'prod' }), first: async () => err('drover: invalid options'), check: async (r) => expect(r.err[1]).toBe('  DROVER_PROFILE: expected "dev" (the dev stack\'s emulator) or "aws" (real AWS), got "prod"') },

  // dev (with TEMPORAL_ADDRESS and AWS_ENDPOINT_URL set, nothing of its own is started)
  { command: 'dev up', code: 0, condition: 'external servers named by the environment', run: () => cli(['dev', 'up']), first: async () => out(`temporal: using external ${testTemporalAddress()} (TEMPORAL_ADDRESS)`) },
  { command: 'dev up', code: 5, condition: 'TEMPORAL_ADDRESS unreachable', run: offline(async () => ['dev', 'up']), first: async () => err(`drover: TEMPORAL_ADDRESS=${UNREACHABLE} is not reachable`) },
  {
    command: 'dev up',
    code: 5,
    condition: 'the Temporal port is taken (checked before anything starts)',
    run: () => cli(['dev', 'up', '--temporal-port', testTemporalAddress().split(':')[1]], { TEMPORAL_ADDRESS: undefined }),
    first: async () => err(`drover: port ${testTemporalAddress().split(':')[1]} for the Temporal gRPC is already in use on 127.0.0.1`),
  },
  { command: 'dev status', code: 0, condition: 'both servers usable', run: () => cli(['dev', 'status']), first: async () => out(`temporal: external ${testTemporalAddress()} (reachable)`) },
  { command: 'dev status', code: 1, condition: 'Temporal not usable', run: offline(async () => ['dev', 'status']), first: async () => out(`temporal: external ${UNREACHABLE} (NOT reachable)`) },
  { command: 'dev down', code: 0, condition: 'no dev stack running', run: () => cli(['dev', 'down']), first: async () => out('the dev stack is not running') },

  // demo seed
  { command: 'demo seed', code: 0, condition: 'a runbook already seeded', run: async () => cli(['demo', 'seed', (await pending()).rb.file]), first: async () => out(await seededLine()) },
  { command: 'demo seed', code: 2, condition: 'no emulator endpoint', run: async () => cli(['demo', 'seed', (await files()).valid.file], { AWS_ENDPOINT_URL: undefined }), first: async () => err('drover: no AWS emulator endpoint configured; the demo only seeds emulators') },
];

/**
 * A promotion waiting at its gate, served by a worker of its own whose identity key file cannot exist (its
 * directory is a plain file), and an approval without --as on a host where that key is missing too: nothing
 * to seal the signed identity to. Made alone, in its row (the key file is the process's environment).
 */
const noKey = once(async () => {
  const blocker = path.join(testTempDir('exit-key-'), 'not-a-dir');
  fs.writeFileSync(blocker, 'a file where the key directory should be\n');
  const keyFile = path.join(blocker, 'identity.jwk');
  const rb = unseeded('no-key');
  const id = `promote-${rb.name}`;
  const queue = `${TQ}-no-key`;
  const before = process.env.DROVER_IDENTITY_KEY_FILE;
  // The worker's identity activities take the key file from the environment when they are created.
  process.env.DROVER_IDENTITY_KEY_FILE = keyFile;
  try {
    return await env.withWorker(queue, async () => {
      const start = await cli(['promote', rb.file, '--to', STANDBY, ...RUN, '--detach'], { DROVER_TASK_QUEUE: queue });
      if (start.code !== 0) throw new Error(`promote --detach exited ${start.code}: ${start.err.join('\n')}`);
      await gatePending(id, 'failover');
      return { id, keyFile, gate: (await query(id)).pendingGate, approve: await cli(['approve', id, '--gate', 'failover']) };
    });
  } finally {
    process.env.DROVER_IDENTITY_KEY_FILE = before;
  }
});

/** A schedule for the listing row. */
const listedSchedule = once(() => scheduled());

/** A schedule whose drills start on a queue no worker polls: a trigger starts one that never runs (terminated after the file). */
const triggered = once(() => scheduled(NOBODY));

/** `runs list` for the breach runbook's failback, polled until visibility shows it closed. */
async function listed(): Promise<Result> {
  const { rb } = await breach();
  return eventually(async () => {
    const r = await cli(['runs', 'list', '--runbook', rb.runbook.name, '--kind', 'failback']);
    return r.out.length === 2 && r.out[1].includes(' failed ') ? r : undefined;
  }, 'runs list showing the failed failback', 30_000);
}

/** The table's header line for that one run (columns as wide as their widest cell). */
async function listHeader(): Promise<string> {
  const { rb } = await breach();
  const id = `failback-${rb.runbook.name}`;
  return ['RUN'.padEnd(id.length), 'KIND'.padEnd('failback'.length), 'RUNBOOK'.padEnd(rb.runbook.name.length), 'MODE'.padEnd('planned'.length), 'OUTCOME', 'REQUESTED BY', 'STARTED (UTC)'.padEnd(19), 'DURATION'].join('  ');
}

async function shownLine(): Promise<string> {
  const { name } = await trip();
  const record = await runOutcome<RunStatus>(env.client, `failback-${name}`);
  return `audit of failback-${name} (run ${record.runId}, runbook ${name}): ${record.audit?.events} events`;
}

async function verifiedLine(): Promise<string> {
  const { name } = await trip();
  const record = await runOutcome<RunStatus>(env.client, `failback-${name}`);
  return `audit of failback-${name} verified: ${record.audit?.events} events, head ${record.audit?.head}`;
}

/** Edit the third event of the watched failover's trail, then verify it. */
async function editedTrail(): Promise<Result> {
  const { rb, id, watched } = await alarmed();
  const file = path.join(process.env.DROVER_AUDIT_DIR ?? '', rb.runbook.name, id, `${watched.runId}.jsonl`);
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  const third = JSON.parse(lines[2]) as { detail?: string };
  lines[2] = JSON.stringify({ ...third, detail: `${third.detail} (edited)` });
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return cli(['audit', 'verify', id]);
}

async function seededLine(): Promise<string> {
  const { rb } = await pending();
  // 25 resources: the hosted zone, 6 weighted/failover record sets, the writer record, 4 security groups
  // (the database's and the fence's in each region), the primary and its replica, the replica's lag
  // metric, 2 clusters with 2 node groups each, and 4 alarms; all there already.
  return `seeded ${rb.runbook.name} into ${env.moto.endpoint}: 0 created, 0 updated, 25 unchanged`;
}

describe('every documented exit code, command by command', () => {
  test.each(ROWS.map((r) => [`${r.command} exits ${r.code}: ${r.condition}`, r] as const))('%s', async (_name, row) => {
    const r = await row.run();
    const first = await row.first?.();
    // The first line printed (a report or an export is printed in one piece: its first line).
    const printed = first && (first.stream === 'out' ? r.out : r.err).join('\n').split('\n')[0];
    expect({ code: r.code, first: printed }).toEqual({ code: row.code, first: first?.line });
    await row.check?.(r);
  });
});
