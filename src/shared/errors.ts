/**
 * One error class for operational failures (bad usage, unreadable input, invalid config).
 * Per-record problems are not errors: they are counted `ReadIssue` values (see model/record.ts).
 */

/** Stable, documented codes. Adding one is a minor change; renaming one is breaking. */
export type ErrorCode =
  | "ERR_USAGE"
  | "ERR_INPUT_MISSING"
  | "ERR_INPUT_UNREADABLE"
  | "ERR_FORMAT_UNKNOWN"
  | "ERR_POLICY_INVALID"
  | "ERR_OUTPUT"
  | "ERR_STORE";

/**
 * `message` and `hint` may quote what the user gave or an input held (a path, a policy value):
 * raw, never escaped here. The CLI prints them only through its terminal escaping (cli/run.ts);
 * a library caller escapes them for its own output.
 */
export class GuestOpsError extends Error {
  override readonly name = "GuestOpsError";
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }
}

export const isGuestOpsError = (error: unknown): error is GuestOpsError =>
  error instanceof GuestOpsError;

/** A Node system error (ENOENT, EACCES, ...): the only kind of failure we wrap as input trouble. */
export const isSystemError = (error: unknown): error is NodeJS.ErrnoException =>
  error instanceof Error && "syscall" in error;
