import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { awsConfigFromEnv, type AwsConfig } from '../aws/clients';
import { resolveEndpoints } from '../config/endpoints';
import { formatProblems, loadRunbookFile, parseRunbook } from '../runbooks/load';
import type { Runbook } from '../runbooks/schema';
import { runbookRef, type RunbookRef } from '../runbooks/source';
import { CliError, EXIT } from './io';
import { connectClient } from './temporal';

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

/** AWS configuration: the environment, else the embedded stack's emulator when `drover dev up` runs. */
export function awsConfig(): AwsConfig {
  const { awsEndpoint } = resolveEndpoints();
  const env = { ...process.env };
  if (!env.AWS_ENDPOINT_URL && awsEndpoint) env.AWS_ENDPOINT_URL = awsEndpoint;
  return awsConfigFromEnv(env);
}

/** Run `fn` with a Temporal client on the configured server, closing the connection afterwards. */
export async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const { client, close } = await connectClient(resolveEndpoints().temporalAddress);
  try {
    return await fn(client);
  } finally {
    await close();
  }
}

/** The person running the CLI, for `requestedBy` when not given. */
export function currentUser(): string {
  return process.env.DROVER_USER ?? process.env.USER ?? process.env.LOGNAME ?? 'unknown';
}
