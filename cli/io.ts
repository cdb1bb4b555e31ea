/** Exit codes of the drover CLI (documented in the README). */
export const EXIT = {
  OK: 0,
  /** The run or check failed (a workflow failed, a verification did not pass). */
  FAILED: 1,
  /** Bad input: an invalid runbook, a bad option or argument. */
  USAGE: 2,
  /** Refused: another run holds the runbook, the gate is not pending, the approver is not allowed. */
  REFUSED: 3,
  /** Not found: no such run. */
  NOT_FOUND: 4,
  /** The Temporal server, the AWS endpoint or a tool is unreachable or missing. */
  UNAVAILABLE: 5,
  /** The run was rejected at an approval gate or aborted. */
  REJECTED: 6,
  /** Readiness is degraded: the next run would go ahead, weaker than the runbook promises (`drover check`, `drover readiness`). */
  DEGRADED: 7,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Sets the exit code of the command being run. */
export type SetExit = (code: ExitCode) => void;

/** Where a command writes; tests pass a capturing implementation. */
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  /** A line about the command itself rather than its result (where it goes); on stderr. Optional for callers that need none. */
  note?(line: string): void;
}

export const consoleIO: CliIO = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  note: (line) => process.stderr.write(`${line}\n`),
};

/** An error a command reports as-is (no stack trace) with a documented exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly lines: string[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}
