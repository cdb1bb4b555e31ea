import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processAlive } from '../processes/supervisor';
import { readDevState } from './dev-state';
import { temporalConnection, temporalProfile, type TemporalConnection } from './temporal';

/**
 * Where drover commands find their servers: Temporal's address from its environment configuration
 * (`TEMPORAL_ADDRESS`, else the `TEMPORAL_PROFILE` profile's: config/temporal.ts), else the running `drover dev`
 * stack, else `127.0.0.1:7233`; AWS as `resolveAwsTarget` decides (`awsEndpoint` is set only for an emulator
 * or an explicit `AWS_ENDPOINT_URL`).
 */
export function resolveEndpoints(): { temporalAddress: string; awsEndpoint?: string } {
  const { temporal, moto } = liveDevStack();
  const temporalAddress = temporalProfile().profile.address || temporal || '127.0.0.1:7233';
  const aws = resolveAwsTarget({ devMoto: moto });
  return aws.kind === 'endpoint' || aws.kind === 'dev-stack' ? { temporalAddress, awsEndpoint: aws.endpoint } : { temporalAddress };
}

/** How to connect to Temporal (address, namespace, TLS, API key), the dev stack's address as the fallback. Throws TemporalConfigError. */
export function currentTemporalConnection(): TemporalConnection {
  return temporalConnection(process.env, liveDevStack().temporal);
}

/** The dev stack's servers, when their processes are alive (a state file left by a crash or reboot must not win). */
function liveDevStack(): { temporal?: string; moto?: string } {
  const state = readDevState();
  const t = state?.temporal && processAlive(state.temporal.pid, state.temporal.bin) ? state.temporal : undefined;
  const m = state?.moto && processAlive(state.moto.pid, state.moto.bin) ? state.moto : undefined;
  return { temporal: t?.address, moto: m?.endpoint };
}

/** Where AWS calls go, and why. */
export type AwsTarget =
  /** AWS_ENDPOINT_URL names an endpoint (an emulator, a proxy): it always wins. */
  | { kind: 'endpoint'; endpoint: string }
  /** The dev stack's moto: asked for with DROVER_PROFILE=dev, or the only AWS this machine has. */
  | { kind: 'dev-stack'; endpoint: string; why: string }
  /** AWS's own endpoints. */
  | { kind: 'aws'; why: string }
  /** The dev stack runs and a real AWS configuration exists, and nothing says which is meant. */
  | { kind: 'ambiguous'; endpoint: string; real: string }
  /** DROVER_PROFILE names no profile, or asks for the dev stack when it is not running. */
  | { kind: 'invalid'; problem: string };

export const DROVER_PROFILES = ['dev', 'aws'] as const;

/**
 * What says this machine has a real AWS configuration, if anything: credential variables, a profile, a web
 * identity or container credentials, or the shared config and credentials files (the SDK's own sources).
 */
export function realAwsConfiguration(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string | undefined {
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI']) {
    if (env[name]) return name;
  }
  const files = [env.AWS_SHARED_CREDENTIALS_FILE ?? path.join(home, '.aws', 'credentials'), env.AWS_CONFIG_FILE ?? path.join(home, '.aws', 'config')];
  return files.find((f) => fs.existsSync(f));
}

/**
 * The emulator rule. A DROVER_PROFILE that names no profile is refused. `AWS_ENDPOINT_URL` wins. Otherwise `DROVER_PROFILE=dev` means the dev stack's moto
 * (refused when it is not running) and `DROVER_PROFILE=aws` real AWS. Without a profile, the dev stack's
 * moto is used only when this machine has no real AWS configuration; when it has one, drover refuses to
 * guess (a command meant for a real account must never land in the emulator, nor the reverse).
 */
export function resolveAwsTarget(opts: { env?: NodeJS.ProcessEnv; devMoto?: string; real?: string | undefined } = {}): AwsTarget {
  const env = opts.env ?? process.env;
  const profile = env.DROVER_PROFILE;
  if (profile !== undefined && profile !== '' && !(DROVER_PROFILES as readonly string[]).includes(profile)) {
    return { kind: 'invalid', problem: `DROVER_PROFILE: expected "dev" (the dev stack's emulator) or "aws" (real AWS), got "${profile}"` };
  }
  if (env.AWS_ENDPOINT_URL) return { kind: 'endpoint', endpoint: env.AWS_ENDPOINT_URL };
  if (profile === 'aws') return { kind: 'aws', why: 'DROVER_PROFILE=aws' };
  if (profile === 'dev') {
    if (!opts.devMoto) return { kind: 'invalid', problem: "DROVER_PROFILE=dev, but the dev stack's emulator is not running: start it with drover dev up" };
    return { kind: 'dev-stack', endpoint: opts.devMoto, why: 'DROVER_PROFILE=dev' };
  }
  if (!opts.devMoto) return { kind: 'aws', why: 'no AWS_ENDPOINT_URL and no dev stack running' };
  const real = 'real' in opts ? opts.real : realAwsConfiguration(env);
  if (real) return { kind: 'ambiguous', endpoint: opts.devMoto, real };
  return { kind: 'dev-stack', endpoint: opts.devMoto, why: 'the dev stack runs and this machine has no AWS configuration' };
}

/** The AWS target as this process resolves it (the dev stack's state read from DROVER_HOME). */
export function currentAwsTarget(): AwsTarget {
  return resolveAwsTarget({ devMoto: liveDevStack().moto });
}

/**
 * The target of commands that only ever use an emulator (`drover demo`): AWS_ENDPOINT_URL, else the dev
 * stack's moto whatever else this machine has configured (DROVER_PROFILE=dev implied), never real AWS.
 */
export function emulatorTarget(): AwsTarget {
  const env = { ...process.env };
  if (!env.AWS_ENDPOINT_URL) env.DROVER_PROFILE = 'dev';
  return resolveAwsTarget({ env, devMoto: liveDevStack().moto });
}

/**
 * An endpoint without the user and password it may carry (a line printed to a terminal or a CI log must not):
 * everything from after the scheme up to the last `@` goes, whether or not the text parses as a URL.
 */
export function withoutUserinfo(endpoint: string): string {
  return endpoint.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/i, '$1');
}

/** The variables that send some AWS calls elsewhere than the target: drover's per-region endpoints, and the SDK's per-service ones (AWS_ENDPOINT_URL_STS, _RDS, …). */
export function endpointOverrides(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.keys(env)
    .filter((k) => (/^DROVER_ENDPOINT_[A-Z0-9_]+$/.test(k) || /^AWS_ENDPOINT_URL_[A-Z0-9_]+$/.test(k)) && env[k])
    .sort();
}

/** One line naming where AWS calls go: what the worker prints at start, and the refusals quote. */
export function describeAwsTarget(t: AwsTarget): string {
  switch (t.kind) {
    case 'endpoint':
      return `AWS at ${withoutUserinfo(t.endpoint)} (AWS_ENDPOINT_URL)`;
    case 'dev-stack':
      return `AWS emulator: the dev stack's moto at ${t.endpoint} (${t.why})`;
    case 'aws':
      return `real AWS endpoints (${t.why})`;
    case 'ambiguous':
      return `undecided: the dev stack's moto at ${withoutUserinfo(t.endpoint)} runs, and a real AWS configuration exists (${t.real})`;
    case 'invalid':
      return t.problem;
  }
}
