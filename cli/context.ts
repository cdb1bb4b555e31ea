import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { awsConfigFromEnv, type AwsConfig } from '../aws/clients';
import { currentAwsTarget, currentTemporalConnection, describeAwsTarget, endpointOverrides, type AwsTarget } from '../config/endpoints';
import { describeTemporal, type TemporalConnection } from '../config/temporal';
import { formatProblems, loadRunbookFile, parseRunbook } from '../runbooks/load';
import type { Runbook } from '../runbooks/schema';
import { runbookRef, type RunbookRef } from '../runbooks/source';
import { CliError, EXIT, type CliIO } from './io';

/** Load and validate a runbook, or fail with its path-qualified problems (exit 2). */
export function loadRunbookOrThrow(file: string): Runbook {
  const result = loadRunbookFile(file);
  if (!result.ok) throw new CliError(`${file} is not a valid runbook`, EXIT.USAGE, formatProblems(file, result.problems));
  return result.runbook;
}

/**
 * Load and validate a runbook to start a run of it: the runbook, and the reference the run carries (its
 * name and the digest of the file validated here). The workers run their own copy, refused if it differs.
 */
export function loadRunbookForRun(file: string): { runbook: Runbook; ref: RunbookRef } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`${file} is not a valid runbook`, EXIT.USAGE, formatProblems(file, [{ path: '', message: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]));
  }
  const result = parseRunbook(text);
  if (!result.ok) throw new CliError(`${file} is not a valid runbook`, EXIT.USAGE, formatProblems(file, result.problems));
  return { runbook: result.runbook, ref: runbookRef(result.runbook.name, text) };
}

/**
 * Where this invocation's calls go, said once per system before the first call: `drover → Temporal …` and
 * `drover → AWS …` on the invocation's note channel (stderr). Runs' own AWS calls are their workers' (each
 * worker prints its target when it starts); the AWS line names where this command itself reads or writes.
 */
let targets: { io?: CliIO; said: Set<'aws' | 'temporal'> } = { said: new Set() };

/** Start an invocation: its target lines go to `io`, each once. */
export function announceTargetsTo(io: CliIO): void {
  targets = { io, said: new Set() };
}

function announce(system: 'aws' | 'temporal', line: string): void {
  if (targets.said.has(system)) return;
  targets.said.add(system);
  targets.io?.note?.(`drover → ${line}`);
}

/**
 * AWS configuration, by the emulator rule (config/endpoints.ts resolveAwsTarget): AWS_ENDPOINT_URL; else
 * DROVER_PROFILE (dev: the dev stack's moto, aws: real AWS); else the dev stack's moto only when this machine
 * has no real AWS configuration. Refused (exit 2) when the dev stack runs beside a real configuration and
 * nothing says which is meant, or when DROVER_PROFILE is wrong.
 */
export function awsConfig(target: AwsTarget = currentAwsTarget(), say = true): AwsConfig {
  if (target.kind === 'invalid') throw new CliError('invalid options', EXIT.USAGE, [target.problem]);
  if (target.kind === 'ambiguous') {
    throw new CliError(`which AWS? ${describeAwsTarget(target)}`, EXIT.USAGE, [
      "DROVER_PROFILE=dev: use the dev stack's emulator",
      'DROVER_PROFILE=aws: use real AWS (the dev stack keeps running)',
      'or name an endpoint with AWS_ENDPOINT_URL',
    ]);
  }
  if (say) {
    const overrides = endpointOverrides();
    announce('aws', `${describeAwsTarget(target)}${overrides.length ? `; overridden by ${overrides.join(', ')}` : ''}`);
  }
  const env = { ...process.env };
  if (target.kind === 'dev-stack') env.AWS_ENDPOINT_URL = target.endpoint;
  if (target.kind === 'aws') delete env.AWS_ENDPOINT_URL;
  return awsConfigFromEnv(env);
}

/** Run `fn` with a Temporal client on the configured server (or `on`), closing the connection afterwards. */
export async function withClient<T>(fn: (client: Client) => Promise<T>, on?: TemporalConnection): Promise<T> {
  // The Temporal client (gRPC and protobufs) loads only in the commands that connect.
  const { connectClient, usableTemporalConfig } = await import('./temporal');
  const target = on ?? usableTemporalConfig(currentTemporalConnection);
  announce('temporal', describeTemporal(target));
  const { client, close } = await connectClient(target);
  try {
    return await fn(client);
  } finally {
    await close();
  }
}

/**
 * Like `withClient`, for commands that can do without Temporal (plans): when the server cannot be reached,
 * `fn` runs without a client, told why. An error after connecting is the command's own and is not retried.
 */
export async function withClientIfReachable<T>(fn: (client: Client | undefined, unreachable?: string) => Promise<T>): Promise<T> {
  let reached = false;
  try {
    return await withClient((client) => {
      reached = true;
      return fn(client);
    });
  } catch (e) {
    if (reached || !(e instanceof CliError) || e.exitCode !== EXIT.UNAVAILABLE) throw e;
    return fn(undefined, e.message);
  }
}

/** The person running the CLI, for `requestedBy` when not given. */
export function currentUser(): string {
  return process.env.DROVER_USER ?? process.env.USER ?? process.env.LOGNAME ?? 'unknown';
}
