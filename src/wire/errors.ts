// Errors of the wire layer. Two families:
// - `WireError`: bytes from a peer that do not decode. The mesh drops and counts them; the `kind`
//   says why, and `detail` carries the facts (how many bytes were needed, which byte was bad).
// - `WireEncodeError` / `NodeIdError`: a caller handed us a bad value. These are `RedexError`s
//   with a stable `code`, and the message names the field.

import { RedexError, RedexErrorCode } from '../errors/redex-error.js';

export const WireErrorKind = {
  /** The input is not a readable byte array (not a Uint8Array, detached buffer, …). */
  BadInput: 'BadInput',
  /** The frame ends before a field it needs; `needed` is the frame length that was required. */
  Truncated: 'Truncated',
  SubprotocolMismatch: 'SubprotocolMismatch',
  /** A per-message decoder got a frame carrying another message's dispatch code. */
  DispatchMismatch: 'DispatchMismatch',
  /**
   * A dispatch code the decoder does not know: for `decodeAny` anything but 0x20–0x23, for
   * `decodeAnyMessage` anything but 0x20–0x23 and 0x25–0x27.
   */
  UnknownDispatch: 'UnknownDispatch',
  BadRole: 'BadRole',
  BadErrorCode: 'BadErrorCode',
  InvalidUtf8: 'InvalidUtf8',
  /** A u64 seq, epoch or wall clock above Number.MAX_SAFE_INTEGER: the API holds them as numbers. */
  SeqOutOfRange: 'SeqOutOfRange',
  /** A flags byte with a bit set that the message does not define. */
  BadFlags: 'BadFlags',
  /** A response's run_count above EPOCH_RUNS_MAX. */
  TooManyEpochRuns: 'TooManyEpochRuns',
  /** A response's epoch runs are not strictly increasing in start_seq and in epoch. */
  EpochRunsOutOfOrder: 'EpochRunsOutOfOrder',
  /** A heartbeat batch's count is 0 or above HEARTBEAT_BATCH_MAX. */
  BadBatchCount: 'BadBatchCount',
  /** A NodeBeat longer than its header (it has no body). */
  NodeBeatBody: 'NodeBeatBody',
} as const;
export type WireErrorKind = (typeof WireErrorKind)[keyof typeof WireErrorKind];

export type WireErrorDetail =
  | { readonly kind: 'BadInput'; readonly reason: string }
  | { readonly kind: 'Truncated'; readonly needed: number; readonly available: number }
  | { readonly kind: 'SubprotocolMismatch'; readonly subprotocol: number }
  | { readonly kind: 'DispatchMismatch'; readonly expected: number; readonly actual: number }
  | { readonly kind: 'UnknownDispatch'; readonly code: number }
  | { readonly kind: 'BadRole'; readonly role: number }
  | { readonly kind: 'BadErrorCode'; readonly errorCode: number }
  | { readonly kind: 'InvalidUtf8'; readonly field: string }
  | { readonly kind: 'SeqOutOfRange'; readonly field: string; readonly value: bigint }
  | { readonly kind: 'BadFlags'; readonly field: string; readonly flags: number }
  | { readonly kind: 'TooManyEpochRuns'; readonly count: number; readonly max: number }
  | { readonly kind: 'EpochRunsOutOfOrder'; readonly index: number; readonly field: string }
  | { readonly kind: 'BadBatchCount'; readonly count: number; readonly max: number }
  | { readonly kind: 'NodeBeatBody'; readonly length: number };

function describe(detail: WireErrorDetail): string {
  switch (detail.kind) {
    case 'BadInput':
      return `input is not a readable byte array: ${detail.reason}`;
    case 'Truncated':
      return `frame truncated: needed ${detail.needed} bytes, have ${detail.available}`;
    case 'SubprotocolMismatch':
      return `subprotocol 0x${detail.subprotocol.toString(16).padStart(4, '0')} is not RedEX (0x0e00)`;
    case 'DispatchMismatch':
      return `dispatch code 0x${detail.actual.toString(16)}, expected 0x${detail.expected.toString(16)}`;
    case 'UnknownDispatch':
      return `unknown dispatch code 0x${detail.code.toString(16)}`;
    case 'BadRole':
      return `role byte ${detail.role} is not 0..3`;
    case 'BadErrorCode':
      return `NACK error code ${detail.errorCode} is not 1..5`;
    case 'InvalidUtf8':
      return `${detail.field} is not valid UTF-8`;
    case 'SeqOutOfRange':
      return `${detail.field} ${detail.value} exceeds Number.MAX_SAFE_INTEGER`;
    case 'BadFlags':
      return `${detail.field} 0x${detail.flags.toString(16).padStart(2, '0')} sets an undefined bit`;
    case 'TooManyEpochRuns':
      return `run_count ${detail.count} exceeds ${detail.max}`;
    case 'EpochRunsOutOfOrder':
      return `epoch run ${detail.index}: ${detail.field} does not increase`;
    case 'BadBatchCount':
      return `heartbeat batch count ${detail.count} is not 1..${detail.max}`;
    case 'NodeBeatBody':
      return `a NodeBeat is 3 bytes, got ${detail.length}`;
  }
}

/** A frame from a peer that does not decode. Decoders throw nothing else. */
export class WireError extends Error {
  readonly kind: WireErrorKind;
  readonly detail: WireErrorDetail;

  constructor(detail: WireErrorDetail, options?: { cause?: unknown }) {
    super(`redex: wire: ${describe(detail)}`, options);
    this.name = 'WireError';
    this.kind = detail.kind;
    this.detail = detail;
  }
}

/** Turns anything a decoder caught into a WireError, so callers only ever see one type. */
export function asWireError(error: unknown): WireError {
  if (error instanceof WireError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new WireError({ kind: 'BadInput', reason }, { cause: error });
}

/** Renders a rejected value briefly for an error message (bigints keep their `n`). */
function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value instanceof Uint8Array) return `${value.constructor.name}(${value.length})`;
  return String(value);
}

/** A caller asked to encode a value the wire cannot carry; `field` names it (e.g. `chunkMax`). */
export class WireEncodeError extends RedexError {
  /** The offending field, e.g. `chunkMax` or `events[3].seq`. */
  readonly field: string;

  constructor(message: string, field: string, expected: string, value: unknown) {
    super(
      RedexErrorCode.InvalidArgument,
      `wire: ${message}.${field} must be ${expected}, got ${show(value)}`,
    );
    this.field = field;
  }
}

export type NodeIdProblem = 'public-key-length' | 'zero';

/** A public key that yields no usable NodeId (wrong length, or the hash's first 8 bytes are 0). */
export class NodeIdError extends RedexError {
  readonly problem: NodeIdProblem;

  constructor(problem: NodeIdProblem, message: string) {
    super(RedexErrorCode.InvalidArgument, `wire: ${message}`);
    this.problem = problem;
  }
}
