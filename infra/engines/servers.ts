import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { lastLine, runCommand } from '../../processes/supervisor';
import { ensureEngines, type EngineBins } from './install';

// Real PostgreSQL and MariaDB servers for tests: a primary and a streaming replica of each, on loopback, from the
// pinned Debian builds install.ts unpacks. Each pair lives in its own /tmp/drover-engines-* directory, removed by stop().

type Log = (line: string) => void;

export interface EngineServer {
  readonly host: string;
  readonly port: number;
  /** Whether the server process is alive (false after killPrimary, until restartPrimary). */
  readonly running: boolean;
  /** The server's own output, for a failing test's message. */
  readonly logFile: string;
}

/** One server of a pair, by the role it was started in (its role may change since: promote, reseed). */
export type PairSide = 'primary' | 'replica';

export interface EnginePair {
  engine: 'postgres' | 'mariadb';
  /**
   * The server started as the writer, and the one started as its replica. The objects (host, port, log) stay for the
   * pair's life; their roles follow promote and reseed, as an RDS identifier keeps its endpoint while what stands
   * behind it is promoted or re-created.
   */
  primary: EngineServer;
  replica: EngineServer;
  /** 'drover_master': a password login over TCP, superuser (PostgreSQL) or ALL PRIVILEGES (MariaDB). */
  masterUser: string;
  /** 'app', created on the primary and replicated. */
  database: string;
  /** Make the replica a standalone writer (PG: pg_promote(); MariaDB: STOP SLAVE; RESET SLAVE ALL; read_only=0). Idempotent. */
  promoteReplica(): Promise<void>;
  /** Restart the primary (as RDS RebootDBInstance does): every session ends; same port afterwards. Starts a killed one again. */
  restartPrimary(): Promise<void>;
  /** Stop the primary abruptly (SIGKILL to it and its backends) to model a lost region. */
  killPrimary(): Promise<void>;
  /** Make `side` a standalone writer, as promoteReplica() does for the replica (promoteReplica() is promote('replica')). Idempotent. */
  promote(side: PairSide): Promise<void>;
  /** Restart `side` (RebootDBInstance), whatever its role now: same port, its role kept (restartPrimary() is restart('primary')). */
  restart(side: PairSide): Promise<void>;
  /**
   * Make `side` a new replica of the other server, as CreateDBInstanceReadReplica makes one: its data thrown away and
   * taken again from the other, which must be a writer (not replicating itself). PostgreSQL: pg_basebackup of the
   * writer (-R, WAL streamed) started as a hot standby; MariaDB: a fresh data directory and a new server_id (a new RDS
   * instance has one), replaying the writer's binlog from its start as a read-only GTID replica. Same port afterwards;
   * resolves once it replicates and has replayed the writer's position read when it started replicating.
   */
  reseed(side: PairSide): Promise<void>;
  /** Whether `side` replicates from the other now, as its engine says (PostgreSQL: in recovery; MariaDB: a replication source set). */
  replicating(side: PairSide): Promise<boolean>;
  /**
   * MariaDB: `read_only` on or off on `side`, as root (what RDS does when the instance's parameter group's read_only
   * changes; drover_master, like RDS's master user, has no READ_ONLY ADMIN). PostgreSQL has no such switch: refused.
   */
  setReadOnly(side: PairSide, on: boolean): Promise<void>;
  /** Stops both servers and removes their data. */
  stop(): Promise<void>;
}

export interface StartPairOptions {
  /** drover_master's password. */
  masterPassword: string;
  log?: Log;
  /** Binaries from ensureEngines (installed on first use when left out). */
  engines?: EngineBins;
  /** How long each server may take to accept connections (and the replica to catch up); default 60 s. */
  timeoutMs?: number;
  /** PostgreSQL only: serve TLS too (`ssl=on`) with this certificate and key (PEM); plain connections stay allowed. */
  tls?: { cert: string; key: string };
}

export const MASTER_USER = 'drover_master';
export const APP_DATABASE = 'app';
const HOST = '127.0.0.1';
/** PostgreSQL refuses to run as root: as root, the servers run as this system user. */
export const ENGINE_USER = 'drover-engines';

// ---------------------------------------------------------------------------------------------
// Processes

interface RunAs {
  uid: number;
  gid: number;
}

/** Servers alive now, killed (with their children) if this process exits without stopping them; their dirs removed. */
const live = new Set<ServerProcess>();
const pairDirs = new Set<string>();
let exitHook = false;

function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  // Outside Jest (a bench, a script). Inside, `process` is Jest's copy, whose 'exit' never fires: the watchdog covers it.
  process.on('exit', () => {
    for (const s of live) s.killTree();
    for (const d of pairDirs) {
      try {
        fs.rmSync(d, { recursive: true, force: true });
      } catch {
        // best effort: a server still dying may be writing there
      }
    }
  });
}

/**
 * The watchdog: a small Node process holding a pipe from this one. When the pipe closes (this process ended, however:
 * exit, crash, SIGKILL from Jest), it kills the servers still registered, with their children, and removes their
 * directories. A server's pid is killed only while its command line still names its pair directory (no reused pid).
 */
const WATCHDOG = `
const fs = require('fs');
const pids = new Map(), dirs = new Set();
process.on('SIGINT', () => undefined);
let buf = '';
process.stdin.on('data', (b) => {
  const lines = (buf + b).split('\\n');
  buf = lines.pop();
  for (const l of lines) {
    const [op, a, b2] = l.split('\\t');
    if (op === 'pid') pids.set(Number(a), b2); else if (op === 'unpid') pids.delete(Number(a));
    else if (op === 'dir') dirs.add(a); else if (op === 'undir') dirs.delete(a);
  }
});
process.stdin.on('end', () => {
  const children = new Map();
  for (const [pid, mark] of pids) {
    let cmd = '';
    try { cmd = fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8'); } catch { continue; }
    if (!cmd.includes(mark)) continue;
    try { process.kill(pid, 'SIGSTOP'); } catch {}
    if (children.size === 0) for (const e of fs.readdirSync('/proc')) {
      if (!/^\\d+$/.test(e)) continue;
      try {
        const st = fs.readFileSync('/proc/' + e + '/stat', 'utf8');
        const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
        children.set(ppid, [...(children.get(ppid) || []), Number(e)]);
      } catch {}
    }
    const all = [pid];
    for (let i = 0; i < all.length; i++) all.push(...(children.get(all[i]) || []));
    for (const p of all) { try { process.kill(p, 'SIGKILL'); } catch {} }
  }
  setTimeout(() => { for (const d of dirs) { try { fs.rmSync(d, { recursive: true, force: true, maxRetries: 5 }); } catch {} } }, 500);
});
`;

let watchdog: ReturnType<typeof spawn> | undefined;

function tellWatchdog(...fields: string[]): void {
  if (!watchdog) {
    // Detached: a Ctrl-C on the test run must not end it before the servers it watches.
    watchdog = spawn(process.execPath, ['-e', WATCHDOG], { stdio: ['pipe', 'ignore', 'ignore'], detached: true, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    watchdog.on('error', () => undefined);
    watchdog.stdin!.on('error', () => undefined);
    // It must not keep this process alive: neither the child nor the pipe holds the event loop.
    watchdog.unref();
    (watchdog.stdin as unknown as net.Socket).unref();
  }
  watchdog.stdin!.write(`${fields.join('\t')}\n`);
}

class ServerProcess implements EngineServer {
  readonly host = HOST;
  private child?: ReturnType<typeof spawn>;
  private exitedWith?: string;
  private exitWaiters: Array<() => void> = [];

  constructor(
    readonly name: string,
    readonly port: number,
    readonly logFile: string,
    private readonly bin: string,
    private args: string[],
    private readonly spawnOpts: { env: NodeJS.ProcessEnv; cwd: string; runAs?: RunAs },
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.exitedWith === undefined;
  }

  /** The arguments of the next start (a MariaDB server changing role starts read-only or not). */
  setArgs(args: string[]): void {
    this.args = args;
  }

  start(): void {
    installExitHook();
    const fd = fs.openSync(this.logFile, 'a');
    let child;
    try {
      // Not detached: a Ctrl-C on the test run, which ends Node without its 'exit' event, reaches PostgreSQL too.
      child = spawn(this.bin, this.args, { stdio: ['ignore', fd, fd], env: this.spawnOpts.env, cwd: this.spawnOpts.cwd, ...this.spawnOpts.runAs });
    } finally {
      fs.closeSync(fd);
    }
    this.child = child;
    this.exitedWith = undefined;
    child.unref();
    live.add(this);
    if (child.pid) tellWatchdog('pid', String(child.pid), this.spawnOpts.cwd);
    const done = (why: string) => {
      if (this.child !== child || this.exitedWith !== undefined) return;
      this.exitedWith = why;
      live.delete(this);
      if (child.pid) tellWatchdog('unpid', String(child.pid));
      this.exitWaiters.splice(0).forEach((w) => w());
    };
    child.on('error', (e) => done(`could not start: ${e.message}`));
    child.on('exit', (code, sig) => done(sig ? `was killed by ${sig}` : `exited with code ${code}`));
  }

  signal(sig: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid && this.running) signalPid(pid, sig);
  }

  /**
   * SIGKILL the server and every process it started, at once, as a lost host would. A process group is not enough:
   * PostgreSQL's backends each call setsid(), and one whose postmaster died can still answer its open session.
   * The server is stopped first so it forks nothing while its children are listed.
   */
  killTree(): void {
    const pid = this.child?.pid;
    if (!pid || !this.running) return;
    signalPid(pid, 'SIGSTOP');
    for (const p of [pid, ...descendants(pid)]) signalPid(p, 'SIGKILL');
  }

  private waitExit(ms: number): Promise<boolean> {
    if (!this.running) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(!this.running), ms);
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** The polite stop (`sig`), then SIGKILL to the whole group. */
  async stop(sig: NodeJS.Signals, graceMs = 20_000): Promise<void> {
    if (!this.running) return;
    this.signal(sig);
    if (await this.waitExit(graceMs)) return;
    await this.kill();
  }

  async kill(): Promise<void> {
    this.killTree();
    if (!(await this.waitExit(10_000))) throw new Error(`${this.name} (pid ${this.child?.pid}) did not exit after SIGKILL`);
  }

  /** Runs `check` until it passes; fails with the log tail on timeout or if the server exits first. */
  async ready(timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'not answering';
    for (;;) {
      if (!this.running) throw new Error(`${this.name} ${this.exitedWith ?? 'is not running'}${logTail(this.logFile)}`);
      try {
        if (await check()) return;
      } catch (e) {
        last = (e as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`${this.name} was not ready within ${Math.round(timeoutMs / 1000)} s (${last})${logTail(this.logFile)}`);
      await sleep(100);
    }
  }
}

function signalPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone meanwhile
  }
}

/** Every process below `root`, from /proc (Linux). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function logTail(file: string, lines = 15): string {
  try {
    const tail = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).slice(-lines);
    return tail.length ? `; last log lines (${file}):\n${tail.join('\n')}` : ` (log ${file} is empty)`;
  } catch {
    return '';
  }
}

/** Run a command to its end as `runAs` (runCommand cannot switch users), with a timeout. */
function runAs(cmd: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd: string; runAs?: RunAs; timeoutMs: number }): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env, cwd: opts.cwd, ...opts.runAs });
    const keep = (b: Buffer) => {
      output = (output + b.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      output += `\ntimed out after ${Math.round(opts.timeoutMs / 1000)} s`;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, output: `${cmd}: ${e.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output });
    });
  });
}

async function must(what: string, r: Promise<{ code: number; output: string }>): Promise<void> {
  const out = await r;
  if (out.code === 0) return;
  // Every line naming an error: mariadb-install-db's last one is a bare "Aborting", its cause a few lines up.
  const errors = out.output.split('\n').filter((l) => /error|fatal|abort/i.test(l)).slice(-8);
  throw new Error(`${what} failed (exit code ${out.code}): ${errors.length > 1 ? `\n${errors.join('\n')}` : lastLine(out.output)}`);
}

/** `n` distinct free loopback ports (the kernel's picks, all held until all are known, then released for the servers). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const srv = net.createServer();
          srv.unref();
          srv.once('error', reject);
          srv.listen(0, HOST, () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((srv) => (srv.address() as net.AddressInfo).port);
  await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(resolve))));
  return ports;
}

let engineUser: Promise<RunAs | undefined> | undefined;

/** As root: the engine user (made once, idempotently); as anyone else: undefined (run as ourselves). */
function ensureEngineUser(): Promise<RunAs | undefined> {
  engineUser ??= (async () => {
    if (process.getuid?.() !== 0) return undefined;
    const lookup = async (): Promise<RunAs | undefined> => {
      const [u, g] = await Promise.all([runCommand('id', ['-u', ENGINE_USER], { timeoutMs: 10_000 }), runCommand('id', ['-g', ENGINE_USER], { timeoutMs: 10_000 })]);
      return u.code === 0 && g.code === 0 ? { uid: Number(u.output.trim()), gid: Number(g.output.trim()) } : undefined;
    };
    let last = '';
    for (let attempt = 0; attempt < 10; attempt++) {
      const found = await lookup();
      if (found) return found;
      // Another process may be adding it right now (useradd then fails on the passwd lock): look again.
      const r = await runCommand('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', ENGINE_USER], { timeoutMs: 30_000 });
      last = lastLine(r.output);
      await sleep(r.code === 0 ? 0 : 200);
    }
    throw new Error(`cannot create the system user ${ENGINE_USER} that PostgreSQL runs as (it refuses root): ${last}`);
  })();
  engineUser.catch(() => {
    engineUser = undefined;
  });
  return engineUser;
}

/**
 * The pair's private directory. Not under os.tmpdir(): the test suite points TMPDIR into a root-only directory the
 * engine user cannot traverse.
 */
function makePairDir(engine: string): string {
  const dir = fs.mkdtempSync(path.join('/tmp', `drover-engines-${engine}-`));
  fs.chmodSync(dir, 0o755);
  pairDirs.add(dir);
  tellWatchdog('dir', dir);
  return dir;
}

function removePairDir(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    pairDirs.delete(dir);
    tellWatchdog('undir', dir);
  } catch {
    // left for the exit hook: a cleanup failure must not hide why the pair failed or stopped
  }
}

function ownedDir(dir: string, owner: RunAs | undefined): string {
  fs.mkdirSync(dir, { mode: 0o700 });
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  return dir;
}

/** Whether a user other than the owner can reach `p` (every ancestor searchable by others). */
function reachableByOthers(p: string): boolean {
  for (let dir = path.resolve(p); ; dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) return false;
    if (dir === path.dirname(dir)) return true;
  }
}

/**
 * PostgreSQL's install tree where the engine user can run it. The tools directory is usually under root's 0700 home,
 * so the tree is hard-linked (a copy across filesystems) into the pair's directory: PostgreSQL finds its share and
 * lib directories relative to its binary, so the linked tree works as is.
 */
async function postgresTree(engines: EngineBins, pairDir: string, runAsUser: RunAs | undefined): Promise<{ bin: string; libDir: string }> {
  const { bin, libDir } = engines.postgres;
  if (!runAsUser || reachableByOthers(bin)) return { bin, libDir };
  const root = engines.root;
  const staged = path.join(pairDir, 'engine');
  const parts = [path.relative(root, path.resolve(bin, '..', '..')), path.join('usr', 'share', 'postgresql'), path.relative(root, libDir)];
  for (const rel of parts) {
    const dest = path.join(staged, rel);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const linked = await runCommand('cp', ['-al', path.join(root, rel), dest], { timeoutMs: 60_000 });
    if (linked.code !== 0) {
      fs.rmSync(dest, { recursive: true, force: true });
      await must(`copying ${rel} for ${ENGINE_USER}`, runCommand('cp', ['-a', path.join(root, rel), dest], { timeoutMs: 120_000 }));
    }
  }
  for (let d = staged; d !== pairDir; d = path.dirname(d)) fs.chmodSync(d, 0o755);
  return { bin: path.join(staged, path.relative(root, bin)), libDir: path.join(staged, path.relative(root, libDir)) };
}

function engineEnv(libDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // A clean environment: nothing of the caller's PG*/MYSQL_* variables, TMPDIR (root-only in the test suite) or locale.
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LD_LIBRARY_PATH: libDir, LANG: 'C', LC_ALL: 'C', TZ: 'UTC', ...extra };
}

function randomSecret(): string {
  return randomBytes(18).toString('base64url');
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** Settings both PostgreSQL servers run with: loopback TCP only, replication on, and speed over durability. */
function postgresSettings(port: number, tls?: { certFile: string; keyFile: string }): string[] {
  const settings: Record<string, string> = {
    ...(tls ? { ssl: 'on', ssl_cert_file: tls.certFile, ssl_key_file: tls.keyFile } : {}),
    listen_addresses: HOST,
    port: String(port),
    unix_socket_directories: '',
    wal_level: 'replica',
    hot_standby: 'on',
    max_wal_senders: '5',
    max_replication_slots: '5',
    wal_keep_size: '64MB',
    // A standby retries its primary every half second (default 5 s): a restarted primary is followed at once.
    wal_retrieve_retry_interval: '500ms',
    shared_buffers: '16MB',
    max_connections: '40',
    // No fsync (the OS cache survives a killed server), but commits are written at commit, as on RDS: a write the
    // test saw committed outlives killPrimary (synchronous_commit=off would lose the last 200 ms of them).
    fsync: 'off',
    full_page_writes: 'off',
    timezone: 'UTC',
    log_timezone: 'UTC',
    log_min_messages: 'warning',
  };
  return Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
}

export async function startPostgresPair(opts: StartPairOptions): Promise<EnginePair> {
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const engines = opts.engines ?? (await ensureEngines({ log }));
  const user = await ensureEngineUser();
  const dir = makePairDir('postgres');
  const servers: ServerProcess[] = [];
  try {
    const { bin, libDir } = await postgresTree(engines, dir, user);
    const env = engineEnv(libDir);
    const [primaryPort, replicaPort] = await freePorts(2);
    const primaryDir = ownedDir(path.join(dir, 'primary'), user);
    const replicaHome = ownedDir(path.join(dir, 'replica'), user);
    const primaryData = path.join(primaryDir, 'data');
    const replicaData = path.join(replicaHome, 'data');

    // The password reaches initdb in a file only the engine user reads, gone as soon as initdb has hashed it (SCRAM).
    const pwfile = path.join(primaryDir, 'pw');
    fs.writeFileSync(pwfile, `${opts.masterPassword}\n`, { mode: 0o600 });
    if (user) fs.chownSync(pwfile, user.uid, user.gid);
    try {
      await must(
        'initdb',
        runAs(path.join(bin, 'initdb'), ['-D', primaryData, '-U', MASTER_USER, `--pwfile=${pwfile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C', '-N'], { env, cwd: primaryDir, runAs: user, timeoutMs }),
      );
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
    // Password logins from any loopback source (the proxy's 127.0.0.1, applications' 127.0.0.5); no Unix socket at all.
    const hba = path.join(primaryData, 'pg_hba.conf');
    fs.writeFileSync(hba, ['host all all 127.0.0.0/8 scram-sha-256', 'host replication all 127.0.0.0/8 scram-sha-256', ''].join('\n'));
    if (user) fs.chownSync(hba, user.uid, user.gid);

    // The server's certificate and key, outside the data directories, readable by the engine user only (PostgreSQL
    // refuses a key others may read).
    let tls: { certFile: string; keyFile: string } | undefined;
    if (opts.tls) {
      tls = { certFile: path.join(dir, 'server.crt'), keyFile: path.join(dir, 'server.key') };
      fs.writeFileSync(tls.certFile, opts.tls.cert, { mode: 0o644 });
      fs.writeFileSync(tls.keyFile, opts.tls.key, { mode: 0o600 });
      if (user) for (const f of [tls.certFile, tls.keyFile]) fs.chownSync(f, user.uid, user.gid);
    }
    const postgres = path.join(bin, 'postgres');
    const primary = new ServerProcess('PostgreSQL primary', primaryPort, path.join(dir, 'primary.log'), postgres, ['-D', primaryData, ...postgresSettings(primaryPort, tls)], { env, cwd: primaryDir, runAs: user });
    servers.push(primary);
    primary.start();
    const master = { user: MASTER_USER, password: opts.masterPassword };
    await primary.ready(timeoutMs, () => pgQuery({ port: primaryPort, ...master }, 'SELECT 1').then(() => true));

    const replPassword = randomSecret();
    await pgQuery({ port: primaryPort, ...master }, [`CREATE ROLE repl WITH REPLICATION LOGIN PASSWORD '${replPassword}'`, `CREATE DATABASE ${APP_DATABASE}`]);
    // -R writes standby.signal and primary_conninfo (with repl's password) for the replica; -c fast: no wait for a checkpoint.
    // A copy of a promoted server also holds the primary_conninfo its own -R wrote (to the server now being copied into):
    // -R appends its own after it, and the last one wins.
    const basebackup = (fromPort: number, data: string, home: string) =>
      must(
        'pg_basebackup',
        runAs(path.join(bin, 'pg_basebackup'), ['-h', HOST, '-p', String(fromPort), '-U', 'repl', '-D', data, '-R', '-X', 'stream', '-c', 'fast', '-w'], {
          env: { ...env, PGPASSWORD: replPassword },
          cwd: home,
          runAs: user,
          timeoutMs,
        }),
      );
    await basebackup(primaryPort, replicaData, replicaHome);
    const replica = new ServerProcess('PostgreSQL replica', replicaPort, path.join(dir, 'replica.log'), postgres, ['-D', replicaData, ...postgresSettings(replicaPort, tls)], { env, cwd: replicaHome, runAs: user });
    servers.push(replica);
    replica.start();
    await replica.ready(timeoutMs, async () => {
      const rows = await pgQuery({ port: replicaPort, ...master }, "SELECT status FROM pg_stat_wal_receiver WHERE status = 'streaming'");
      return rows.length > 0;
    });
    log(`PostgreSQL ${engines.postgres.version} pair: primary ${HOST}:${primaryPort}, replica ${HOST}:${replicaPort} (${dir})`);

    const sides = { primary: { server: primary, home: primaryDir, data: primaryData }, replica: { server: replica, home: replicaHome, data: replicaData } };
    const at = (side: PairSide) => ({ port: sides[side].server.port, ...master });
    const recovering = async (side: PairSide) => (await pgQuery<{ recovering: boolean }>(at(side), 'SELECT pg_is_in_recovery() AS recovering'))[0].recovering;
    return pairOf('postgres', dir, primary, replica, {
      async promote(side) {
        if (!(await recovering(side))) return;
        const [{ promoted }] = await pgQuery<{ promoted: boolean }>(at(side), 'SELECT pg_promote(true, 60) AS promoted');
        if (!promoted) throw new Error(`the PostgreSQL ${side} did not finish promotion within 60 s${logTail(sides[side].server.logFile)}`);
      },
      // SIGINT is PostgreSQL's fast shutdown: sessions are ended (SIGTERM would wait for them to disconnect).
      stopSignal: 'SIGINT',
      async restart(side) {
        const { server } = sides[side];
        await server.stop('SIGINT');
        server.start();
        await server.ready(timeoutMs, () => pgQuery(at(side), 'SELECT 1').then(() => true));
      },
      async reseed(side) {
        const { server, home, data } = sides[side];
        const from = otherSide(side);
        // A copy of a standby would follow that standby: re-seeding is from the writer only (as RDS makes a replica of one).
        if (!sides[from].server.running || (await recovering(from))) throw new Error(`cannot re-seed the PostgreSQL ${side} from the ${from}: the ${from} is not a writer`);
        await server.stop('SIGINT');
        fs.rmSync(data, { recursive: true, force: true });
        await basebackup(sides[from].server.port, data, home);
        server.start();
        // Caught up: streaming, and replayed the writer's position read once it streams (the writer may go on writing).
        let target: string | undefined;
        await server.ready(timeoutMs, async () => {
          const [{ streaming }] = await pgQuery<{ streaming: boolean }>(at(side), "SELECT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') AS streaming");
          if (!streaming) return false;
          target ??= (await pgQuery<{ lsn: string }>(at(from), 'SELECT pg_current_wal_lsn()::text AS lsn'))[0].lsn;
          const [{ replayed }] = await pgQuery<{ replayed: boolean }>(at(side), `SELECT pg_last_wal_replay_lsn() >= '${target}'::pg_lsn AS replayed`);
          return replayed;
        });
      },
      replicating: recovering,
    });
  } catch (e) {
    await Promise.allSettled(servers.map((s) => s.kill()));
    removePairDir(dir);
    throw e;
  }
}

/** One short session to a local PostgreSQL server: the statements in order, the last one's rows. */
async function pgQuery<T = Record<string, unknown>>(at: { port: number; user: string; password: string; database?: string }, sql: string | string[]): Promise<T[]> {
  const client = new pg.Client({ host: HOST, port: at.port, user: at.user, password: at.password, database: at.database ?? 'postgres', connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    let rows: T[] = [];
    for (const s of Array.isArray(sql) ? sql : [sql]) rows = (await client.query(s)).rows as T[];
    return rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// MariaDB

export async function startMariadbPair(opts: StartPairOptions): Promise<EnginePair> {
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const engines = opts.engines ?? (await ensureEngines({ log }));
  const m = engines.mariadb;
  const asRoot = process.getuid?.() === 0;
  const dir = makePairDir('mariadb');
  const servers: ServerProcess[] = [];
  try {
    const env = engineEnv(m.libDir);
    const basedir = path.dirname(path.dirname(m.mariadbd));
    // Small and fast: tests need neither a 128 MB buffer pool, nor durability, nor the performance schema. Native AIO
    // off: io_uring and libaio are often refused inside containers (seccomp), and threads do as well here.
    const common = ['--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M', '--innodb-use-native-aio=0', ...(asRoot ? ['--user=root'] : [])];
    const [primaryPort, replicaPort] = await freePorts(2);
    // A private tmpdir, for the bootstrap too: a starting mariadbd deletes every #sql* file in its tmpdir, so two
    // sharing /tmp (the primary's and the replica's install, another test's) delete each other's temporary tables.
    const install = (role: PairSide, home: string) =>
      must(
        `mariadb-install-db (${role})`,
        runCommand(m.installDb, ['--no-defaults', `--basedir=${basedir}`, `--datadir=${path.join(home, 'data')}`, `--tmpdir=${home}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...common], { env, timeoutMs }),
      );
    const argsOf = (home: string, port: number, serverId: number, readOnly: boolean) => [
      '--no-defaults',
      `--basedir=${basedir}`,
      `--datadir=${path.join(home, 'data')}`,
      `--lc-messages-dir=${m.shareDir}`,
      `--tmpdir=${home}`,
      `--socket=${path.join(home, 'mysqld.sock')}`,
      `--pid-file=${path.join(home, 'mysqld.pid')}`,
      `--bind-address=${HOST}`,
      `--port=${port}`,
      '--skip-name-resolve',
      `--server-id=${serverId}`,
      '--log-bin=mariadb-bin',
      '--log-slave-updates=ON',
      '--binlog-format=ROW',
      '--gtid-strict-mode=ON',
      '--innodb-flush-log-at-trx-commit=2',
      '--sync-binlog=0',
      '--performance-schema=OFF',
      '--max-connections=60',
      ...(readOnly ? ['--read-only=ON'] : []),
      ...common,
    ];
    const make = async (role: PairSide, port: number, serverId: number): Promise<{ server: ServerProcess; socket: string; home: string }> => {
      const home = ownedDir(path.join(dir, role), undefined);
      await install(role, home);
      const socket = path.join(home, 'mysqld.sock');
      const server = new ServerProcess(`MariaDB ${role}`, port, path.join(dir, `${role}.log`), m.mariadbd, argsOf(home, port, serverId, role === 'replica'), { env, cwd: home });
      servers.push(server);
      server.start();
      await server.ready(timeoutMs, () => myQuery(socket, 'SELECT 1').then(() => true));
      return { server, socket, home };
    };
    // Both settle before any cleanup: a failed one must not remove the directory under the other's mariadb-install-db.
    const made = await Promise.allSettled([make('primary', primaryPort, 1), make('replica', replicaPort, 2)]);
    const failed = made.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
    const [p, r] = made.map((x) => (x as PromiseFulfilledResult<Awaited<ReturnType<typeof make>>>).value);

    const replPassword = randomSecret();
    await myQuery(
      p.socket,
      ["CREATE USER 'repl'@'%' IDENTIFIED BY ?", [replPassword]],
      "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'",
      [`CREATE USER '${MASTER_USER}'@'%' IDENTIFIED BY ?`, [opts.masterPassword]],
      `GRANT ALL PRIVILEGES ON *.* TO '${MASTER_USER}'@'%' WITH GRANT OPTION`,
      // As on RDS, the master user cannot write to a read-only replica: ALL PRIVILEGES includes READ_ONLY ADMIN.
      `REVOKE READ_ONLY ADMIN ON *.* FROM '${MASTER_USER}'@'%'`,
      `CREATE DATABASE ${APP_DATABASE}`,
    );
    // The replica starts from an empty GTID position, so it replays the primary's whole binlog: the users and database above.
    const follow = (to: { socket: string }, fromPort: number) =>
      myQuery(
        to.socket,
        [`CHANGE MASTER TO MASTER_HOST='${HOST}', MASTER_PORT=${fromPort}, MASTER_USER='repl', MASTER_PASSWORD=?, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1`, [replPassword]],
        'START SLAVE',
      );
    await follow(r, primaryPort);
    const [{ pos }] = await myQuery<{ pos: string }>(p.socket, 'SELECT @@gtid_binlog_pos AS pos');
    await r.server.ready(timeoutMs, async () => {
      const [status] = await myQuery<Record<string, string>>(r.socket, 'SHOW SLAVE STATUS');
      if (status?.Last_IO_Error || status?.Last_SQL_Error) throw new Error(`replication: ${status.Last_IO_Error || status.Last_SQL_Error}`);
      const [{ slave }] = await myQuery<{ slave: string }>(r.socket, 'SELECT @@gtid_slave_pos AS slave');
      return status?.Slave_IO_Running === 'Yes' && status?.Slave_SQL_Running === 'Yes' && slave === pos;
    });
    log(`MariaDB ${m.version} pair: primary ${HOST}:${primaryPort}, replica ${HOST}:${replicaPort} (${dir})`);

    const sides = { primary: { ...p, port: primaryPort, serverId: 1 }, replica: { ...r, port: replicaPort, serverId: 2 } };
    // A re-seeded server is a new instance: a server_id no server of the pair had. With the old one it would skip, as
    // its own, every event it once wrote that reaches it back through the other's binlog (log-slave-updates keeps the
    // origin's server_id), and come up without them.
    let nextServerId = 3;
    const replicating = async (side: PairSide) => (await myQuery(sides[side].socket, 'SHOW SLAVE STATUS')).length > 0;
    return pairOf('mariadb', dir, p.server, r.server, {
      async promote(side) {
        const s = sides[side];
        await myQuery(s.socket, 'STOP SLAVE', 'RESET SLAVE ALL', 'SET GLOBAL read_only = 0');
        // A writer now, restarted as one (not read-only).
        s.server.setArgs(argsOf(s.home, s.port, s.serverId, false));
      },
      stopSignal: 'SIGTERM',
      async restart(side) {
        const { server, socket } = sides[side];
        await server.stop('SIGTERM');
        server.start();
        await server.ready(timeoutMs, () => myQuery(socket, 'SELECT 1').then(() => true));
      },
      async reseed(side) {
        const s = sides[side];
        const from = sides[otherSide(side)];
        if (!from.server.running || (await replicating(otherSide(side)))) throw new Error(`cannot re-seed the MariaDB ${side} from the ${otherSide(side)}: the ${otherSide(side)} is not a writer`);
        // The writer's binlog must hold its whole history, as the pair's first replica relied on: its first file starts
        // from an empty GTID list (nothing before it). Both servers log what they replicate, and nothing purges binlogs.
        const [first] = await myQuery<{ Log_name: string }>(from.socket, 'SHOW BINARY LOGS');
        const head = await myQuery<{ Event_type: string; Info: string }>(from.socket, `SHOW BINLOG EVENTS IN '${first?.Log_name ?? ''}' LIMIT 4`);
        const list = head.find((e) => e.Event_type === 'Gtid_list');
        if (!list || list.Info.trim() !== '[]') throw new Error(`cannot re-seed the MariaDB ${side}: the ${otherSide(side)}'s binlog does not start at its history's start (${first?.Log_name}: ${list?.Info ?? 'no GTID list'})`);
        await s.server.stop('SIGTERM');
        fs.rmSync(path.join(s.home, 'data'), { recursive: true, force: true });
        await install(side, s.home);
        s.serverId = nextServerId++;
        s.server.setArgs(argsOf(s.home, s.port, s.serverId, true));
        s.server.start();
        await s.server.ready(timeoutMs, () => myQuery(s.socket, 'SELECT 1').then(() => true));
        await follow(s, from.port);
        const [{ pos: target }] = await myQuery<{ pos: string }>(from.socket, 'SELECT @@gtid_binlog_pos AS pos');
        // Caught up with the writer's position read once it follows (the writer may go on writing): MASTER_GTID_WAIT.
        await s.server.ready(timeoutMs, async () => {
          const [status] = await myQuery<Record<string, string>>(s.socket, 'SHOW SLAVE STATUS');
          if (status?.Last_IO_Error || status?.Last_SQL_Error) throw new Error(`replication: ${status.Last_IO_Error || status.Last_SQL_Error}`);
          const [{ waited }] = await myQuery<{ waited: number }>(s.socket, ['SELECT MASTER_GTID_WAIT(?, 0.5) AS waited', [target]]);
          return status?.Slave_IO_Running === 'Yes' && status?.Slave_SQL_Running === 'Yes' && Number(waited) === 0;
        });
      },
      replicating,
      async setReadOnly(side, on) {
        await myQuery(sides[side].socket, `SET GLOBAL read_only = ${on ? 1 : 0}`);
      },
    });
  } catch (e) {
    await Promise.allSettled(servers.map((s) => s.kill()));
    removePairDir(dir);
    throw e;
  }
}

type MyStatement = string | [string, unknown[]];

/** One short session as root over the server's Unix socket (root has no password and no TCP login that matters). */
async function myQuery<T = Record<string, unknown>>(socket: string, ...statements: MyStatement[]): Promise<T[]> {
  const conn = await mysql.createConnection({ socketPath: socket, user: 'root', connectTimeout: 2_000 });
  conn.on('error', () => undefined);
  try {
    let rows: T[] = [];
    for (const s of statements) {
      const [text, params] = typeof s === 'string' ? [s, []] : s;
      const [result] = await conn.query(text, params);
      rows = (Array.isArray(result) ? result : []) as T[];
    }
    return rows;
  } finally {
    await conn.end().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------

interface PairOps {
  promote(side: PairSide): Promise<void>;
  restart(side: PairSide): Promise<void>;
  reseed(side: PairSide): Promise<void>;
  replicating(side: PairSide): Promise<boolean>;
  setReadOnly?(side: PairSide, on: boolean): Promise<void>;
  stopSignal: NodeJS.Signals;
}

function otherSide(side: PairSide): PairSide {
  return side === 'primary' ? 'replica' : 'primary';
}

function pairOf(engine: EnginePair['engine'], dir: string, primary: ServerProcess, replica: ServerProcess, ops: PairOps): EnginePair {
  let stopped = false;
  // One role change at a time per pair: a re-seed stops a server another call may be promoting or restarting.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    engine,
    primary,
    replica,
    masterUser: MASTER_USER,
    database: APP_DATABASE,
    promoteReplica: () => serial(() => ops.promote('replica')),
    restartPrimary: () => serial(() => ops.restart('primary')),
    killPrimary: () => primary.kill(),
    promote: (side) => serial(() => ops.promote(side)),
    restart: (side) => serial(() => ops.restart(side)),
    reseed: (side) => serial(() => ops.reseed(side)),
    replicating: (side) => ops.replicating(side),
    setReadOnly: (side, on) => (ops.setReadOnly ? ops.setReadOnly(side, on) : Promise.reject(new Error(`${engine} has no server-wide read_only to set`))),
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.allSettled([primary.stop(ops.stopSignal), replica.stop(ops.stopSignal)]);
      removePairDir(dir);
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
