// Errors the CLI reports and the exit codes they map to.

export const ExitCode = {
  Ok: 0,
  /** The node answered with an error, could not be reached, or the input was bad. */
  Failure: 1,
  /** The command line itself is wrong (unknown option, missing argument). */
  Usage: 2,
} as const;

/** A failure to report as `redex: <message>` and exit with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number = ExitCode.Failure) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** The node answered with `{ "error": { code, message, ... } }`. */
export class ApiError extends CliError {
  readonly status: number;
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown>) {
    super(message.replace(/^redex: /, ''));
    this.status = status;
    this.code = code;
    this.details = details;
  }
}
