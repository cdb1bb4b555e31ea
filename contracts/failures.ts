/**
 * The one list of failure types drover raises. Permanent ones are non-retryable ApplicationFailures;
 * throttling and 5xx errors are plain errors that Temporal retries with backoff.
 */
export const FailureType = {
  /** IAM denied the call: retrying will not help. */
  PermissionDenied: 'PermissionDenied',
  /** AWS rejected the request's parameters, or drover's input was invalid. */
  Validation: 'Validation',
  /** A resource the runbook names does not exist. */
  NotFound: 'NotFound',
  /** AWS refused the call with a 4xx code drover does not recognise, on several attempts (or once, outside a run). */
  AwsRejected: 'AwsRejected',
  /** A resource is in a state the step cannot work from (e.g. the replica is not a replica). */
  InvalidState: 'InvalidState',
  /**
   * The fenced writer could not be proven stopped (a client session survived, or its write position kept moving, within
   * the runbook's proof bound); a planned promotion unfences and stops.
   */
  FenceNotProven: 'FenceNotProven',
  /** One or more preflight checks failed; nothing was changed. */
  PreflightFailed: 'PreflightFailed',
  /** An approver rejected the run at a gate. */
  ApprovalRejected: 'ApprovalRejected',
  /** A gate timed out without the approvals it needs. */
  ApprovalTimedOut: 'ApprovalTimedOut',
  /** Alarms or probes breached during a soak; traffic was reverted. */
  HealthBreach: 'HealthBreach',
  /** A wait did not reach its target state within its bound. */
  WaitTimedOut: 'WaitTimedOut',
  /** Final verification found the target region not in the intended state. */
  VerificationFailed: 'VerificationFailed',
  /** A drill was refused before it changed anything (not opted in, outside its window, cooldown, a real run active). */
  DrillRefused: 'DrillRefused',
  /** A run was cancelled (an operator, or a real failover preempting a drill); it undid what it could first. */
  RunCancelled: 'RunCancelled',
  /** Another run holds the runbook's lock (one run per runbook; a drill asks while anything runs). Nothing was changed. */
  RunbookBusy: 'RunbookBusy',
  /** A drill's run found a real run had taken the runbook's lock: it stopped before its next step, and the drill rolled back. */
  Preempted: 'Preempted',
  /** A drill was cancelled (e.g. preempted by a real failover) and failed back. */
  DrillCancelled: 'DrillCancelled',
  /** A drill's failover or failback failed a check; it failed back (or rolled back) at once. */
  DrillFailed: 'DrillFailed',
  /** The OpenTofu/Terraform binary is missing or cannot run. */
  IacToolMissing: 'IacToolMissing',
  /** The synthesized stack is invalid (init, validate or plan rejected it); nothing was applied. */
  IacInvalidStack: 'IacInvalidStack',
  /** The plan would destroy or replace a resource the runbook does not allow; nothing was applied. */
  IacPlanRefused: 'IacPlanRefused',
  /** The plan to apply no longer matches the approved one (state changed since approval); nothing more was applied. */
  IacPlanChanged: 'IacPlanChanged',
  /** OpenTofu failed during apply; the state it wrote is kept. */
  IacApplyFailed: 'IacApplyFailed',
  /** The redeploy hook exited non-zero or timed out. */
  RedeployFailed: 'RedeployFailed',
  /** A rebuild was refused before it changed anything (traffic still on the region, no rebuild section). */
  RebuildRefused: 'RebuildRefused',
  /** An approval or rejection was refused: identity forged, expired, replayed or unverifiable, or not allowed by the gate's policy. */
  ApprovalRefused: 'ApprovalRefused',
  /** The worker refused the run's runbook: it has none of that name, or its copy differs from the one the starter validated. Nothing was changed. */
  RunbookRefused: 'RunbookRefused',
  /** The run needs a verified requester (a gate forbids self-approval) and none was proven at its start. Nothing was changed. */
  RequesterUnverified: 'RequesterUnverified',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failure types no retry can fix. */
export const NON_RETRYABLE: string[] = Object.values(FailureType);
