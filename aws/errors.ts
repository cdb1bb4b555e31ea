import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../contracts/failures';

const PERMISSION = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'AuthorizationError',
  'NotAuthorized',
  // Credentials AWS does not accept: no retry makes them valid.
  'InvalidAccessKeyId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
]);
const VALIDATION = new Set(['ValidationError', 'ValidationException', 'InvalidParameterValue', 'InvalidParameterCombination', 'InvalidInput', 'InvalidChangeBatch', 'InvalidParameterException', 'InvalidRequestException', 'MissingParameter']);
const NOT_FOUND = new Set([
  'DBInstanceNotFound',
  'DBInstanceNotFoundFault',
  'DBSnapshotNotFound',
  'DBSnapshotNotFoundFault',
  'DBClusterNotFoundFault',
  'GlobalClusterNotFoundFault',
  'ResourceNotFoundException',
  'NoSuchHostedZone',
  'NoSuchChange',
  'NotFoundException',
  'ResourceNotFound',
  // SNS (query protocol): Publish to a topic that does not exist.
  'NotFound',
]);
// Not listed: ResourceInUseException (EKS) and PriorRequestNotComplete (Route 53) clear by themselves, so Temporal retries them.
const INVALID_STATE = new Set([
  'InvalidDBInstanceState',
  'InvalidDBInstanceStateFault',
  'InvalidGlobalClusterStateFault',
  // The manual snapshot quota: a retry meets it until someone deletes snapshots (every failback and cleanup takes some).
  'SnapshotQuotaExceeded',
  'SnapshotQuotaExceededFault',
]);

interface AwsErrorShape {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/** The AWS error code of an SDK error, if it has one. */
export function awsErrorCode(err: unknown): string | undefined {
  const e = err as AwsErrorShape;
  return e?.Code ?? e?.name;
}

/**
 * 4xx codes that clear by themselves (throttling, a prior change still applying, a resource busy, an
 * expired or skewed request): retried however long it takes, like 5xx and network errors.
 */
const TRANSIENT_4XX = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'SlowDown',
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
  'ResourceInUseException',
  'ConcurrentModification',
  'ConcurrentModificationException',
  'RequestTimeout',
  'RequestTimeoutException',
  'RequestExpired',
  'RequestTimeTooSkewed',
  'IDPCommunicationError',
  'EC2ThrottledException',
  'TransactionInProgressException',
  // S3: "A conflicting conditional operation is currently in progress against this resource. Try again."
  'OperationAborted',
  // S3: a conditional write (the audit trail's If-None-Match) met another one on the same key at once.
  'ConditionalRequestConflict',
]);

/**
 * The typed failure a code's family names (AWS's own naming: `…NotFound…`, `NoSuch…`, `Invalid…`), if any.
 * `Invalid…State…` codes are left out: a resource busy (modifying, backing up) answers them, and it clears.
 */
function familyOf(code: string): FailureType | undefined {
  if (/^Invalid.*State(Fault|Exception)?$/.test(code)) return undefined;
  if (/^NoSuch|NotFound(Fault|Exception|Error)?$/.test(code)) return FailureType.NotFound;
  if (/^(Invalid|Malformed|Missing)|Validation(Error|Exception)?$|^UnsupportedOperation/.test(code)) return FailureType.Validation;
  return undefined;
}

/** An AWS 4xx drover does not recognise is retried this many attempts at most, then failed for good. */
export const UNKNOWN_4XX_ATTEMPTS = 5;

/** The attempt of the activity this runs in; outside one (a CLI call, never retried by Temporal) as if the last. */
function activityAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * Turn an AWS SDK error into drover's typed failure: permanent errors (by code, then by the code's family)
 * become non-retryable ApplicationFailures naming the call; throttling, 5xx and network errors are rethrown
 * for Temporal to retry; a 4xx with a code drover does not recognise is retried a few attempts (it may be a
 * transient AWS has not documented), then fails for good rather than retrying forever.
 */
export function toFailure(err: unknown, call: string, note?: string): Error {
  const e = err as AwsErrorShape;
  const code = awsErrorCode(err) ?? 'Unknown';
  const requestId = e?.$metadata?.requestId;
  const detail = `${call} failed: ${code}: ${e?.message ?? String(err)}${requestId ? ` (request ${requestId})` : ''}${note ? `; ${note}` : ''}`;
  const permanent = (type: FailureType, message = detail) => ApplicationFailure.create({ type, message, nonRetryable: true, details: [{ call, code, requestId }] });
  if (PERMISSION.has(code)) return permanent(FailureType.PermissionDenied);
  if (VALIDATION.has(code)) return permanent(FailureType.Validation);
  if (NOT_FOUND.has(code)) return permanent(FailureType.NotFound);
  if (INVALID_STATE.has(code)) return permanent(FailureType.InvalidState);
  const status = e?.$metadata?.httpStatusCode;
  const clientError = status !== undefined && status >= 400 && status < 500;
  if (clientError && !TRANSIENT_4XX.has(code)) {
    const family = familyOf(code);
    if (family) return permanent(family);
    const attempt = activityAttempt();
    // The activity's attempt, whatever failed its earlier attempts: a bound on how long an unknown refusal is retried.
    if (attempt >= UNKNOWN_4XX_ATTEMPTS) {
      const tries = Number.isFinite(attempt) ? ` (HTTP ${status}, not retried after activity attempt ${attempt})` : ` (HTTP ${status})`;
      return permanent(FailureType.AwsRejected, `${detail}${tries}`);
    }
  }
  return err instanceof Error ? err : new Error(detail);
}

/** Run one AWS call; permanent errors come back typed, transient ones are left for Temporal to retry. */
export async function aws<T>(call: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFailure(err, call);
  }
}
