import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * What a command loads, seen from inside its own processes: a preloaded script (node --require) appends, when a
 * process exits, every file Node's module loader holds (require.cache: drover's compiled output, tsx's transpiled
 * sources and every package file, as all of them load through require; tsconfig's module is commonjs and import()
 * compiles to require()). Used to prove lazy boundaries by what loaded, never by how long it took.
 */
const HOOK = `
const fs = require('node:fs');
process.on('exit', () => fs.appendFileSync(process.env.DROVER_MODULE_LOG, Object.keys(require.cache).join('\\n') + '\\n'));
`;

/** The packages the quick commands must not load (cli/commands/index.ts): AWS, IaC, charts, Temporal's client and worker. */
export const HEAVY_PACKAGES = ['@aws-sdk/', 'cdktf/', '@cdktf/', 'chart.js/', '@temporalio/worker/', '@temporalio/client/'];

export interface LoggedRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Every module file the process loaded. */
  files: string[];
  /** The packages of HEAVY_PACKAGES among them (each once). */
  heavy: string[];
}

/**
 * The module log's hook, written in `dir`, and where the log goes: preload the hook (`node --require HOOK`, or
 * NODE_OPTIONS for a node started by a script) with DROVER_MODULE_LOG=log in the environment.
 */
export function moduleLog(dir: string): { hook: string; log: string; read(): Pick<LoggedRun, 'files' | 'heavy'> } {
  const hook = path.join(dir, 'module-log-hook.cjs');
  fs.writeFileSync(hook, HOOK);
  const log = path.join(dir, `module-log-${process.hrtime.bigint()}.txt`);
  return {
    hook,
    log,
    read: () => {
      const files = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
      return { files, heavy: HEAVY_PACKAGES.filter((p) => files.some((f) => f.includes(`/node_modules/${p}`))) };
    },
  };
}

/** Run `node [nodeArgs] args` with the module log, in `dir` (a scratch directory for the hook and the log). */
export function runLogged(dir: string, nodeArgs: string[], args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): LoggedRun {
  const { hook, log, read } = moduleLog(dir);
  const r = spawnSync(process.execPath, ['--require', hook, ...nodeArgs, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env, DROVER_MODULE_LOG: log }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ...read() };
}
