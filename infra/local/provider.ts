import fs from 'node:fs';
import path from 'node:path';
import { toolsDir } from '../../config/home';
import { lastLine, runCommand } from '../../processes/supervisor';
import { findOnPath, isExecutable, withLock } from '../../tools/install';

/**
 * The Terraform AWS provider, built from Go modules (no provider registry is reachable).
 * The Go module proxy serves no v6 tag of this module (its path lacks /v6), and the one reachable here
 * serves a single pseudo-version: main at 2026-06-02 (version/VERSION says 6.47.1). `version` is what tofu sees in the
 * mirror, so a configuration pinning another version (the CDKTF bindings write "6.25.0") must be
 * overridden to this one.
 */
export const AWS_PROVIDER_PIN = {
  version: '6.47.1',
  module: 'github.com/hashicorp/terraform-provider-aws@v1.60.1-0.20260602190131-5f2286d6d836',
} as const;

const HOSTS = ['registry.opentofu.org', 'registry.terraform.io'] as const;
const BUILD_TIMEOUT_MS = 90 * 60_000;

type Log = (line: string) => void;

/** The filesystem mirror `ensureAwsProvider` builds: `$DROVER_AWS_PROVIDER_MIRROR` or one under the tools dir. */
export function awsProviderMirrorDir(): string {
  return process.env.DROVER_AWS_PROVIDER_MIRROR ?? path.join(toolsDir(), `aws-provider-mirror-${AWS_PROVIDER_PIN.version}`);
}

function platform(): string {
  const arch = ({ x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' } as Record<string, string>)[process.arch] ?? process.arch;
  return `${process.platform}_${arch}`;
}

/** Where tofu looks for the plugin inside an unpacked filesystem mirror. */
function pluginPath(mirror: string, host: string): string {
  const v = AWS_PROVIDER_PIN.version;
  return path.join(mirror, host, 'hashicorp', 'aws', v, platform(), `terraform-provider-aws_v${v}`);
}

/**
 * Return a filesystem-mirror directory holding hashicorp/aws for both registry hostnames, building
 * the provider with `go install` on first use. Measured on 2 cores: ~1 min of downloads, 25-45 min
 * of compiling, a 9 GB peak RSS in the linker, a 0.9 GB binary; the 1.4 GB module cache and 8 GB
 * build cache are private to the build and removed after it succeeds (kept to resume after a failure).
 * Throws an Error with a one-line message when it cannot be built.
 */
export async function ensureAwsProvider(opts: { log?: Log } = {}): Promise<string> {
  const log = opts.log ?? (() => undefined);
  const override = process.env.DROVER_AWS_PROVIDER_MIRROR;
  if (override) {
    if (!fs.statSync(override, { throwIfNoEntry: false })?.isDirectory()) {
      throw new Error(`DROVER_AWS_PROVIDER_MIRROR=${override} is not a directory`);
    }
    return path.resolve(override);
  }
  const mirror = awsProviderMirrorDir();
  if (isExecutable(pluginPath(mirror, HOSTS[0]))) return mirror;
  // Its own lock: the 25-45 min build must not hold up the quick installs, nor count as stale.
  return withLock(async () => {
    if (isExecutable(pluginPath(mirror, HOSTS[0]))) return mirror;
    const goCmd = findOnPath('go');
    if (!goCmd) throw new Error('cannot build the Terraform AWS provider: no go toolchain is on PATH');
    const tmp = `${mirror}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    const gobin = path.join(tmp, 'bin');
    const caches = path.join(toolsDir(), 'aws-provider-build');
    log(`building the Terraform AWS provider ${AWS_PROVIDER_PIN.version} with go install (first run only; takes many minutes)`);
    const ldflags = `-s -w -X github.com/hashicorp/terraform-provider-aws/version.ProviderVersion=${AWS_PROVIDER_PIN.version}`;
    const r = await runCommand(goCmd, ['install', '-trimpath', `-ldflags=${ldflags}`, AWS_PROVIDER_PIN.module], {
      env: {
        ...process.env,
        GOBIN: gobin,
        GOMODCACHE: path.join(caches, 'gomod'),
        GOCACHE: path.join(caches, 'gocache'),
        GOFLAGS: `${process.env.GOFLAGS ?? ''} -modcacherw`.trim(),
        CGO_ENABLED: '0',
      },
      timeoutMs: BUILD_TIMEOUT_MS,
    });
    const built = path.join(gobin, 'terraform-provider-aws');
    if (r.code !== 0 || !isExecutable(built)) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw new Error(`cannot build the Terraform AWS provider: go install failed: ${lastLine(r.output)}`);
    }
    for (const host of HOSTS) {
      const dest = pluginPath(tmp, host);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.linkSync(built, dest);
    }
    fs.rmSync(built);
    fs.rmdirSync(gobin);
    fs.rmSync(mirror, { recursive: true, force: true });
    fs.renameSync(tmp, mirror);
    fs.rmSync(caches, { recursive: true, force: true });
    return mirror;
  }, log, { name: '.aws-provider.lock', waitMs: BUILD_TIMEOUT_MS + 10 * 60_000, staleMs: BUILD_TIMEOUT_MS + 10 * 60_000 });
}

/**
 * Write an OpenTofu CLI config (use it with TF_CLI_CONFIG_FILE) that installs hashicorp/aws only
 * from `mirrorDir`. With no `direct` block every other registry provider is uninstallable, which is
 * intended offline; built-in providers (terraform_data) need no installation.
 */
export function writeTofuCliConfig(file: string, mirrorDir: string): void {
  const include = HOSTS.map((h) => JSON.stringify(`${h}/hashicorp/aws`)).join(', ');
  const text = [
    'provider_installation {',
    '  filesystem_mirror {',
    `    path    = ${JSON.stringify(path.resolve(mirrorDir))}`,
    `    include = [${include}]`,
    '  }',
    '}',
    '',
  ].join('\n');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

