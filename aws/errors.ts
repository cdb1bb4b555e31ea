import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../contracts/failures';

const PERMISSION = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'UnrecognizedClientException', 'InvalidClientTokenId', 'AuthorizationError', 'NotAuthorized']);
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
 * Turn an AWS SDK error into drover's typed failure: permanent errors become non-retryable
 * ApplicationFailures naming the call; throttling, 5xx and network errors are rethrown for Temporal to retry.
 */
export function toFailure(err: unknown, call: string, note?: string): Error {
  const e = err as AwsErrorShape;
  const code = awsErrorCode(err) ?? 'Unknown';
  const requestId = e?.$metadata?.requestId;
  const detail = `${call} failed: ${code}: ${e?.message ?? String(err)}${requestId ? ` (request ${requestId})` : ''}${note ? `; ${note}` : ''}`;
  const permanent = (type: FailureType) => ApplicationFailure.create({ type, message: detail, nonRetryable: true, details: [{ call, code, requestId }] });
  if (PERMISSION.has(code)) return permanent(FailureType.PermissionDenied);
  if (VALIDATION.has(code)) return permanent(FailureType.Validation);
  if (NOT_FOUND.has(code)) return permanent(FailureType.NotFound);
  if (INVALID_STATE.has(code)) return permanent(FailureType.InvalidState);
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
