// What commands use of the process, injected so tests run commands in-process: output streams,
// stdin, the environment, the clock for progress lines, and interruption (Ctrl-C, SIGTERM).

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stdin: AsyncIterable<Buffer | string>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly nowMs: () => number;
  /** Aborted when the user interrupts: streams and long reads stop cleanly and exit 0. */
  readonly signal: AbortSignal;
  /** Resolves with the signal's name when the process is asked to stop (`serve`). */
  readonly waitForStop: () => Promise<string>;
}

/** The real process: SIGINT/SIGTERM abort `signal` and resolve `waitForStop`. */
export function processIo(): CliIo {
  const interrupt = new AbortController();
  let stopped: ((name: string) => void) | null = null;
  const stop = new Promise<string>((resolve) => {
    stopped = resolve;
  });
  let signals = 0;
  const onSignal = (name: NodeJS.Signals) => {
    signals++;
    // A second Ctrl-C means "now": do not wait for a graceful stop that may be stuck.
    if (signals > 1) process.exit(130);
    interrupt.abort(new Error(name));
    stopped?.(name);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    nowMs: () => Date.now(),
    signal: interrupt.signal,
    waitForStop: () => stop,
  };
}
