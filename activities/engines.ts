import fs from 'node:fs';
import type { DBInstance } from '@aws-sdk/client-rds';
import { ApplicationFailure } from '@temporalio/common';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { RdsApi, RdsLifecycleApi, SecretsApi } from '../aws/clients';
import { aws, awsErrorCode } from '../aws/errors';
import { FailureType } from '../contracts/failures';
import type { EnginePosition, EngineAccess } from '../contracts/engines';
import { readOnlyGroups, type HoldResult, type ReleaseResult } from './readonly';
import { inActivity, pollUntil } from './wait';

// The engines themselves (docs/fence.md): a fence that ends every client session on the fenced writer and proves none
// comes back, and the replica's replay of the writer's final position, read from PostgreSQL and MariaDB, not CloudWatch.
//
// Why the network fence alone is not enough: a security-group change does not interrupt connections it already tracks
// ("Amazon EC2 security group connection tracking": tracked connections keep flowing until they time out), so an
// application's pool opened before the fence keeps writing to the old writer.

/** Where an instance's engine answers: its RDS endpoint, or (tests only) what the worker's deps map it to. */
export type EngineEndpoint = (region: string, identifier: string, rds: { host?: string; port?: number }) => { host: string; port: number } | undefined;

export interface EngineDeps {
  rds: (region: string) => RdsApi & RdsLifecycleApi;
  secrets: (region: string) => SecretsApi;
  /** Test harnesses map instances to loopback servers; a production worker leaves it out (the instance's endpoint). */
  endpoint?: EngineEndpoint;
}

/** One side of a database, as an engine activity reaches it. */
export interface EngineTarget {
  region: string;
  identifier: string;
  engine: 'postgres' | 'mariadb';
  access: EngineAccess;
  /** Which side's secret to use. */
  side: 'primary' | 'replica';
}

/** A session that cannot be made: no answer from the engine (the caller falls back), as opposed to a typed refusal. */
class Unreachable extends Error {}

interface Session {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

const CONNECT_MS = 5_000;
const STATEMENT_MS = 10_000;
/** PostgreSQL and MySQL/MariaDB codes that mean the credentials were refused: retrying will not help. */
const AUTH_CODES = new Set(['28P01', '28000', 'ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_NOT_SUPPORTED_AUTH_MODE']);
/**
 * Network errors: the engine did not answer (as opposed to answering with a refusal). A security group drops packets
 * silently (a timeout); nothing listening answers with a refusal (the engine is down: a reboot is the fallback). A reset
 * after connecting is an answer (a TLS handshake the server aborted), not listed.
 */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** PostgreSQL starting up or shutting down, MariaDB likewise: transient, retried (within the fence's deadline). */
const TRANSIENT_CODES = new Set(['57P03', 'ER_SERVER_SHUTDOWN']);
/** Sessions RDS keeps for itself: never ended (RDS refuses it anyway), never counted as the application's. */
const RDS_USERS = ['rdsadmin', 'rdsrepladmin'];

/** PostgreSQL's foreign sessions ($1: RDS_USERS): client backends but drover's own and RDS's (WAL senders are left running). */
const PG_FOREIGN = "backend_type = 'client backend' AND pid <> pg_backend_pid() AND COALESCE(usename, '') <> ALL($1::text[])";

function typed(type: FailureType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** The region a secret or instance ARN names, if it is one. */
function arnRegion(s: string): string | undefined {
  return /^arn:aws[a-z-]*:[a-z-]+:([a-z0-9-]+):/.exec(s)?.[1];
}

export function createEngineActivities(deps: EngineDeps) {
  const readOnly = readOnlyGroups(deps.rds);
  async function instance(region: string, identifier: string): Promise<DBInstance> {
    const out = await aws(`rds:DescribeDBInstances(${identifier})`, () => deps.rds(region).describeDBInstances({ DBInstanceIdentifier: identifier }));
    const db = out.DBInstances?.[0];
    if (!db) throw typed(FailureType.NotFound, `DB instance ${identifier} not found in ${region}`);
    return db;
  }

  /** The secret that holds the side's credentials: a name is read in the side's own region, an ARN in its own. */
  function secretOf(t: EngineTarget): { id: string; region: string; path: string } {
    const own = t.side === 'replica' && t.access.replicaSecretId !== undefined;
    const id = own ? (t.access.replicaSecretId as string) : t.access.secretId;
    return { id, region: arnRegion(id) ?? t.region, path: `database.access.${own ? 'replicaSecretId' : 'secretId'}` };
  }

  /** The credentials, read now and never returned: a password goes from Secrets Manager to the driver only. */
  async function credentials(t: EngineTarget, db: DBInstance): Promise<{ user: string; password: string; secret: string }> {
    const s = secretOf(t);
    let value: string | undefined;
    try {
      value = (await deps.secrets(s.region).getSecretValue({ SecretId: s.id })).SecretString;
    } catch (e) {
      const code = awsErrorCode(e) ?? '';
      if (/ResourceNotFound/.test(code)) throw typed(FailureType.NotFound, `${s.path}: secret ${s.id} not found in ${s.region}`);
      if (/AccessDenied|DecryptionFailure|InvalidRequest/.test(code)) throw typed(FailureType.PermissionDenied, `${s.path}: secret ${s.id} could not be read (${code}): the worker needs secretsmanager:GetSecretValue on it (and kms:Decrypt on its key)`);
      throw e;
    }
    let parsed: { username?: unknown; password?: unknown } = {};
    try {
      parsed = JSON.parse(value ?? '') as typeof parsed;
    } catch {
      // The value is never quoted in the message: it may be the password itself.
    }
    const user = typeof parsed.username === 'string' ? parsed.username : db.MasterUsername;
    if (typeof parsed.password !== 'string' || !user) throw typed(FailureType.Validation, `${s.path}: secret ${s.id} is not a JSON object with a string "password" (and "username", or an instance with a master user name)`);
    return { user, password: parsed.password, secret: s.id };
  }

  function tls(t: EngineTarget, host: string): false | { ca?: string; servername: string; rejectUnauthorized: true } {
    if (t.access.tls === 'off') {
      // Over plain TCP a server (or anyone on the path) may ask for the password in clear: only the tests' loopback
      // servers, reached through the worker's test-only endpoint map, are spoken to so.
      if (!deps.endpoint) throw typed(FailureType.Validation, 'database.access.tls: off is for loopback test servers only (a worker with a test endpoint map); use verify-full with caFile');
      return false;
    }
    let ca: string | undefined;
    if (t.access.caFile) {
      try {
        ca = fs.readFileSync(t.access.caFile, 'utf8');
      } catch (e) {
        throw typed(FailureType.Validation, `database.access.caFile: cannot read ${t.access.caFile}: ${(e as Error).message}`);
      }
    }
    return { ...(ca ? { ca } : {}), servername: host, rejectUnauthorized: true };
  }

  /** A session as the master user, or Unreachable (nothing answered), or a typed refusal (credentials refused). */
  async function open(t: EngineTarget): Promise<Session> {
    const db = await instance(t.region, t.identifier);
    const mapped = deps.endpoint?.(t.region, t.identifier, { host: db.Endpoint?.Address, port: db.Endpoint?.Port });
    const host = mapped?.host ?? db.Endpoint?.Address;
    const port = mapped?.port ?? db.Endpoint?.Port;
    if (!host || !port) throw new Unreachable(`${t.identifier} has no endpoint (status ${db.DBInstanceStatus ?? 'unknown'})`);
    const { user, password, secret } = await credentials(t, db);
    const refused = (e: unknown): never => {
      const code = String((e as { code?: unknown }).code ?? '');
      const message = (e as Error).message;
      if (AUTH_CODES.has(code)) throw typed(FailureType.PermissionDenied, `${t.identifier} refused the credentials of ${secret} (${code}): check the secret and the user's login`);
      // Only a network that does not answer is "unreachable" (the fence then falls back to a reboot). A TLS failure, a
      // database that does not exist or a server out of connection slots is a setup to fix: a reboot would hide it.
      // pg's own connect timeout is Error('timeout expired'), with no code.
      if (UNREACHABLE_CODES.has(code) || /^timeout expired$|connection timeout/i.test(message)) throw new Unreachable(`${t.identifier} at ${host}:${port}: ${message}`);
      if (TRANSIENT_CODES.has(code)) throw new Error(`${t.identifier} at ${host}:${port} is starting or stopping (${code}): ${message}`);
      throw typed(FailureType.Validation, `${t.identifier} at ${host}:${port} answered but drover could not open a session (${code || 'no code'}: ${message}): check database.access (tls, caFile, database) and the instance's connection limit`);
    };
    if (t.engine === 'postgres') {
      const client = new pg.Client({ host, port, user, password, database: t.access.database ?? 'postgres', ssl: tls(t, host), connectionTimeoutMillis: CONNECT_MS, statement_timeout: STATEMENT_MS, application_name: 'drover' });
      // A connection dropped by the server (a terminated backend, a restart) is an error event, not a crash.
      client.on('error', () => undefined);
      await client.connect().catch(async (e: unknown) => {
        await client.end().catch(() => undefined);
        refused(e);
      });
      return {
        query: async <T>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows as T[],
        close: () => client.end().catch(() => undefined),
      };
    }
    const ssl = tls(t, host);
    const conn = await mysql
      // verifyIdentity: mysql2 checks the certificate's host name only when asked to.
      .createConnection({ host, port, user, password, ...(t.access.database ? { database: t.access.database } : {}), ...(ssl ? { ssl: { ...ssl, verifyIdentity: true } } : {}), connectTimeout: CONNECT_MS })
      .catch((e: unknown) => refused(e));
    conn.on('error', () => undefined);
    return {
      query: async <T>(sql: string, params: unknown[] = []) => (await conn.query({ sql, timeout: STATEMENT_MS }, params))[0] as T[],
      close: () => conn.end().catch(() => undefined),
    };
  }

  /** The client sessions other than this one and RDS's own: what the fence ends. */
  async function foreignSessions(s: Session, engine: EngineTarget['engine']): Promise<Array<{ id: number; user: string }>> {
    if (engine === 'postgres') {
      const rows = await s.query<{ pid: number; usename: string | null }>(`SELECT pid, usename FROM pg_stat_activity WHERE ${PG_FOREIGN}`, [RDS_USERS]);
      return rows.map((r) => ({ id: Number(r.pid), user: r.usename ?? '' }));
    }
    // The binlog dump threads feed the replicas, the daemon and replication threads are the server's own (by command,
    // not by user name: a client may name itself anything), RDS's own users connect locally, and a thread already
    // killed is rolling back (it takes no new write).
    const rows = await s.query<{ ID: number; USER: string }>(
      `SELECT ID, USER FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker', 'Killed') AND NOT (USER IN (?) AND (HOST = 'localhost' OR HOST LIKE 'localhost:%'))`,
      [RDS_USERS],
    );
    return rows.map((r) => ({ id: Number(r.ID), user: r.USER }));
  }

  /**
   * End every foreign session: PostgreSQL in one statement, waiting up to 5 s for each backend to exit
   * (pg_terminate_backend's timeout, PostgreSQL 14 and later; rds_superuser may end any non-superuser's); MariaDB one by
   * one. The ids ended.
   */
  async function endAll(s: Session, engine: EngineTarget['engine']): Promise<number[]> {
    if (engine === 'postgres') {
      // The sessions are chosen first (a materialized CTE): in one WHERE the planner may call pg_terminate_backend before
      // the test that leaves drover's own session out, and end it.
      const rows = await s.query<{ pid: number }>(
        `WITH chosen AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE ${PG_FOREIGN})
         SELECT pid FROM chosen WHERE pg_terminate_backend(pid, 5000)`,
        [RDS_USERS],
      );
      return rows.map((r) => Number(r.pid));
    }
    const ids: number[] = [];
    for (const session of await foreignSessions(s, engine)) if (await killMariadb(s, session.id)) ids.push(session.id);
    return ids;
  }

  /** End one MariaDB session: mysql.rds_kill on RDS, KILL elsewhere; false when it was gone already. */
  async function killMariadb(s: Session, id: number): Promise<boolean> {
    try {
      // RDS for MariaDB and MySQL give the master user no KILL on others' threads: mysql.rds_kill (RDS User Guide,
      // "Ending a session or query").
      await s.query('CALL mysql.rds_kill(?)', [id]);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ER_NO_SUCH_THREAD') return false;
      // Not RDS (a self-managed or test server): the procedure does not exist, and KILL does the same.
      if (code !== 'ER_SP_DOES_NOT_EXIST') throw e;
      try {
        await s.query(`KILL ${Math.trunc(id)}`);
      } catch (k) {
        if ((k as { code?: string }).code === 'ER_NO_SUCH_THREAD') return false;
        throw k;
      }
    }
    return true;
  }

  /** The writer's write position now: its WAL insert position (PostgreSQL), its binlog GTID state (MariaDB). */
  async function writePosition(s: Session, engine: EngineTarget['engine']): Promise<string> {
    if (engine === 'postgres') return String((await s.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'))[0].lsn);
    return String((await s.query<{ pos: string }>('SELECT @@GLOBAL.gtid_binlog_pos AS pos'))[0].pos ?? '');
  }

  async function withSession<T>(t: EngineTarget, fn: (s: Session) => Promise<T>): Promise<T> {
    const s = await open(t);
    try {
      return await fn(s);
    } finally {
      await s.close();
    }
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  return {
    /**
     * The fence's second half, after the security-group swap: end every client session on the writer, then prove it
     * stopped: no client session seen at any check through `quietWindow` (four a second: a pool reconnecting through a
     * path the fence group admits shows here), ended again and re-checked until `proofTimeout`. The final position is
     * read after the window: the replica must replay it. The position may move with no client session (autovacuum,
     * checkpoints, RDS's own heartbeat writes): said in `movedBy`, not a failure, since the replica replays that too.
     * Not proven within the bound: FenceNotProven (the promotion unfences and stops); so is any error the engine
     * answers mid-fence, and an attempt that starts past the bound (a retried attempt keeps the first one's deadline, in
     * its heartbeat, sent before anything else): never retried for hours with the writer fenced. An engine that does
     * not answer: `{ reached: false }`, and the workflow falls back to a reboot. A cancel stops it before it ends
     * sessions again. With `readOnly` (holdReadOnly held it), MariaDB's read_only as the engine has it once proven.
     * Idempotent.
     */
    async fenceEngine(input: EngineTarget & { readOnly?: boolean }): Promise<{ reached: true; position: EnginePosition; sessionsEnded: number; attempts: number; movedBy?: string; readOnly?: boolean } | { reached: false; reason: string }> {
      const { quietWindow, proofTimeout } = input.access;
      const ctx = inActivity();
      const earlier = ctx?.info.heartbeatDetails as { fence?: { deadline: number; ended: number[] } } | undefined;
      const deadline = earlier?.fence?.deadline ?? Date.now() + proofTimeout;
      /** The sessions ended, by id (a session ended twice, or by two attempts, counts once). */
      const ended = new Set<number>(earlier?.fence?.ended ?? []);
      const beat = (progress: string) => ctx?.heartbeat({ fence: { deadline, ended: [...ended].slice(-1000) }, progress });
      const notProven = (why: string) => typed(FailureType.FenceNotProven, `${input.identifier} could not be proven stopped within ${proofTimeout / 1000}s: ${why}`);
      const cancelled = () => {
        if (ctx?.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? new Error('cancelled');
      };
      beat('starting');
      if (earlier?.fence && Date.now() > deadline) throw notProven('the fence\'s earlier attempts did not finish (the engine or AWS did not answer in time)');
      try {
        return await withSession(input, async (s) => {
          let why = '';
          for (let attempt = 1; ; attempt++) {
            cancelled();
            try {
              for (const id of await endAll(s, input.engine)) ended.add(id);
              beat(`attempt ${attempt}: ${ended.size} session(s) ended`);
              const before = await writePosition(s, input.engine);
              // Sampled through the window, not only at its ends: a short-lived connection shows at one of the samples.
              const seen = new Map<number, string>();
              for (const t0 = Date.now(); ; ) {
                for (const f of await foreignSessions(s, input.engine)) seen.set(f.id, f.user);
                const left = quietWindow - (Date.now() - t0);
                if (left <= 0) break;
                beat(`attempt ${attempt}: quiet for ${Math.round((quietWindow - left) / 100) / 10}s`);
                await (ctx ? ctx.sleep(Math.min(250, left)) : sleep(Math.min(250, left)));
              }
              const after = await writePosition(s, input.engine);
              if (seen.size === 0) {
                // holdReadOnly's read_only, as the engine has it now (RDS applies a group's change in the background).
                const readOnly = input.readOnly && input.engine === 'mariadb' ? Number((await s.query<{ ro: number }>('SELECT @@GLOBAL.read_only AS ro'))[0].ro) === 1 : undefined;
                return {
                  reached: true as const,
                  position: { kind: input.engine === 'postgres' ? 'lsn' : 'gtid', value: after, at: new Date().toISOString() },
                  sessionsEnded: ended.size,
                  attempts: attempt,
                  ...(readOnly !== undefined ? { readOnly } : {}),
                  ...(after !== before ? { movedBy: `${before} -> ${after} with no client session (the engine's own writes: vacuum, checkpoints, RDS's heartbeat)` } : {}),
                };
              }
              why = `client session(s) of ${[...new Set(seen.values())].join(', ')} kept appearing (a connection path the fence group admits?)`;
            } catch (e) {
              if (e instanceof ApplicationFailure || e instanceof Unreachable || (e as Error)?.name === 'CancelledFailure' || ctx?.cancellationSignal.aborted) throw e;
              throw notProven(`the engine refused a step of the fence: ${(e as Error).message}`);
            }
            if (Date.now() + quietWindow > deadline) break;
          }
          throw notProven(why);
        });
      } catch (e) {
        if (e instanceof Unreachable) return { reached: false, reason: e.message };
        throw e;
      }
    },

    /**
     * The fence's engine-side refusal of writes on a MariaDB writer: `read_only` = 1 in its own DB parameter group
     * (activities/readonly.ts). RDS's master user has neither SUPER nor READ_ONLY ADMIN (RDS User Guide, "Master user
     * account privileges"), so no application user writes past it; replication does. Not held, said why, where it
     * would reach beyond the writer. Idempotent.
     */
    async holdReadOnly(input: { region: string; identifier: string }): Promise<HoldResult> {
      return readOnly.hold(input.region, await instance(input.region, input.identifier));
    },

    /** Undo holdReadOnly (also done by every unfence): the group's read_only back to what it was. Idempotent. */
    async releaseReadOnly(input: { region: string; identifier: string; from?: string }): Promise<ReleaseResult> {
      return readOnly.release(input.region, await instance(input.region, input.identifier), input.from);
    },

    /**
     * Whether the engine answers the worker with a session now (`SELECT 1`), before anything changes: a promotion asks
     * it of both sides first, so a secret that is missing, unreadable or refused, or a TLS setup that fails, stops the
     * run before the fence (typed, as the fence's own session would), not after it. `{ reached: false }` when nothing
     * answers (the fence would fall back to a reboot; said so).
     */
    async engineAnswers(input: EngineTarget): Promise<{ reached: true } | { reached: false; reason: string }> {
      try {
        return await withSession(input, async (s) => (await s.query('SELECT 1'), { reached: true as const }));
      } catch (e) {
        if (e instanceof Unreachable) return { reached: false, reason: e.message };
        throw e;
      }
    },

    /**
     * Wait until the replica has replayed the fenced writer's final position (PostgreSQL: pg_last_wal_replay_lsn at or
     * past it; MariaDB: MASTER_GTID_WAIT on its GTID state). `{ reached: false }` when the replica does not answer (the
     * workflow falls back to CloudWatch's ReplicaLag).
     */
    async waitReplayed(input: EngineTarget & { position: EnginePosition; timeoutMs: number }): Promise<{ reached: true; replayed: EnginePosition } | { reached: false; reason: string }> {
      try {
        return await withSession(input, (s) =>
          pollUntil({ what: `${input.identifier} to replay ${input.position.value || 'the writer\'s position'}`, timeoutMs: input.timeoutMs, initialIntervalMs: 100, maxIntervalMs: 1000 }, async () => {
            const r = await replayState(s, input.engine, input.position.value);
            return { done: r.caught, value: { reached: true as const, replayed: r.position }, progress: `replayed ${r.position.value}` };
          }),
        );
      } catch (e) {
        if (e instanceof Unreachable) return { reached: false, reason: e.message };
        throw e;
      }
    },

    /** What the replica has replayed now (an unplanned promotion's accepted loss window), or why it cannot be read. */
    async replayPosition(input: EngineTarget): Promise<{ reached: true; replayed: EnginePosition } | { reached: false; reason: string }> {
      try {
        return await withSession(input, async (s) => ({ reached: true as const, replayed: (await replayState(s, input.engine, '')).position }));
      } catch (e) {
        if (e instanceof Unreachable) return { reached: false, reason: e.message };
        throw e;
      }
    },

    /** The writer's write position now (a failback reads how far an old writer got past the promoted replica). */
    async writerPosition(input: EngineTarget): Promise<{ reached: true; position: EnginePosition } | { reached: false; reason: string }> {
      try {
        return await withSession(input, async (s) => ({ reached: true as const, position: { kind: input.engine === 'postgres' ? 'lsn' : 'gtid', value: await writePosition(s, input.engine), at: new Date().toISOString() } }));
      } catch (e) {
        if (e instanceof Unreachable) return { reached: false, reason: e.message };
        throw e;
      }
    },

    /**
     * The fallback fence when the engine cannot be reached: RebootDBInstance without failover ends every session (the
     * security groups already refuse new ones). An instance `rebooting` already (before or after a passing state it is
     * waited out of) is not rebooted again, nor is one a retried attempt rebooted (its heartbeat); a `stopped` one has
     * no session to end. Refused (FenceNotProven) when a reboot would apply pending modifications or a parameter group
     * `pending-reboot`: a failover must not apply them behind the team's back. A cancel before the call stops it. One
     * deadline (`timeoutMs`) for the whole fallback. Returns when the instance is available again.
     */
    async rebootToFence(input: { region: string; identifier: string; timeoutMs: number }): Promise<{ rebooted: boolean; status: string; availableAt: number }> {
      const ctx = inActivity();
      const earlier = ctx?.info.heartbeatDetails as { rebootedAt?: number; rebootDeadline?: number } | undefined;
      let rebootedAt = earlier?.rebootedAt;
      const deadline = earlier?.rebootDeadline ?? Date.now() + input.timeoutMs;
      const carry = () => ({ rebootDeadline: deadline, ...(rebootedAt !== undefined ? { rebootedAt } : {}) });
      const wait = (what: string, done: (status: string) => boolean) =>
        pollUntil({ what: `${input.identifier} ${what}`, timeoutMs: Math.max(1000, deadline - Date.now()), initialIntervalMs: 1000, maxIntervalMs: 10_000, carry }, async () => {
          const st = (await instance(input.region, input.identifier)).DBInstanceStatus ?? 'unknown';
          return { done: done(st), value: st, progress: st };
        });
      ctx?.heartbeat({ ...carry(), progress: 'starting' });
      if (rebootedAt === undefined) {
        const settled = await wait('to settle before its reboot', (st) => ['available', 'rebooting', 'stopped'].includes(st));
        if (settled === 'stopped') return { rebooted: false, status: settled, availableAt: Date.now() };
        if (settled === 'available') {
          const db = await instance(input.region, input.identifier);
          const pending = Object.entries(db.PendingModifiedValues ?? {})
            .filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && !Array.isArray(v) && Object.values(v as object).every((x) => x === undefined || (Array.isArray(x) && x.length === 0))))
            .map(([k]) => k);
          const groups = (db.DBParameterGroups ?? []).filter((g) => g.ParameterApplyStatus === 'pending-reboot').map((g) => `parameter group ${g.DBParameterGroupName} pending-reboot`);
          if (pending.length + groups.length > 0) {
            throw typed(FailureType.FenceNotProven, `${input.identifier}'s engine cannot be reached and a reboot would apply ${[...pending, ...groups].join(', ')}: its sessions were not ended; apply or cancel that, or end the sessions by hand`);
          }
          if (ctx?.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? new Error('cancelled');
          await aws('rds:RebootDBInstance', () => deps.rds(input.region).rebootDBInstance({ DBInstanceIdentifier: input.identifier, ForceFailover: false }));
          rebootedAt = Date.now();
          ctx?.heartbeat({ ...carry(), progress: 'rebooted' });
        }
      }
      const status = await wait('to be available after its reboot', (st) => st === 'available');
      return { rebooted: rebootedAt !== undefined, status, availableAt: Date.now() };
    },
  };

  async function replayState(s: Session, engine: EngineTarget['engine'], target: string): Promise<{ caught: boolean; position: EnginePosition }> {
    const at = new Date().toISOString();
    if (engine === 'postgres') {
      const [r] = await s.query<{ lsn: string | null; received: string | null; ahead: boolean | null; caught: boolean | null; ts: Date | null }>(
        `SELECT pg_last_wal_replay_lsn()::text AS lsn, pg_last_wal_receive_lsn()::text AS received,
                pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) > 0 AS ahead,
                CASE WHEN $1 = '' THEN true ELSE pg_wal_lsn_diff(pg_last_wal_replay_lsn(), NULLIF($1, '')::pg_lsn) >= 0 END AS caught,
                pg_last_xact_replay_timestamp() AS ts`,
        [target],
      );
      if (r.lsn === null) throw typed(FailureType.InvalidState, 'the replica is not in recovery (pg_last_wal_replay_lsn is null): it is not a replica');
      return { caught: Boolean(r.caught), position: { kind: 'lsn', value: r.lsn, at, ...(r.ts ? { lastReplayedAt: new Date(r.ts).toISOString() } : {}), ...(r.ahead && r.received ? { received: r.received } : {}) } };
    }
    const [r] = await s.query<{ pos: string; waited: number | null }>('SELECT @@GLOBAL.gtid_slave_pos AS pos, MASTER_GTID_WAIT(?, 0.5) AS waited', [target]);
    return { caught: Number(r.waited) === 0, position: { kind: 'gtid', value: String(r.pos ?? ''), at } };
  }
}
