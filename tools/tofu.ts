import path from 'node:path';
import { toolsDir } from '../config/home';
import { buildGoTool } from './go-build';
import { checkExecutable, isExecutable, withLock } from './install';

/** The pinned OpenTofu release, built from its Go module (the proxy is reachable where GitHub releases may not be). */
export const TOFU_PIN = { module: 'github.com/opentofu/opentofu', version: 'v1.10.10' } as const;

const TOFU_PACKAGE = `${TOFU_PIN.module}/cmd/tofu`;
// What OpenTofu's own release build sets (.goreleaser.yaml): without dev=no, `tofu version` says "-dev".
const LDFLAGS = `-s -w -X '${TOFU_PIN.module}/version.dev=no'`;

type Log = (line: string) => void;

/** Where the pinned build is cached: `<toolsDir>/opentofu-<version>/tofu`. */
export function tofuPath(): string {
  return path.join(toolsDir(), `opentofu-${TOFU_PIN.version.replace(/^v/, '')}`, 'tofu');
}

/**
 * The OpenTofu binary drover runs: `$DROVER_TOFU` when set, else the cached pinned build, else a
 * fresh build with the local Go toolchain (minutes, once). Throws an Error with a one-line message.
 */
export async function ensureTofu(opts: { log?: Log } = {}): Promise<string> {
  const log = opts.log ?? (() => undefined);
  const override = process.env.DROVER_TOFU;
  if (override) return checkExecutable(override, 'DROVER_TOFU');
  const bin = tofuPath();
  if (isExecutable(bin)) return bin;
  return withLock(async () => {
    if (isExecutable(bin)) return bin; // another process built it while we waited for the lock
    await buildTofu(bin, log);
    return bin;
  }, log);
}

/**
 * The OpenTofu (or Terraform) binary a rebuild runs: the runbook's if it names one, else ensureTofu().
 * The worker injects it into the IaC activities (ActivityDeps.iac.binary).
 */
export async function resolveTofu(preferred?: string): Promise<string> {
  return preferred ?? ensureTofu();
}

/** OpenTofu's build: its go.mod has replace directives, so it is built in a throwaway main module (tools/go-build.ts). */
function buildTofu(dest: string, log: Log): Promise<void> {
  return buildGoTool(
    {
      name: 'OpenTofu',
      module: TOFU_PIN.module,
      version: TOFU_PIN.version,
      pkg: TOFU_PACKAGE,
      ldflags: LDFLAGS,
      versionArgs: ['version'],
      // stderr is mixed in (e.g. CLI configuration warnings): look for the version line itself.
      reportedVersion: (output) => /^OpenTofu (\S+)$/m.exec(output)?.[1],
      withoutGo: 'install Go, or set DROVER_TOFU to a tofu or terraform binary',
    },
    dest,
    log,
  );
}
