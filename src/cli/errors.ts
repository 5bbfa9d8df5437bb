// Errors the CLI reports and the exit codes they map to.

export const ExitCode = {
  Ok: 0,
  /** The node answered with an error, could not be reached, or the input was bad. */
  Failure: 1,
  /** The command line itself is wrong (unknown option, missing argument). */
  Usage: 2,
} as const;

/** The conventional exit code of a command interrupted by SIGINT. */
export const INTERRUPTED_EXIT_CODE = 130;

/** A failure to report as `redex: <message>` and exit with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number = ExitCode.Failure) {
    super(message);
    this.exitCode = exitCode;
  }
}
