import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createIacActivities, type IacProgress } from '../activities/iac';
import type { PlanSummary } from '../contracts/run';
import { ensureTofu, resolveTofu, tofuPath, TOFU_PIN } from '../tools/tofu';
import { toolsDir } from '../config/home';
import { FailureType } from '../contracts/failures';
import { expectFailure, rejection } from './harness/activity';

// Activity tests against a real OpenTofu on stacks of built-in terraform_data resources: no provider
// plugin, no network. The first run builds OpenTofu from Go modules (minutes); later runs reuse it.

const TIMEOUT_MS = 120_000;
jest.setTimeout(3 * 60_000);

let tofu: string;
beforeAll(async () => {
  tofu = await ensureTofu({ log: (line) => process.stderr.write(`[tofu] ${line}\n`) });
}, 45 * 60_000);

const iac = createIacActivities({ binary: async (preferred) => preferred ?? tofu, graceMs: 10_000 });

type Resources = Record<string, Record<string, unknown>>;

/** A stack directory with a local backend whose state lives beside it, in the suite's temporary directory. */
class Stack {
  readonly dir: string;
  readonly statePath: string;

  /** `backend`: the stack's backend block; default a local backend beside the stack. */
  constructor(private readonly backend?: Record<string, unknown>) {
    const root = fs.mkdtempSync(path.join(process.env.DROVER_TEST_TMP ?? os.tmpdir(), 'iac-'));
    this.dir = path.join(root, 'stack');
    this.statePath = path.join(root, 'state', 'terraform.tfstate');
    fs.mkdirSync(this.dir, { recursive: true });
  }

  /** Write the stack as CDKTF would: one JSON file of terraform_data resources (and optional outputs). */
  write(resources: Resources, output: Record<string, { value: string; sensitive?: boolean }> = {}): this {
    const config = {
      terraform: { backend: this.backend ?? { local: { path: this.statePath } } },
      resource: { terraform_data: resources },
      ...(Object.keys(output).length > 0 ? { output } : {}),
    };
    fs.writeFileSync(path.join(this.dir, 'cdk.tf.json'), JSON.stringify(config, null, 2));
    return this;
  }

  /** Resource addresses in the state, with " (tainted)" on tainted instances. */
  state(): string[] {
    if (!fs.existsSync(this.statePath)) return [];
    const s = JSON.parse(fs.readFileSync(this.statePath, 'utf8')) as { resources: { type: string; name: string; instances: { status?: string }[] }[] };
    return s.resources.flatMap((r) => r.instances.map((i) => `${r.type}.${r.name}${i.status === 'tainted' ? ' (tainted)' : ''}`)).sort();
  }

  serial(): number {
    return (JSON.parse(fs.readFileSync(this.statePath, 'utf8')) as { serial: number }).serial;
  }

  /** The local backend's lock marker, present while a tofu holds the state lock. */
  lockInfoExists(): boolean {
    return fs.existsSync(path.join(path.dirname(this.statePath), `.${path.basename(this.statePath)}.lock.info`));
  }
}

/** One activity run in its own MockActivityEnvironment (a cancelled environment stays cancelled), recording heartbeats. */
function activity<R>(fn: () => Promise<R>): { result: Promise<R>; heartbeats: IacProgress[]; env: MockActivityEnvironment } {
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR', () => undefined) });
  const heartbeats: IacProgress[] = [];
  env.on('heartbeat', (p: IacProgress) => heartbeats.push(p));
  return { result: env.run(fn), heartbeats, env };
}

function plan(stack: Stack, allowDestroy: string[] = []) {
  return activity(() => iac.iacPlan({ dir: stack.dir, allowDestroy, timeoutMs: TIMEOUT_MS }));
}

function apply(stack: Stack, approved: PlanSummary, allowDestroy: string[] = [], timeoutMs = TIMEOUT_MS, activities = iac) {
  return activity(() => activities.iacApply({ dir: stack.dir, approved, allowDestroy, timeoutMs }));
}

interface LockInfo {
  ID: string;
  Operation?: string;
}

/** A minimal OpenTofu http backend: one state, LOCK/UNLOCK, and a record of every unlock. Its locks outlive a killed tofu. */
async function startHttpBackend() {
  const backend = { state: undefined as string | undefined, lock: undefined as LockInfo | undefined, unlocks: [] as LockInfo[] };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const route = `${req.method} ${new URL(req.url ?? '/', 'http://backend').pathname}`;
      if (route === 'GET /state') return backend.state ? res.writeHead(200).end(backend.state) : res.writeHead(404).end();
      if (route === 'POST /state') {
        backend.state = body;
        return res.writeHead(200).end();
      }
      const info = (body ? JSON.parse(body) : {}) as LockInfo;
      if (route === 'LOCK /lock') {
        if (backend.lock) return res.writeHead(423, { 'content-type': 'application/json' }).end(JSON.stringify(backend.lock));
        backend.lock = info;
        return res.writeHead(200).end();
      }
      if (route === 'UNLOCK /lock') {
        backend.unlocks.push(info);
        if (backend.lock?.ID === info.ID) backend.lock = undefined;
        return res.writeHead(backend.lock ? 409 : 200).end();
      }
      res.writeHead(405).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    backend,
    config: { http: { address: `${url}/state`, lock_address: `${url}/lock`, unlock_address: `${url}/lock` } },
    resources: () => (backend.state ? (JSON.parse(backend.state) as { resources: { type: string; name: string }[] }).resources.map((r) => `${r.type}.${r.name}`).sort() : []),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const resourcesIn = (beats: IacProgress[], phase: IacProgress['phase']) => new Set(beats.filter((b) => b.phase === phase && b.resource).map((b) => b.resource));

describe('iacPlan and iacApply on a real OpenTofu', () => {
  test('given a new stack, plan then apply create every resource with heartbeats naming them, and a re-plan shows no changes', async () => {
    const stack = new Stack().write({ a: { input: 'one' }, b: { input: 'two' } }, { a: { value: '${terraform_data.a.output}' }, token: { value: 's3cr3t', sensitive: true } });

    const p = plan(stack);
    const summary = await p.result;
    expect(summary).toMatchObject({ add: 2, change: 0, destroy: 0, replace: 0, toDestroy: [], noChanges: false });
    expect(summary.changes).toEqual(expect.arrayContaining([{ address: 'terraform_data.a', actions: ['create'] }, { address: 'terraform_data.b', actions: ['create'] }]));
    expect(summary.planSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(fs.existsSync(summary.planFile)).toBe(true);
    expect(resourcesIn(p.heartbeats, 'plan')).toEqual(new Set(['terraform_data.a', 'terraform_data.b']));

    const a = apply(stack, summary);
    const applied = await a.result;
    expect(applied).toMatchObject({ alreadyApplied: false, replanned: false, outputs: { a: 'one', token: '(sensitive)' } });
    expect(applied.applied.sort()).toEqual(['terraform_data.a', 'terraform_data.b']);
    expect(stack.state()).toEqual(['terraform_data.a', 'terraform_data.b']);
    expect(resourcesIn(a.heartbeats, 'apply')).toEqual(new Set(['terraform_data.a', 'terraform_data.b']));
    expect(a.heartbeats.at(-1)).toMatchObject({ phase: 'apply', done: 2, total: 2 });
    expect(JSON.stringify([...p.heartbeats, ...a.heartbeats])).not.toContain('s3cr3t');

    const again = await plan(stack).result;
    expect(again).toMatchObject({ noChanges: true, changes: [], add: 0, toDestroy: [] });
  });

  test('given a plan that destroys and replaces resources, it is refused unless allowDestroy names every one, and only then applied', async () => {
    const stack = new Stack().write({ keep: { input: 'k', triggers_replace: 'v1' }, gone: { input: 'g' } });
    await apply(stack, await plan(stack).result).result;
    const serial = stack.serial();

    // keep is replaced (its trigger changes) and gone is deleted; only keep is allowed.
    stack.write({ keep: { input: 'k', triggers_replace: 'v2' } });
    const refused = await rejection(plan(stack, ['terraform_data.keep']).result);
    expectFailure(refused, FailureType.IacPlanRefused, /terraform_data\.gone/);
    expect((refused as Error).message).not.toMatch(/replace terraform_data\.keep/);
    expect(stack.serial()).toBe(serial);

    const allowed = await plan(stack, ['terraform_data.*']).result;
    expect(allowed).toMatchObject({ replace: 1, destroy: 1, add: 0 });
    expect(allowed.toDestroy.sort()).toEqual(['terraform_data.gone', 'terraform_data.keep']);

    // The apply checks again: the same plan under a narrower allowDestroy is refused before tofu runs.
    expectFailure(await rejection(apply(stack, allowed, ['terraform_data.keep']).result), FailureType.IacPlanRefused, /terraform_data\.gone/);
    expect(stack.serial()).toBe(serial);
    expect(stack.state()).toEqual(['terraform_data.gone', 'terraform_data.keep']);

    const done = await apply(stack, allowed, ['terraform_data.{keep,gone}']).result;
    expect(done.applied.sort()).toEqual(['terraform_data.gone', 'terraform_data.keep']);
    expect(stack.state()).toEqual(['terraform_data.keep']);
  });

  test('given an apply cancelled during a slow provisioner, it stops tofu and leaves no lock, and a retry re-plans and completes', async () => {
    const stack = new Stack().write({
      fast: { input: 'f' },
      slow: { input: 's', provisioner: [{ 'local-exec': { command: 'sleep 8' } }] },
    });
    const approved = await plan(stack).result;

    const first = apply(stack, approved);
    await until('the slow provisioner to start', () => first.heartbeats.some((b) => b.resource === 'terraform_data.slow' && b.message?.startsWith('provision_start')));
    first.env.cancel();
    const err = await rejection(first.result);
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(stack.lockInfoExists()).toBe(false);
    // The interrupted create leaves slow tainted: the retry must replace it, which the approved create covers.
    expect(stack.state()).toEqual(['terraform_data.fast', 'terraform_data.slow (tainted)']);

    const retry = await apply(stack, approved).result;
    expect(retry).toMatchObject({ alreadyApplied: false, replanned: true, applied: ['terraform_data.slow'] });
    expect(stack.state()).toEqual(['terraform_data.fast', 'terraform_data.slow']);
  });

  test('given a tofu killed before it could release a remote state lock, the cancelled apply force-unlocks it, and a retry completes', async () => {
    const http = await startHttpBackend();
    try {
      // graceMs 0: SIGKILL right after SIGINT, so tofu never gets to unlock, as when it hangs past the grace period.
      const impatient = createIacActivities({ binary: async (preferred) => preferred ?? tofu, graceMs: 0 });
      const stack = new Stack(http.config).write({
        fast: { input: 'f' },
        slow: { input: 's', provisioner: [{ 'local-exec': { command: 'sleep 8' } }] },
      });
      const approved = await plan(stack).result;
      http.backend.unlocks.length = 0;

      const first = apply(stack, approved, [], TIMEOUT_MS, impatient);
      await until('the slow provisioner to start', () => first.heartbeats.some((b) => b.resource === 'terraform_data.slow' && b.message?.startsWith('provision_start')));
      first.env.cancel();
      expect(await rejection(first.result)).toBeInstanceOf(CancelledFailure);
      expect(http.backend.lock).toBeUndefined();
      // tofu's own unlock sends its full lock info; force-unlock knows only the ID.
      expect(http.backend.unlocks).toEqual([expect.objectContaining({ Operation: '' })]);

      // What the killed tofu managed to persist is a race: nothing (the approved plan still applies), or
      // the snapshot tofu persists on SIGINT, taken before the provisioner's failure taints slow (the
      // re-plan finds nothing to do). Either way the retry must complete with every resource.
      await apply(stack, approved).result;
      expect(http.resources()).toEqual(['terraform_data.fast', 'terraform_data.slow']);
      expect(http.backend.lock).toBeUndefined();
    } finally {
      await http.stop();
    }
  });

  test('given a state locked by a running apply, plan fails with a retryable error naming the lock', async () => {
    const stack = new Stack().write({ slow: { input: 's', provisioner: [{ 'local-exec': { command: 'sleep 8' } }] } });
    const running = apply(stack, await plan(stack).result);
    await until('the slow provisioner to start', () => running.heartbeats.some((b) => b.message?.startsWith('provision_start')));

    const err = await rejection(plan(stack).result);
    expect(err).toBeInstanceOf(Error);
    expect(err instanceof ApplicationFailure && err.nonRetryable).toBe(false);
    expect((err as Error).message).toMatch(/^tofu plan: the state is locked by another operation \(lock ID [0-9a-f-]{36}\); retrying/);

    running.env.cancel();
    await rejection(running.result);
  });

  test('given an apply slower than its timeout, it interrupts tofu, keeps the state and fails with IacApplyFailed', async () => {
    const stack = new Stack().write({ slow: { input: 's', provisioner: [{ 'local-exec': { command: 'sleep 30' } }] } });
    const approved = await plan(stack).result;
    const err = await rejection(apply(stack, approved, [], 5_000).result);
    expectFailure(err, FailureType.IacApplyFailed, /tofu apply did not finish within 5 s and was interrupted; the state it wrote is kept/);
    expect(stack.lockInfoExists()).toBe(false);
    expect(stack.state()).toEqual(['terraform_data.slow (tainted)']);
  });
});

describe('iac failures', () => {
  test('given a binary that does not exist, plan fails with IacToolMissing saying how to configure one', async () => {
    const stack = new Stack().write({ a: { input: 'one' } });
    const err = await rejection(activity(() => iac.iacPlan({ dir: stack.dir, binary: '/nonexistent/tofu', allowDestroy: [], timeoutMs: TIMEOUT_MS })).result);
    expectFailure(err, FailureType.IacToolMissing, /\/nonexistent\/tofu is missing or not executable; set the runbook's rebuild\.binary or \$DROVER_TOFU/);

    const noTofu = createIacActivities({
      binary: () => Promise.reject(new Error('cannot build OpenTofu v1.10.10: no go toolchain is on PATH\n    at buildTofu (tofu.ts:1:1)')),
    });
    const err2 = await rejection(activity(() => noTofu.iacPlan({ dir: stack.dir, allowDestroy: [], timeoutMs: TIMEOUT_MS })).result);
    expectFailure(err2, FailureType.IacToolMissing, /no go toolchain is on PATH; set the runbook's rebuild\.binary/);
    expect((err2 as Error).message).not.toMatch(/\n|\bat buildTofu/);
  });

  test('given a resource with an unknown attribute, plan fails with IacInvalidStack quoting the diagnostic', async () => {
    const stack = new Stack().write({ a: { input: 'one', colour: 'blue' } });
    const err = await rejection(plan(stack).result);
    expectFailure(err, FailureType.IacInvalidStack, /^tofu plan failed \(exit 1\): Extraneous JSON object property: No argument or block type is named "colour"\. \(cdk\.tf\.json:\d+\)$/);
    expect((err as Error).message).not.toMatch(/\n/);
    expect(stack.state()).toEqual([]);
  });

  test('given malformed JSON, plan fails with IacInvalidStack naming the file', async () => {
    const stack = new Stack();
    fs.writeFileSync(path.join(stack.dir, 'cdk.tf.json'), '{ "resource": { "terraform_data": { "a": ');
    const err = await rejection(plan(stack).result);
    expectFailure(err, FailureType.IacInvalidStack, /cdk\.tf\.json/);
    expect((err as Error).message).not.toMatch(/\n/);
  });

  test('given an empty directory, plan fails with IacInvalidStack before running tofu', async () => {
    const err = await rejection(plan(new Stack()).result);
    expectFailure(err, FailureType.IacInvalidStack, /holds no \.tf or \.tf\.json file/);
  });

  test('given a provisioner that exits 1, apply fails with IacApplyFailed and the state keeps what was created before it', async () => {
    const stack = new Stack().write({
      first: { input: 'ok' },
      broken: { input: 'x', depends_on: ['terraform_data.first'], provisioner: [{ 'local-exec': { command: 'echo boom; exit 1' } }] },
    });
    const approved = await plan(stack).result;
    const err = await rejection(apply(stack, approved).result);
    expectFailure(err, FailureType.IacApplyFailed, /^tofu apply failed \(exit 1\): local-exec provisioner error: Error running command 'echo boom; exit 1': exit status 1\..*the state it wrote is kept$/);
    expect(stack.state()).toEqual(['terraform_data.broken (tainted)', 'terraform_data.first']);
  });
});

describe('idempotent apply', () => {
  test('given an apply that already succeeded, a retry returns alreadyApplied without changing the state', async () => {
    const stack = new Stack().write({ a: { input: 'one' } }, { a: { value: '${terraform_data.a.output}' } });
    const approved = await plan(stack).result;
    await apply(stack, approved).result;
    const serial = stack.serial();

    const retry = await apply(stack, approved).result;
    expect(retry).toMatchObject({ alreadyApplied: true, replanned: false, applied: [], outputs: { a: 'one' } });
    expect(stack.serial()).toBe(serial);
    expect(stack.state()).toEqual(['terraform_data.a']);
  });

  test('given a lost plan file and a stack that now does more than was approved, apply fails with IacPlanChanged and applies nothing', async () => {
    const stack = new Stack().write({ a: { input: 'one' } });
    const approved = await plan(stack).result;
    fs.rmSync(approved.planFile); // e.g. the retry runs on another worker
    stack.write({ a: { input: 'one' }, extra: { input: 'two' } });

    const err = await rejection(apply(stack, approved).result);
    expectFailure(err, FailureType.IacPlanChanged, /terraform_data\.extra would create \(approved: no change\)/);
    expect(stack.state()).toEqual([]);
  });

  test('given a plan file altered since approval, apply re-plans and applies the approved changes only', async () => {
    const stack = new Stack().write({ a: { input: 'one' } });
    const approved = await plan(stack).result;
    fs.appendFileSync(approved.planFile, 'tampered');

    const r = await apply(stack, approved).result;
    expect(r).toMatchObject({ replanned: true, alreadyApplied: false, applied: ['terraform_data.a'] });
    expect(stack.state()).toEqual(['terraform_data.a']);
  });
});

describe("the team's own code (work settings)", () => {
  /** A team module directory (its own backend block) and the run's own directories beside it. */
  function teamStack(backend: Record<string, unknown> | undefined, resources: Resources) {
    const root = fs.mkdtempSync(path.join(process.env.DROVER_TEST_TMP ?? os.tmpdir(), 'iac-team-'));
    const dir = path.join(root, 'code');
    fs.mkdirSync(dir);
    const local = path.join(root, 'local-module');
    fs.mkdirSync(local);
    fs.writeFileSync(path.join(local, 'main.tf.json'), JSON.stringify({ resource: { terraform_data: { m: { input: 'm' } } } }));
    fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify({ ...(backend ? { terraform: { backend } } : {}), resource: { terraform_data: resources }, module: { local: { source: '../local-module' } } }));
    const work = { dataDir: path.join(root, 'run', 'tofu-data'), backendConfig: [], lockfileReadonly: false, region: 'ap-southeast-1', codeDir: dir, pluginCacheDir: path.join(root, 'plugin-cache') };
    return { root, dir, local, work, state: path.join(root, 'state', 'terraform.tfstate') };
  }

  test('the plan carries the digest of the code and its modules after init; a module changed since approval refuses the apply, nothing applied', async () => {
    const t = teamStack(undefined, {});
    const state = t.state;
    fs.writeFileSync(path.join(t.dir, 'main.tf.json'), JSON.stringify({ terraform: { backend: { local: { path: state } } }, resource: { terraform_data: { a: { input: 'a' } } }, module: { local: { source: '../local-module' } } }));
    const planned = await activity(() => iac.iacPlan({ dir: t.dir, allowDestroy: [], timeoutMs: TIMEOUT_MS, work: t.work })).result;
    expect(planned.codeSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(planned.planFile.startsWith(t.work.dataDir)).toBe(true);
    expect(fs.existsSync(t.work.pluginCacheDir)).toBe(true);
    // The local module the code calls by relative path changes between the plan and the apply.
    fs.writeFileSync(path.join(t.local, 'main.tf.json'), JSON.stringify({ resource: { terraform_data: { m: { input: 'changed' } } } }));
    const err = await rejection(activity(() => iac.iacApply({ dir: t.dir, approved: planned, allowDestroy: [], timeoutMs: TIMEOUT_MS, work: t.work })).result);
    expectFailure(err, FailureType.IacPlanChanged, /^the team's code \(or a module or provider lock it uses\) changed since the plan was approved; nothing was applied$/);
    expect(fs.existsSync(state)).toBe(false);
    // Back as approved: the apply goes ahead.
    fs.writeFileSync(path.join(t.local, 'main.tf.json'), JSON.stringify({ resource: { terraform_data: { m: { input: 'm' } } } }));
    const applied = await activity(() => iac.iacApply({ dir: t.dir, approved: planned, allowDestroy: [], timeoutMs: TIMEOUT_MS, work: t.work })).result;
    expect(applied.applied.sort()).toEqual(['module.local.terraform_data.m', 'terraform_data.a']);
  });

  test("code without a backend, or with a local one in its directory, is refused after init: nothing is written into the team's code", async () => {
    const none = teamStack(undefined, { a: { input: 'a' } });
    expectFailure(await rejection(activity(() => iac.iacPlan({ dir: none.dir, allowDestroy: [], timeoutMs: TIMEOUT_MS, work: none.work })).result), FailureType.IacInvalidStack, /^the team's code keeps its state in its own directory \(it names no backend/);
    const inside = teamStack({ local: { path: 'terraform.tfstate' } }, { a: { input: 'a' } });
    expectFailure(await rejection(activity(() => iac.iacPlan({ dir: inside.dir, allowDestroy: [], timeoutMs: TIMEOUT_MS, work: inside.work })).result), FailureType.IacInvalidStack, /name a backend \(s3, or local with an absolute path outside the code\)/);
    for (const t of [none, inside]) expect(fs.readdirSync(t.dir)).toEqual(['main.tf.json']);
  });

  test("tofu gets the runbook's workspace and region, never the worker's TF_WORKSPACE nor drover's or Temporal's settings", async () => {
    const t = teamStack(undefined, {});
    fs.writeFileSync(
      path.join(t.dir, 'main.tf.json'),
      JSON.stringify({
        terraform: { backend: { local: { path: t.state, workspace_dir: path.join(t.root, 'workspaces') } } },
        output: { workspace: { value: '${terraform.workspace}' } },
      }),
    );
    const envFile = path.join(t.root, 'env.txt');
    const seen = createIacActivities({ binary: async (preferred) => preferred ?? tofu, env: { DROVER_SECRET_SETTING: 'x', TEMPORAL_API_KEY: 'k', TF_WORKSPACE: 'worker-ws' } });
    const wrapper = path.join(t.root, 'tofu-wrapper.sh');
    fs.writeFileSync(wrapper, `#!/bin/sh\nenv | grep -E '^(DROVER_|TEMPORAL_|TF_WORKSPACE|AWS_REGION|AWS_DEFAULT_REGION|TF_PLUGIN_CACHE_DIR)' | sort > ${envFile}\nexec ${tofu} "$@"\n`, { mode: 0o755 });
    const planned = await activity(() => seen.iacPlan({ dir: t.dir, binary: wrapper, allowDestroy: [], timeoutMs: TIMEOUT_MS, work: { ...t.work, workspace: 'eks-ap-southeast-1' } })).result;
    expect(planned.codeSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(fs.readFileSync(envFile, 'utf8').trim().split('\n')).toEqual(['AWS_DEFAULT_REGION=ap-southeast-1', 'AWS_REGION=ap-southeast-1', `TF_PLUGIN_CACHE_DIR=${t.work.pluginCacheDir}`, 'TF_WORKSPACE=eks-ap-southeast-1']);
    expect(fs.existsSync(path.join(t.root, 'workspaces', 'eks-ap-southeast-1'))).toBe(true);
  });
});

describe('ensureTofu', () => {
  const saved = { DROVER_TOFU: process.env.DROVER_TOFU, DROVER_TOOLS_DIR: process.env.DROVER_TOOLS_DIR, PATH: process.env.PATH };
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const versionLine = (bin: string) => execFileSync(bin, ['version'], { encoding: 'utf8' }).split('\n')[0];

  // These two run whatever the caller's environment holds: DROVER_TOFU is unset inside them (afterEach
  // puts it back), so with an override set they still resolve, and if need be build, the pinned OpenTofu.
  test('given no DROVER_TOFU, resolveTofu returns the pinned OpenTofu build cached under the tools directory, and it runs', async () => {
    delete process.env.DROVER_TOFU;
    const resolved = await resolveTofu();
    expect(resolved).toBe(path.join(toolsDir(), `opentofu-${TOFU_PIN.version.replace(/^v/, '')}`, 'tofu'));
    expect(resolved).toBe(tofuPath());
    expect(versionLine(resolved)).toBe(`OpenTofu ${TOFU_PIN.version}`);
  }, 45 * 60_000);

  test('given DROVER_TOFU naming an executable, resolveTofu returns it as it is; a runbook\'s own binary comes first', async () => {
    delete process.env.DROVER_TOFU;
    const pinned = await resolveTofu();
    const link = path.join(fs.mkdtempSync(path.join(process.env.DROVER_TEST_TMP ?? os.tmpdir(), 'tofu-override-')), 'tofu');
    fs.symlinkSync(pinned, link);
    process.env.DROVER_TOFU = link;
    expect(await resolveTofu()).toBe(link);
    expect(versionLine(await resolveTofu())).toBe(`OpenTofu ${TOFU_PIN.version}`);
    expect(await resolveTofu('/opt/runbook-tools/terraform')).toBe('/opt/runbook-tools/terraform');
  }, 45 * 60_000);

  test('given DROVER_TOFU naming a file that cannot run, it fails with one line naming the variable', async () => {
    process.env.DROVER_TOFU = '/nonexistent/tofu';
    await expect(ensureTofu()).rejects.toThrow(/^DROVER_TOFU=\/nonexistent\/tofu is not an executable file$/);
  });

  test('given no cached build and no go toolchain, it fails with one line saying so', async () => {
    delete process.env.DROVER_TOFU;
    process.env.DROVER_TOOLS_DIR = fs.mkdtempSync(path.join(process.env.DROVER_TEST_TMP ?? os.tmpdir(), 'tools-'));
    process.env.PATH = '/nonexistent';
    await expect(ensureTofu()).rejects.toThrow(/^cannot build OpenTofu v1\.10\.10: no go toolchain is on PATH \(install Go, or set DROVER_TOFU to a tofu or terraform binary\)$/);
  });
});
