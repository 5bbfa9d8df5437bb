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

/** What a Node system error (`EADDRINUSE`, `ENOENT`, …) means, in one line without a stack. */
export function describeSystemError(
  error: NodeJS.ErrnoException & { address?: string; port?: number },
): string | null {
  if (typeof error.code !== 'string' || !/^E[A-Z]+$/.test(error.code)) return null;
  const where =
    error.address !== undefined
      ? `${error.address}${error.port === undefined ? '' : `:${error.port}`}`
      : error.path;
  switch (error.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where ?? 'the address'}: it is already in use (is another node running?)`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where ?? 'the address'}: no interface of this machine has that address`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied: ${error.syscall ?? 'access'} ${where ?? ''}`.trimEnd();
    case 'ENOENT':
      return where === undefined ? error.message : `${where}: no such file or directory`;
    default:
      return error.message;
  }
}

/**
 * The one line `redex: …` printed for a failure, and whether it was expected: an error of the CLI,
 * the library, the node or the operating system is; anything else is a bug worth a stack.
 */
export function describeFailure(error: unknown): { message: string; expected: boolean } {
  if (error instanceof Error) {
    const system = describeSystemError(error);
    if (system !== null) return { message: system, expected: true };
    return { message: error.message.replace(/^redex: /, ''), expected: false };
  }
  return { message: String(error), expected: false };
}
