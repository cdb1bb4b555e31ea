import { ApplicationFailure } from '@temporalio/common';
import { GENESIS_HASH, type AuditDraft, type AuditDraftInput, type AuditHead, type AuditRunRef } from '../audit/chain';
import { sealEvents } from '../audit/hash';
import { scrubSecrets } from '../audit/scrub';
import { JsonlStore } from '../audit/jsonl-store';
import { ensureAuditBucket, S3Store } from '../audit/s3-store';
import { AuditStoreError, type AuditStore } from '../audit/store';
import { FailureType } from '../contracts/failures';
import type { S3Api } from '../aws/clients';
import { inActivity } from './wait';

export { scrubSecrets } from '../audit/scrub';

/** Where a run's audit events go; plain data, so it can travel in workflow inputs. */
export type AuditTarget =
  | {
      kind: 'jsonl';
      /** Default: the worker's `$DROVER_HOME/audit`. */
      dir?: string;
    }
  | {
      kind: 's3';
      /** The standby region by default, so the trail survives the loss of the primary. */
      region: string;
      bucket: string;
      /** Default `drover-audit/`. */
      prefix?: string;
      mode: 'COMPLIANCE' | 'GOVERNANCE';
      retentionDays: number;
    };

export interface AppendAuditInput extends AuditRunRef {
  /** One target, or several that each receive the same sealed events (e.g. S3 and the local JSONL copy). */
  target: AuditTarget | AuditTarget[];
  /** The events to add, in order; `at` must be set by the workflow. Run identity fields may be left out. */
  drafts: AuditDraftInput[];
  /** The head the previous append returned; undefined for the run's first events. */
  after?: AuditHead;
}

export interface AuditDeps {
  /** An S3 client for a region (AwsClients.s3). */
  s3: (region: string) => S3Api;
  /** The JSONL directory when a target names none; default `$DROVER_HOME/audit`. */
  defaultDir?: string;
}

/** The audit activities: seal drafts into the run's SHA-256 chain and write them, idempotently, to every target. */
export function createAuditActivities(deps: AuditDeps) {
  const jsonl = new Map<string, JsonlStore>();
  const storeFor = (target: AuditTarget): AuditStore => {
    if (target.kind === 's3') {
      return new S3Store({ s3: deps.s3(target.region), bucket: target.bucket, prefix: target.prefix, retention: { mode: target.mode, retentionDays: target.retentionDays } });
    }
    const dir = target.dir ?? deps.defaultDir;
    const key = dir ?? '';
    if (!jsonl.has(key)) jsonl.set(key, new JsonlStore(dir));
    return jsonl.get(key) as JsonlStore;
  };

  return {
    /**
     * Seal `drafts` after `after` and write them to every target; returns the new head. Deterministic, so a retry
     * (e.g. after a worker was killed mid-write) seals identical events and rewrites nothing: no gap, no duplicate.
     */
    async appendAudit(input: AppendAuditInput): Promise<AuditHead> {
      const run: AuditRunRef = { runId: input.runId, workflowId: input.workflowId, runbook: input.runbook };
      const drafts = input.drafts.map((entry, i): AuditDraft => {
        for (const k of ['runId', 'workflowId', 'runbook'] as const) {
          if (entry[k] !== undefined && entry[k] !== run[k]) throw invalid(`audit draft ${i}: ${k} ${entry[k]} is not this run's ${run[k]}`);
        }
        if (typeof entry.at !== 'string' || Number.isNaN(Date.parse(entry.at))) throw invalid(`audit draft ${i} (${entry.action}): "at" must be an ISO time set by the workflow`);
        return scrubSecrets({ ...entry, ...run });
      });
      if (drafts.length === 0) return input.after ?? { seq: 0, hash: GENESIS_HASH };
      const events = sealEvents(input.after, drafts);
      const targets = Array.isArray(input.target) ? input.target : [input.target];
      for (const target of targets) {
        try {
          await storeFor(target).append(events);
        } catch (e) {
          throw asFailure(e, target.kind === 'jsonl' ? inActivity()?.info.attempt : undefined);
        }
      }
      const head = events[events.length - 1];
      return { seq: head.seq, hash: head.hash };
    },

    /** Create the S3 bucket with Object Lock and default retention (idempotent); JSONL targets need nothing. */
    async prepareAuditTarget(target: AuditTarget): Promise<void> {
      if (target.kind !== 's3') return;
      try {
        await ensureAuditBucket(deps.s3(target.region), { bucket: target.bucket, region: target.region, mode: target.mode, retentionDays: target.retentionDays });
      } catch (e) {
        throw asFailure(e);
      }
    },
  };
}

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.Validation, message, nonRetryable: true });
}

/**
 * How many attempts an append gets while the worker's local trail cannot be written (a file where its directory
 * must be, permissions, a full or read-only disk: plain errors, retried so another worker or an operator can fix
 * it). With the activity's backoff (1 s doubling to 30 s) the 20th attempt comes about 8 minutes after the first.
 * Then it fails for good: a run must end, and a drill held at its audit drain would hold a real failover that
 * preempts it.
 */
export const LOCAL_TRAIL_ATTEMPTS = 20;

/**
 * Store refusals are permanent: retrying cannot make a conflicting event fit the chain. A file-system error of a
 * local trail (`localAttempt`: the attempt that met it) is retried until LOCAL_TRAIL_ATTEMPTS, then permanent.
 */
function asFailure(e: unknown, localAttempt?: number): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (!(e instanceof AuditStoreError) && typeof code === 'string' && localAttempt !== undefined && localAttempt >= LOCAL_TRAIL_ATTEMPTS) {
    return ApplicationFailure.create({
      type: FailureType.Validation,
      message: `${(e as Error).message} (still failing at attempt ${localAttempt}: the local trail is given up so the run can end)`,
      nonRetryable: true,
      details: [{ auditError: 'invalid' }],
    });
  }
  if (!(e instanceof AuditStoreError)) return e;
  const type = e.code === 'not-found' ? FailureType.NotFound : e.code === 'invalid' ? FailureType.Validation : FailureType.InvalidState;
  return ApplicationFailure.create({ type, message: e.message, nonRetryable: true, details: [{ auditError: e.code, seq: e.seq }] });
}
