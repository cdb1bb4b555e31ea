/** How drover reaches a database's engines: the runbook's `database.access`, defaults applied (runbooks/schema.ts). */
export interface EngineAccess {
  /** A Secrets Manager secret's name (read in each side's region) or ARN, holding {username, password}. */
  secretId: string;
  /** The replica side's, when not `secretId`. */
  replicaSecretId?: string;
  database?: string;
  tls: 'verify-full' | 'off';
  caFile?: string;
  /** ms */
  quietWindow: number;
  /** ms */
  proofTimeout: number;
}

/**
 * A write position read from an engine: PostgreSQL's WAL LSN (pg_current_wal_lsn on a writer, pg_last_wal_replay_lsn
 * on a replica) or MariaDB's GTID state (gtid_binlog_pos on a writer, gtid_slave_pos on a replica).
 */
export interface EnginePosition {
  kind: 'lsn' | 'gtid';
  value: string;
  /** When it was read (ISO 8601). */
  at: string;
  /** PostgreSQL replicas: the commit time of the last transaction replayed (pg_last_xact_replay_timestamp). */
  lastReplayedAt?: string;
  /**
   * PostgreSQL replicas: the WAL received so far (pg_last_wal_receive_lsn), when ahead of what is replayed. A promotion
   * replays all of it before the replica takes writes, so an unplanned promotion's loss starts after it.
   */
  received?: string;
}

/**
 * The evidence behind a promotion's RPO. `engine`: positions read from the engines (the fenced writer's final
 * position and the replica's replay of it; or, unplanned, what the replica had replayed). `replica-lag`: CloudWatch's
 * ReplicaLag, a 60-second metric, weaker (the engines could not be reached, or the runbook gives no access).
 */
export interface RpoEvidence {
  kind: 'engine' | 'replica-lag';
  /** The fenced writer's final position (planned). */
  writer?: EnginePosition;
  /** What the replica had replayed when it was promoted. */
  replica?: EnginePosition;
  /** Client sessions the fence ended on the writer. */
  sessionsEnded?: number;
  /** How the writer's sessions were ended: by the engine, or by a reboot (the engine did not answer). */
  fencedBy?: 'sessions' | 'reboot' | 'network-only';
  /** Why the stronger evidence was not had, when it was not. */
  weaker?: string;
  /**
   * MariaDB (engine-read-only-v1): whether the fence held `read_only` in the writer's own parameter group, whether the
   * engine read it ON when the fence was proven, or why it was not held.
   */
  readOnly?: { held: boolean; group?: string; engine?: boolean; why?: string };
}

/** The evidence in a sentence, for `drover status` and the reports; none for runs that recorded none. */
export function describeEvidence(e: RpoEvidence | undefined): string | undefined {
  if (!e) return undefined;
  if (e.kind === 'engine') {
    const ended = e.sessionsEnded !== undefined ? `, ${e.sessionsEnded} client session(s) ended` : '';
    const ro = e.readOnly?.held ? `, read_only held in its parameter group ${e.readOnly.group ?? ''}${e.readOnly.engine === false ? ' (not yet read ON by the engine)' : ''}` : '';
    if (e.writer && e.replica) return `from the engines: the fenced writer stopped at ${e.writer.kind.toUpperCase()} ${e.writer.value}${ended}${ro}, and the replica replayed ${e.replica.value} before promotion`;
    if (e.replica) {
      const received = e.replica.received ? `, received ${e.replica.received}` : '';
      return `from the engines: the replica had replayed ${e.replica.kind.toUpperCase()} ${e.replica.value}${received}${e.replica.lastReplayedAt ? ` (last commit replayed at ${e.replica.lastReplayedAt})` : ''} when promoted; the lost writer's writes after ${e.replica.received ?? e.replica.value} are the loss`;
    }
  }
  const how = e.fencedBy === 'reboot' ? '; the writer was fenced by a reboot' : '';
  return `CloudWatch ReplicaLag only (weaker evidence than the engines' positions${e.weaker ? `: ${e.weaker}` : ''})${how}`;
}

/** How far an old writer got past what its promoted replica had: WAL bytes (PostgreSQL) or transactions (MariaDB GTIDs). */
export interface Divergence {
  kind: 'lsn' | 'gtid';
  /** PostgreSQL: WAL bytes the old writer wrote past the replica's position (0: nothing lost). */
  bytes?: number;
  /** MariaDB: transactions (GTID sequence numbers, over every replication domain) past the replica's position. */
  transactions?: number;
}

/** An LSN (`16/B374D848`) as a number of bytes; undefined when it is not one. */
function lsnBytes(lsn: string): bigint | undefined {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  return m ? (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`) : undefined;
}

/** A MariaDB GTID list (`0-1-42,1-2-7`) as the highest sequence number per replication domain. */
function gtidDomains(list: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const gtid of list.split(',').map((g) => g.trim()).filter(Boolean)) {
    const m = /^(\d+)-(\d+)-(\d+)$/.exec(gtid);
    if (!m) continue;
    const seq = BigInt(m[3]);
    if ((out.get(m[1]) ?? -1n) < seq) out.set(m[1], seq);
  }
  return out;
}

/**
 * How far `final` (the old writer's position, read when its region is back) is past `promotedAt` (what the replica had
 * received or replayed when it was promoted): the writes the old writer took that the new one never got. Undefined
 * when the two are not comparable (different kinds, unparseable).
 */
export function divergence(final: EnginePosition, promotedAt: EnginePosition): Divergence | undefined {
  if (final.kind !== promotedAt.kind) return undefined;
  if (final.kind === 'lsn') {
    const a = lsnBytes(final.value);
    const b = lsnBytes(promotedAt.received ?? promotedAt.value);
    if (a === undefined || b === undefined) return undefined;
    return { kind: 'lsn', bytes: Number(a > b ? a - b : 0n) };
  }
  const had = gtidDomains(promotedAt.value);
  let past = 0n;
  for (const [domain, seq] of gtidDomains(final.value)) {
    const at = had.get(domain) ?? 0n;
    if (seq > at) past += seq - at;
  }
  return { kind: 'gtid', transactions: Number(past) };
}

/** A divergence in words. */
export function describeDivergence(d: Divergence): string {
  // WAL also holds the engine's own records (checkpoints, a restart's recovery), and a GTID RDS's own heartbeat writes:
  // what is past is at most what clients wrote.
  if (d.kind === 'lsn') return d.bytes === 0 ? 'nothing past it (0 bytes of WAL)' : `at most ${d.bytes} bytes of WAL past it (its transactions and the engine's own records)`;
  return d.transactions === 0 ? 'nothing past it (0 transactions)' : `at most ${d.transactions} transaction(s) past it`;
}
