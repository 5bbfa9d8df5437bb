// Opening many channels at once (a node starting with thousands of them). One `openFile` is mostly
// waiting on the file system (directories, recovery reads, a few fsyncs), so opening
// them one after another leaves the disk and the CPU idle; all at once would open thousands of
// descriptors and fsyncs together. Here a bounded number run concurrently.

import type { RedexFileConfig } from './config.js';
import { RedexError, RedexErrorCode } from './errors.js';
import type { Redex } from './redex.js';
import type { RedexFile } from './redex-file.js';

/** Opens in flight at once by default. */
export const OPEN_MANY_CONCURRENCY_DEFAULT = 32;
/** Upper bound of `concurrency` (each open holds a few descriptors while it runs). */
export const OPEN_MANY_CONCURRENCY_MAX = 1024;

export interface OpenSpec {
  readonly name: string;
  readonly config?: RedexFileConfig;
}

export interface OpenManyOptions {
  /** Opens in flight at once, 1..OPEN_MANY_CONCURRENCY_MAX (default 32). */
  readonly concurrency?: number;
}

/**
 * Opens every spec with at most `concurrency` opens in flight; resolves to the files in the order
 * of `specs`. The first failure stops starting new opens and rejects once those in flight have
 * settled; the files already opened stay open (the caller owns them through the Redex).
 */
export async function openMany(
  redex: Redex,
  specs: readonly OpenSpec[],
  options: OpenManyOptions = {},
): Promise<RedexFile[]> {
  return mapBounded(specs, options.concurrency ?? OPEN_MANY_CONCURRENCY_DEFAULT, (spec) =>
    redex.openFile(spec.name, spec.config),
  );
}

/**
 * Runs `body` over `items` with at most `concurrency` calls in flight (1..OPEN_MANY_CONCURRENCY_MAX);
 * resolves to the results in the order of `items`. The first failure stops starting new calls and
 * rejects once those in flight have settled. For callers that open channels through more than the
 * Redex (a node's service opening its configured channels at start).
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  body: (item: T) => Promise<R>,
): Promise<R[]> {
  if (
    !Number.isSafeInteger(concurrency) ||
    concurrency < 1 ||
    concurrency > OPEN_MANY_CONCURRENCY_MAX
  ) {
    throw new RedexError(
      RedexErrorCode.InvalidArgument,
      `openMany: concurrency must be an integer in 1..${OPEN_MANY_CONCURRENCY_MAX}, got ${concurrency}`,
    );
  }
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      const index = next++;
      try {
        results[index] = await body(items[index] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
  return results;
}
