// A run of payloads that lie in one buffer (a received replication chunk): payload i is
// `bytes[offsets[i], offsets[i] + lengths[i])`, in seq order. Appending a run skips the array of
// payload views a batch needs: the disk log encodes its records in one pass from `bytes`, and the
// in-memory store may keep `bytes` itself as an arena instead of copying each payload.

import { RedexError, RedexErrorCode } from './errors.js';

export interface PayloadRun {
  readonly bytes: Uint8Array;
  /** Byte offsets of the payloads within `bytes`. */
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  /** Number of payloads: the first `count` entries of `offsets` and `lengths`. */
  readonly count: number;
}

/** A run that passed `checkPayloadRun`, with the payload bytes it counted. */
export interface CheckedRun {
  readonly run: PayloadRun;
  readonly payloadBytes: number;
}

/**
 * Checks a run before anything is written, and returns the sum of its payload lengths. A run
 * whose count exceeds its arrays, or whose payloads reach past the end of `bytes` (a truncated
 * chunk), is INVALID_ARGUMENT.
 */
export function checkPayloadRun(run: PayloadRun): number {
  const bytes = run?.bytes;
  const { offsets, lengths, count } = run ?? {};
  if (
    !(bytes instanceof Uint8Array) ||
    !(offsets instanceof Uint32Array) ||
    !(lengths instanceof Uint32Array) ||
    !Number.isSafeInteger(count) ||
    count < 0 ||
    count > offsets.length ||
    count > lengths.length
  ) {
    throw invalid('a run must be { bytes, offsets, lengths, count } with count ≤ both arrays');
  }
  const end = bytes.byteLength;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const length = lengths[i]!;
    if (offsets[i]! + length > end) {
      throw invalid(
        `payload ${i} of the run ends at byte ${offsets[i]! + length}, past the ${end} bytes given`,
      );
    }
    total += length;
  }
  return total;
}

/** A run holding copies of `payloads` back to back (tests, and callers that hold an array). */
export function payloadRunOf(payloads: readonly Uint8Array[]): PayloadRun {
  const count = payloads.length;
  const offsets = new Uint32Array(count);
  const lengths = new Uint32Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) total += payloads[i]!.byteLength;
  const bytes = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const payload = payloads[i]!;
    bytes.set(payload, at);
    offsets[i] = at;
    lengths[i] = payload.byteLength;
    at += payload.byteLength;
  }
  return { bytes, offsets, lengths, count };
}

function invalid(message: string): RedexError {
  return new RedexError(RedexErrorCode.InvalidArgument, message);
}
