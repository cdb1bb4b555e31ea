import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { toolsDir } from '../../config/home';
import { lastLine, runCommand } from '../../processes/supervisor';
import { checkExecutable, findOnPath, isExecutable, withLock } from '../../tools/install';

/**
 * The Temporal time-skipping test server for the workflow tests (TestWorkflowEnvironment.createTimeSkipping).
 * The SDK would download a native build from Temporal's own site, which CI cannot reach; the same server
 * ships as a Java artifact on Maven Central, so it is installed from there with mvn, at a pinned version,
 * into `<tools dir>/temporal-test-server-<version>/` (`~/.cache/drover/tools` by default), and run through a
 * wrapper script that the SDK starts as `wrapper <port> [flags]`.
 */
export const TEST_SERVER_PIN = { groupId: 'io.temporal', artifactId: 'temporal-test-server', version: '1.38.0' } as const;
export const TEST_SERVER_MAIN = 'io.temporal.testserver.TestServer';

/**
 * JVM flags for a fast start: the SDK gives the server 5 s to answer after it starts it. Class data
 * sharing (an archive of the classes a start loads, made at install) cuts a cold JVM start from about
 * 3.5 s to about 1 s on a 2-core machine; C1 only and the serial collector cut the rest.
 */
/** The Maven plugin that copies the server's jars, pinned. */
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
const JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xshare:auto'];

type Log = (line: string) => void;

/** Where the pinned version is installed. */
export function testServerDir(version: string = TEST_SERVER_PIN.version): string {
  return path.join(toolsDir(), `temporal-test-server-${version}`);
}

/** The executable the SDK runs (`existing-path`). */
export function testServerWrapper(version: string = TEST_SERVER_PIN.version): string {
  return path.join(testServerDir(version), 'bin', 'temporal-test-server');
}

interface InstallRecord {
  version: string;
  java: string;
  classpath: string[];
  archive?: string;
}

/**
 * The test server's executable, installing it on first use (mvn and a JDK >= 11 on PATH, or JAVA_HOME).
 * `$DROVER_TEST_SERVER` names another executable to use as it is (the SDK's native build, a wrapper).
 * Throws an Error with a one-line message when it cannot be installed.
 */
export async function ensureTestServer(opts: { log?: Log } = {}): Promise<string> {
  const log = opts.log ?? (() => undefined);
  const override = process.env.DROVER_TEST_SERVER;
  if (override) return checkExecutable(override, 'DROVER_TEST_SERVER');
  if (installed()) return testServerWrapper();
  return withLock(async () => {
    if (installed()) return testServerWrapper();
    await install(log);
    return testServerWrapper();
  }, log, { name: `.temporal-test-server-${TEST_SERVER_PIN.version}.lock`, waitMs: 20 * 60_000, staleMs: 20 * 60_000 });
}

function recordFile(dir = testServerDir()): string {
  return path.join(dir, 'install.json');
}

/** Complete (the record is written last) and still runnable: its Java and jars are where they were. */
function installed(): boolean {
  let rec: InstallRecord;
  try {
    rec = JSON.parse(fs.readFileSync(recordFile(), 'utf8')) as InstallRecord;
  } catch {
    return false;
  }
  return rec.version === TEST_SERVER_PIN.version && isExecutable(rec.java) && rec.classpath.every((j) => fs.existsSync(j)) && isExecutable(testServerWrapper());
}

function findJava(): string {
  const home = process.env.JAVA_HOME;
  const fromHome = home ? path.join(home, 'bin', 'java') : undefined;
  const java = fromHome && isExecutable(fromHome) ? fromHome : findOnPath('java');
  if (!java) throw new Error('cannot install the Temporal test server: no java on PATH (install a JDK >= 11, or set JAVA_HOME)');
  return fs.realpathSync(java);
}

/** Must run under the lock. */
async function install(log: Log): Promise<void> {
  const { groupId, artifactId, version } = TEST_SERVER_PIN;
  const java = findJava();
  const mvn = findOnPath('mvn');
  if (!mvn) throw new Error(`cannot install the Temporal test server: no mvn on PATH to fetch ${groupId}:${artifactId}:${version} from Maven Central`);
  const dir = testServerDir();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });

  log(`installing ${groupId}:${artifactId}:${version} with its dependencies into ${dir} (first run only)`);
  // A throwaway project whose one dependency is the server: copy-dependencies puts its runtime jars in lib/.
  const pom = path.join(dir, 'pom.xml');
  fs.writeFileSync(pom, [
    '<project xmlns="http://maven.apache.org/POM/4.0.0">',
    '  <modelVersion>4.0.0</modelVersion>',
    '  <groupId>drover.local</groupId><artifactId>temporal-test-server-install</artifactId><version>1</version>',
    '  <packaging>pom</packaging>',
    `  <dependencies><dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${version}</version></dependency></dependencies>`,
    '</project>',
    '',
  ].join('\n'));
  const lib = path.join(dir, 'lib');
  // The plugin is pinned (an unpinned `dependency:` prefix resolves to whatever the local Maven defaults to), and
  // Maven's downloads stay under ~/.cache/drover like every other tool drover installs, not in ~/.m2.
  const repo = path.join(toolsDir(), 'maven-repository');
  const r = await runCommand(mvn, ['-B', '-q', '-f', pom, `-Dmaven.repo.local=${repo}`, `${DEPENDENCY_PLUGIN}:copy-dependencies`, `-DoutputDirectory=${lib}`, '-DincludeScope=runtime'], { timeoutMs: 15 * 60_000 });
  if (r.code !== 0) throw new Error(`cannot install the Temporal test server: mvn dependency:copy-dependencies failed: ${lastLine(r.output)}`);
  const classpath = fs.existsSync(lib) ? fs.readdirSync(lib).filter((f) => f.endsWith('.jar')).sort().map((f) => path.join(lib, f)) : [];
  if (!classpath.some((j) => path.basename(j) === `${artifactId}-${version}.jar`)) {
    throw new Error(`cannot install the Temporal test server: mvn put no ${artifactId}-${version}.jar in ${lib}`);
  }

  const archive = path.join(dir, 'classes.jsa');
  try {
    await dumpClassArchive(java, classpath, archive);
  } catch (e) {
    // Only slower: the JVM starts without it.
    log(`no class data archive for the test server (${(e as Error).message}); it will start slower`);
    fs.rmSync(archive, { force: true });
  }
  const hasArchive = fs.existsSync(archive);
  writeWrapper(testServerWrapper(), java, classpath, hasArchive ? archive : undefined);
  const rec: InstallRecord = { version, java, classpath, ...(hasArchive ? { archive } : {}) };
  fs.writeFileSync(recordFile(), `${JSON.stringify(rec, null, 2)}\n`);
  log(`Temporal test server ${version} installed: ${testServerWrapper()}`);
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The wrapper the SDK runs as `<wrapper> <port> [flags]`. It becomes the JVM (exec), so the SDK's kill (at
 * teardown, or when the server misses its start window) stops the server; a watchdog also stops it when
 * the process that started it is gone (a test worker killed), where /proc exists. Its output goes to
 * `$DROVER_TEST_SERVER_LOG`, else nowhere.
 */
function writeWrapper(file: string, java: string, classpath: string[], archive?: string): void {
  const flags = [...JVM_FLAGS, ...(archive ? [`-XX:SharedArchiveFile=${archive}`] : [])];
  const script = [
    '#!/bin/sh',
    `# The Temporal time-skipping test server ${TEST_SERVER_PIN.version} (Maven Central), installed by drover's infra/local/testserver.ts.`,
    '# Usage: temporal-test-server <port> [--enable-time-skipping]',
    'self=$$',
    'parent=$PPID',
    '(',
    '  while kill -0 "$parent" 2>/dev/null && kill -0 "$self" 2>/dev/null; do sleep 1; done',
    `  if ! kill -0 "$parent" 2>/dev/null && grep -q ${q(TEST_SERVER_MAIN)} "/proc/$self/cmdline" 2>/dev/null; then kill "$self"; fi`,
    ') </dev/null >/dev/null 2>&1 &',
    `exec ${q(java)} ${flags.map(q).join(' ')} -cp ${q(classpath.join(path.delimiter))} ${TEST_SERVER_MAIN} "$@" >>"\${DROVER_TEST_SERVER_LOG:-/dev/null}" 2>&1`,
    '',
  ].join('\n');
  fs.writeFileSync(file, script, { mode: 0o755 });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Start the server once with -XX:ArchiveClassesAtExit, answer one gRPC call (what the SDK's readiness
 * check does), and stop it: the JVM writes the classes it loaded to `archive` as it exits.
 */
async function dumpClassArchive(java: string, classpath: string[], archive: string): Promise<void> {
  const port = await freePort();
  const child = spawn(java, [...JVM_FLAGS, `-XX:ArchiveClassesAtExit=${archive}`, '-cp', classpath.join(path.delimiter), TEST_SERVER_MAIN, String(port)], { stdio: 'ignore' });
  // 'close' also comes when the JVM could not be started at all ('exit' then never does).
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (spawnError) throw spawnError;
      if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode} before answering`);
      try {
        const connection = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 2_000 });
        await connection.close();
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`the server did not answer on port ${port} within 60 s: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    // SIGTERM: a normal JVM exit, which writes the archive.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
  if (!fs.existsSync(archive)) throw new Error('the JVM wrote no archive');
}
