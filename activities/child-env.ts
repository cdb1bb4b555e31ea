import path from 'node:path';
import { hookVariableRefusal } from '../runbooks/schema';

// The environment of a command drover runs for the team (the redeploy hook, a CDK for Terraform app's synth): built,
// not inherited, so the worker's credentials and settings never reach it.

/**
 * What the redeploy hook inherits from the worker's environment, and nothing else: the command search
 * path, the locale and time zone, the temporary directory, and how to reach the network (proxies and
 * CA bundles, as the worker reaches AWS). Never the worker's AWS credentials (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, the container and web-identity credential
 * variables), Temporal's or drover's own settings (TEMPORAL_*, DROVER_*), or anything else the runbook
 * does not name in `rebuild.redeploy.passEnv`.
 */
export const HOOK_INHERITED_ENV = [
  'PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR',
  'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
] as const;

/**
 * A search path with its empty and relative entries dropped: each of those means "the hook's current
 * directory" (or a directory under it), where whatever wrote a file would choose the program a hook runs.
 * `undefined` when no entry is left (the child then gets the system's default search path).
 */
function absoluteSearchPath(value: string | undefined): string | undefined {
  const kept = (value ?? '').split(':').filter((entry) => path.isAbsolute(entry));
  return kept.length > 0 ? kept.join(':') : undefined;
}

/**
 * What a command drover runs for the team (the redeploy hook, a CDK for Terraform app's synth) takes from the worker's
 * environment: HOOK_INHERITED_ENV and the names in `passEnv`, each when set, never a name hookVariableRefusal
 * refuses; PATH without its empty or relative entries (absent when none is left).
 */
export function inheritedEnvironment(worker: NodeJS.ProcessEnv, passEnv: readonly string[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...HOOK_INHERITED_ENV, ...passEnv]) {
    const value = worker[name];
    if (value !== undefined && hookVariableRefusal(name) === undefined) env[name] = value;
  }
  const searchPath = absoluteSearchPath(env.PATH);
  if (searchPath === undefined) delete env.PATH;
  else env.PATH = searchPath;
  return env;
}

