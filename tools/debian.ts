import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { lastLine, superviseProcess, type CommandResult } from '../processes/supervisor';
import { findOnPath, withLock } from './install';

// Debian's own packages at pinned versions, fetched with `apt-get download` and unpacked with `dpkg -x` into a
// directory of the tools dir. Nothing is installed system-wide, so the machine's own copy (if any) is never used
// or touched. Used for the test engines (infra/engines/install.ts) and the TLS terminator (test/harness/tls-terminator.ts).

type Log = (line: string) => void;

export interface DebianPin {
  /** The Debian package. */
  name: string;
  /** The preferred exact version. */
  version: string;
  /** The version prefix the fallback must keep (the major series). */
  series: string;
}

/** A set of packages unpacked together into one tree. */
export interface DebianSet<T> {
  /** What the errors call it: "the database engines". */
  label: string;
  /** Where its trees and downloaded .debs live. */
  dir: string;
  /** The install lock's name in the tools dir. */
  lockName: string;
  packages: readonly DebianPin[];
  /** What the unpacked tree holds; throws when something is missing (the tree is then not kept). */
  contents(root: string, versions: Record<string, string>): T;
}

const APT_TIMEOUT_MS = 10 * 60_000;

function hashOf(versions: Record<string, string>): string {
  return createHash('sha256').update(JSON.stringify(Object.entries(versions).sort())).digest('hex').slice(0, 12);
}

function pinnedVersions(set: DebianSet<unknown>): Record<string, string> {
  return Object.fromEntries(set.packages.map((p) => [p.name, p.version]));
}

function rootFor(set: DebianSet<unknown>, versions: Record<string, string>): string {
  return path.join(set.dir, `root-${hashOf(versions)}`);
}

/** Written after a fallback: the pins' hash names the tree actually unpacked, so a warm start needs no apt at all. */
function resolvedFile(set: DebianSet<unknown>): string {
  return path.join(set.dir, `resolved-${hashOf(pinnedVersions(set))}.json`);
}

/**
 * The set's tree, unpacked on first use under its directory. Debian replaces a point release in the archive when a
 * security update lands, so an exact pin can vanish: then the candidate of the same package is used (same series),
 * and a line says so. Throws an Error with a one-line message when the packages cannot be installed.
 */
export async function ensureDebianSet<T>(set: DebianSet<T>, opts: { log?: Log } = {}): Promise<T> {
  const log = opts.log ?? (() => undefined);
  const ready = installedTree(set);
  if (ready) return ready;
  return withLock(
    async () => {
      const again = installedTree(set);
      if (again) return again;
      return install(set, log);
    },
    log,
    { name: set.lockName },
  );
}

function installedTree<T>(set: DebianSet<T>): T | undefined {
  const candidates = [rootFor(set, pinnedVersions(set))];
  try {
    const resolved = JSON.parse(fs.readFileSync(resolvedFile(set), 'utf8')) as Record<string, string>;
    candidates.push(rootFor(set, resolved));
  } catch {
    // no fallback recorded
  }
  for (const root of candidates) {
    if (!fs.existsSync(path.join(root, '.complete'))) continue;
    try {
      return set.contents(root, JSON.parse(fs.readFileSync(path.join(root, 'versions.json'), 'utf8')) as Record<string, string>);
    } catch {
      // an unusable tree is reinstalled
    }
  }
  return undefined;
}

/** Must run under the lock. The marker is written last, so an interrupted install is redone. */
async function install<T>(set: DebianSet<T>, log: Log): Promise<T> {
  const tools = { aptGet: findOnPath('apt-get'), aptCache: findOnPath('apt-cache'), dpkg: findOnPath('dpkg') };
  const missing = Object.entries({ 'apt-get': tools.aptGet, 'apt-cache': tools.aptCache, dpkg: tools.dpkg }).filter(([, v]) => !v).map(([k]) => k);
  if (missing.length > 0) {
    throw new Error(`cannot install ${set.label}: ${missing.join(', ')} not on PATH (they are unpacked from Debian packages, so this needs Debian or Ubuntu)`);
  }
  const apt = { get: tools.aptGet!, cache: tools.aptCache!, dpkg: tools.dpkg! };
  const debs = path.join(set.dir, 'debs');
  fs.mkdirSync(debs, { recursive: true });

  let updated = false;
  const update = async (why: string) => {
    if (updated) return false;
    if (process.getuid?.() !== 0) throw new Error(`cannot install ${set.label}: ${why}, and only root can run apt-get update (run it, then retry)`);
    log(`${why}: running apt-get update`);
    const r = await run(apt.get, ['update', '-qq'], { timeoutMs: APT_TIMEOUT_MS });
    if (r.code !== 0) throw new Error(`apt-get update failed: ${lastLine(r.output)}`);
    updated = true;
    return true;
  };

  for (;;) {
    const versions = await resolveVersions(set, apt.cache, update, log);
    const root = rootFor(set, versions);
    const got = await download(apt.get, debs, versions, log);
    if ('stale' in got) {
      // The package lists name a version the mirror has since dropped: fresh lists give the current one.
      if (await update(`the archive no longer has all of ${got.stale}`)) continue;
      throw new Error(`cannot download ${got.stale} even after apt-get update`);
    }
    const files = got.files;
    log(`unpacking ${files.length} packages of ${set.label} into ${root}`);
    const partial = `${root}.partial`;
    fs.rmSync(partial, { recursive: true, force: true });
    fs.rmSync(root, { recursive: true, force: true });
    fs.mkdirSync(partial, { recursive: true });
    for (const file of files) {
      const r = await run(apt.dpkg, ['-x', file, partial], { timeoutMs: APT_TIMEOUT_MS });
      if (r.code !== 0) throw new Error(`dpkg -x ${path.basename(file)} failed: ${lastLine(r.output)}`);
    }
    fs.writeFileSync(path.join(partial, 'versions.json'), `${JSON.stringify(versions, null, 2)}\n`);
    set.contents(partial, versions); // throws if something is missing
    fs.renameSync(partial, root);
    fs.writeFileSync(path.join(root, '.complete'), `${new Date().toISOString()}\n`);
    if (root !== rootFor(set, pinnedVersions(set))) fs.writeFileSync(resolvedFile(set), `${JSON.stringify(versions)}\n`);
    return set.contents(root, versions);
  }
}

/** The version of each package to fetch: the pin if the archive has it, else the candidate of the same series. */
async function resolveVersions(set: DebianSet<unknown>, aptCache: string, update: (why: string) => Promise<boolean>, log: Log): Promise<Record<string, string>> {
  const names = set.packages.map((p) => p.name);
  for (;;) {
    const r = await run(aptCache, ['policy', ...names], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`apt-cache policy failed: ${lastLine(r.output)}`);
    const policy = parsePolicy(r.output);
    const unknown = names.filter((n) => !policy.get(n)?.candidate);
    if (unknown.length > 0) {
      if (await update(`apt knows no candidate for ${unknown.join(', ')} (no package lists?)`)) continue;
      throw new Error(`cannot install ${set.label}: apt has no candidate for ${unknown.join(', ')} even after apt-get update (is the Debian bookworm archive in sources.list?)`);
    }
    const versions: Record<string, string> = {};
    for (const pin of set.packages) {
      const { candidate, versions: known } = policy.get(pin.name)!;
      if (known.includes(pin.version)) {
        versions[pin.name] = pin.version;
        continue;
      }
      if (!candidate!.startsWith(pin.series)) {
        throw new Error(`cannot install ${set.label}: ${pin.name} ${pin.version} is gone from the archive and its candidate ${candidate} is not of series ${pin.series}*`);
      }
      log(`${pin.name}=${pin.version} is no longer in the archive; using its candidate ${candidate} (same series)`);
      versions[pin.name] = candidate!;
    }
    return versions;
  }
}

/** `apt-cache policy` output: each package's candidate and the versions its version table lists. */
export function parsePolicy(output: string): Map<string, { candidate?: string; versions: string[] }> {
  const out = new Map<string, { candidate?: string; versions: string[] }>();
  let current: { candidate?: string; versions: string[] } | undefined;
  for (const line of output.split('\n')) {
    const head = /^(\S+):$/.exec(line);
    if (head) {
      current = { versions: [] };
      out.set(head[1], current);
      continue;
    }
    if (!current) continue;
    const cand = /^\s+Candidate:\s+(\S+)/.exec(line);
    if (cand) {
      if (cand[1] !== '(none)') current.candidate = cand[1];
      continue;
    }
    // Version-table rows: "     15.20-0+deb12u1 500" or " *** 15.18-0+deb12u1 500"; origin rows start with a priority.
    const row = /^\s+(?:\*\*\* )?(\S+) -?\d+$/.exec(line);
    if (row && !/^-?\d+$/.test(row[1])) current.versions.push(row[1]);
  }
  return out;
}

/** Fetch the packages into the cache (kept across installs); `stale` when the lists name a version the mirror dropped. */
async function download(aptGet: string, debs: string, versions: Record<string, string>, log: Log): Promise<{ files: string[] } | { stale: string }> {
  const specs = Object.entries(versions).map(([name, version]) => ({ name, version, spec: `${name}=${version}` }));
  const missing = specs.filter((s) => !findDeb(debs, s.name, s.version));
  if (missing.length > 0) {
    // apt-get download writes into its working directory, under the final name: a private one keeps partial files
    // out of the cache. One call for all (each apt start reads the lists: half a second).
    const work = fs.mkdtempSync(path.join(debs, '.download-'));
    try {
      log(`downloading ${missing.map((s) => s.spec).join(' ')}`);
      const args = ['download', ...missing.map((s) => s.spec)];
      // As root apt drops to _apt for downloads, which cannot write into a root-only cache: it would warn and go on unsandboxed.
      if (process.getuid?.() === 0) args.unshift('-o', 'APT::Sandbox::User=root');
      const r = await run(aptGet, args, { cwd: work, timeoutMs: APT_TIMEOUT_MS });
      if (r.code !== 0) {
        if (/\b404\b|Failed to fetch|was not found/i.test(r.output)) return { stale: missing.map((s) => s.spec).join(' ') };
        throw new Error(`apt-get download failed: ${lastLine(r.output)}`);
      }
      for (const s of missing) {
        const got = findDeb(work, s.name, s.version);
        if (!got) throw new Error(`apt-get download ${s.spec} left no .deb in ${work}`);
        fs.renameSync(got, path.join(debs, path.basename(got)));
      }
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
  return { files: specs.map((s) => findDeb(debs, s.name, s.version)!) };
}

/** apt names a download `<name>_<version, ':' as %3a>_<arch>.deb`. */
function findDeb(dir: string, name: string, version: string): string | undefined {
  const prefix = `${name}_${version.replace(/:/g, '%3a')}_`;
  const hit = fs.readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.deb'));
  return hit ? path.join(dir, hit) : undefined;
}

/** usr/lib/<triplet> (x86_64-linux-gnu, aarch64-linux-gnu...) of an unpacked tree: where its shared libraries are. */
export function multiarchLibDir(root: string, holding: string): string {
  const lib = path.join(root, 'usr', 'lib');
  const dir = fs.readdirSync(lib).find((d) => d.endsWith('-linux-gnu') && fs.existsSync(path.join(lib, d, holding)));
  if (!dir) throw new Error(`the packages unpacked into ${root} hold no usr/lib/<arch>-linux-gnu/${holding}`);
  return path.join(lib, dir);
}

/** runCommand with a working directory (apt-get download writes into it). */
async function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs: number }): Promise<CommandResult> {
  const r = await superviseProcess(cmd, args, { cwd: opts.cwd, env: { ...process.env, LC_ALL: 'C' }, timeoutMs: opts.timeoutMs, stopSignal: 'SIGKILL', graceMs: 1_000 });
  if (r.spawnError) return { code: -1, output: `${cmd}: ${r.spawnError.message}` };
  if (r.interrupted) return { code: r.code, output: `${r.tail}\ntimed out after ${Math.round(opts.timeoutMs / 1000)} s` };
  return { code: r.code, output: r.tail };
}
