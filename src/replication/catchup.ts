// Pull-based catch-up (docs/DESIGN.md#catch-up): the leader's answer to a SyncRequest and the
// replica's application of a SyncResponse. Both decide from explicit inputs and touch the log only
// through the small structural interfaces below, so `RedexFile` (or a test fake) plugs in directly.
//
// Leader: `handleSyncRequest` → a SyncResponse to send, a SyncNack, or "drop" (a misrouted frame).
// Replica: `applySyncResponse` → the new tail, or a typed reason the chunk was not applied; the
// runtime turns GapBeforeChunk into skip-ahead and AppendFailed into the disk-pressure policy.

import { RedexError, RedexErrorCode } from '../errors/redex-error.js';
import { releaseReceivedFrame } from '../wire/receive-pool.js';
import {
  type ChannelId,
  NackCode,
  SyncClass,
  type SyncNack,
  type SyncRequest,
  type SyncResponse,
  type WireEvent,
  type WireEventRun,
} from '../wire/types.js';

/** Hard cap on a response's event bytes, whatever `chunk_max` says; 0 also means this. */
export const CHUNK_BYTES_MAX = 64 * 1024 * 1024;
/** Background requests get at most this much per response. */
export const BACKGROUND_CHUNK_BYTES_MAX = 4 * 1024 * 1024;
/** Per-event wire overhead in a response: seq u64 + payload_len u32. */
export const EVENT_OVERHEAD_BYTES = 12;
/** Fixed part of an encoded SyncResponse (header, channel id, three u64, event count u32). */
export const SYNC_RESPONSE_HEADER_BYTES = 63;

export interface CatchupEvent {
  readonly seq: number;
  readonly payload: Uint8Array;
  readonly timestampNs?: bigint;
}

type MaybePromise<T> = T | Promise<T>;

/** What the leader reads. `RedexFile` satisfies it. */
export interface CatchupSource {
  readonly nextSeq: number;
  /** Lowest retained seq, or null when nothing is retained. */
  readonly firstSeq: number | null;
  /**
   * Retained events in [start, end) while Σ (payload + perEventOverhead) ≤ maxBytes, but always
   * at least one when any exists in the range.
   */
  readRangeLimited(
    start: number,
    end: number,
    maxBytes: number,
    perEventOverhead: number,
  ): MaybePromise<readonly CatchupEvent[]>;
}

/** What the replica writes. `RedexFile` satisfies it. */
export interface CatchupSink {
  readonly nextSeq: number;
  /** Appends all or nothing if `nextSeq === expected`; otherwise throws SeqMismatchError. */
  appendBatchIfNextSeq(
    expected: number,
    payloads: readonly Uint8Array[],
  ): MaybePromise<number | null>;
  /**
   * Optional: `appendBatchIfNextSeq` for the payloads of a decoded chunk as they lie in its frame
   * (`RedexFile.applyReplicatedRun`), used instead of it when the response carries its run. The
   * sink copies what it keeps: once this resolved, the frame's buffer may be reused.
   */
  appendRunIfNextSeq?(expected: number, run: WireEventRun): MaybePromise<number | null>;
}

export type SyncRequestOutcome =
  | { readonly kind: 'response'; readonly response: SyncResponse; readonly costBytes: number }
  | { readonly kind: 'nack'; readonly nack: SyncNack }
  | { readonly kind: 'drop'; readonly reason: 'channel-mismatch' };

function sameChannel(a: ChannelId, b: ChannelId): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Encoded size of a SyncResponse: the bandwidth cost the budget charges. */
export function syncResponseEncodedBytes(response: Pick<SyncResponse, 'events'>): number {
  let bytes = SYNC_RESPONSE_HEADER_BYTES;
  for (const event of response.events) bytes += EVENT_OVERHEAD_BYTES + event.payload.length;
  return bytes;
}

/** Event-byte budget of a request: chunk_max, 0 → the hard cap, never above it; Background ≤ 4 MiB. */
export function chunkBudgetBytes(chunkMax: number, syncClass: SyncClass): number {
  // 0 (and anything that is not a positive number) means "the leader's maximum".
  let budget = chunkMax > 0 ? Math.min(Math.floor(chunkMax), CHUNK_BYTES_MAX) : CHUNK_BYTES_MAX;
  if (syncClass === SyncClass.Background) budget = Math.min(budget, BACKGROUND_CHUNK_BYTES_MAX);
  return budget;
}

function nack(
  request: SyncRequest,
  channelId: ChannelId,
  leaderFirstRetainedSeq: number,
  detail: string,
) {
  const message: SyncNack = {
    kind: 'nack',
    channelId,
    sinceSeq: request.sinceSeq,
    errorCode: NackCode.BadRange,
    leaderFirstRetainedSeq,
    requestId: request.requestId,
    detail,
  };
  return { kind: 'nack', nack: message } as const;
}

function response(
  request: SyncRequest,
  channelId: ChannelId,
  firstSeq: number,
  leaderFirstRetainedSeq: number,
  events: readonly WireEvent[],
  costBytes = syncResponseEncodedBytes({ events }),
): SyncRequestOutcome {
  const message: SyncResponse = {
    kind: 'response',
    channelId,
    firstSeq,
    leaderFirstRetainedSeq,
    requestId: request.requestId,
    events,
  };
  return { kind: 'response', response: message, costBytes };
}

/**
 * Leader side. The caller has checked the role; this decides the answer:
 * - since ≥ nextSeq → an empty response at `since` (the replica is caught up);
 * - a start below the retention floor where data remains → the response starts at the first
 *   retained seq (the replica skips ahead);
 * - nothing retained for the range → BadRange NACK carrying the first retained seq (or, with
 *   nothing retained at all, `nextSeq`: the first seq the leader can ever serve);
 * - otherwise events up to the chunk budget (`chunkBudgetBytes`), 12 bytes of overhead each, the
 *   first always included unless it alone exceeds 64 MiB (→ BadRange pointing past that event).
 * `leader_first_retained_seq` uses the same fallback as the NACK.
 */
export async function handleSyncRequest(
  source: CatchupSource,
  request: SyncRequest,
  channelId: ChannelId,
): Promise<SyncRequestOutcome> {
  // A misrouted frame is dropped, not answered: answering ChannelClosed would idle the replica.
  if (!sameChannel(request.channelId, channelId))
    return { kind: 'drop', reason: 'channel-mismatch' };

  const nextSeq = source.nextSeq;
  const floor = source.firstSeq ?? nextSeq;
  const since = request.sinceSeq;
  if (since >= nextSeq) return response(request, channelId, since, floor, []);

  const start = Math.max(since, floor);
  const budget = chunkBudgetBytes(request.chunkMax, request.syncClass);
  const read =
    start < nextSeq
      ? await source.readRangeLimited(start, nextSeq, budget, EVENT_OVERHEAD_BYTES)
      : [];
  const first = read[0];
  if (first === undefined) {
    const retained = source.firstSeq ?? source.nextSeq;
    return nack(
      request,
      channelId,
      retained,
      `since_seq ${since} is below the first retained seq ${retained}`,
    );
  }
  const firstCost = EVENT_OVERHEAD_BYTES + first.payload.length;
  if (firstCost > CHUNK_BYTES_MAX) {
    // This event can never be sent. The NACK's retained-seq field points just past it, so the
    // replica's BadRange skip makes progress instead of re-asking for it forever; the skip is
    // counted like any other.
    return nack(
      request,
      channelId,
      first.seq + 1,
      `event ${first.seq} needs ${firstCost} bytes, above the ${CHUNK_BYTES_MAX}-byte response limit`,
    );
  }
  // Re-apply the budget and the no-gap rule here so a source that over-delivers cannot break
  // the response's invariants. The events read are sent as they are (no copy per event), cut
  // short only where a rule stops them.
  let used = firstCost;
  let count = 1;
  for (; count < read.length; count++) {
    const event = read[count]!;
    const cost = EVENT_OVERHEAD_BYTES + event.payload.length;
    if (event.seq !== first.seq + count || used + cost > budget) break;
    used += cost;
  }
  const events: readonly WireEvent[] = count === read.length ? read : read.slice(0, count);
  return response(request, channelId, first.seq, floor, events, SYNC_RESPONSE_HEADER_BYTES + used);
}

export type ApplyError =
  | { readonly kind: 'ChannelMismatch' }
  | { readonly kind: 'StaleChunk'; readonly firstSeq: number; readonly localNext: number }
  | { readonly kind: 'FirstSeqMismatch'; readonly declared: number; readonly observed: number }
  | { readonly kind: 'NonMonotonic'; readonly index: number }
  | {
      readonly kind: 'GapBeforeChunk';
      readonly firstSeq: number;
      readonly localNext: number;
      /** The local tail is above the leader's first retained seq: the histories differ. */
      readonly divergenceSuspected: boolean;
    }
  | { readonly kind: 'AppendFailed'; readonly error: unknown };

export type ApplyResult =
  | { readonly ok: true; readonly newTail: number; readonly applied: number }
  | { readonly ok: false; readonly error: ApplyError };

function isSeqMismatch(error: unknown): error is RedexError {
  return error instanceof RedexError && error.code === RedexErrorCode.SeqMismatch;
}

/**
 * Replica side. Checks, in order: channel; empty chunk (first_seq below the local next seq →
 * StaleChunk, else a no-op); first event seq = first_seq; strictly consecutive, safe-integer seqs;
 * stale; gap (divergence suspected when the local tail is above the leader's first retained
 * seq); then a guarded batch append, where a seq mismatch (the log moved under us) becomes
 * GapBeforeChunk with divergence suspected and any other failure AppendFailed.
 */
export async function applySyncResponse(
  sink: CatchupSink,
  message: SyncResponse,
  channelId: ChannelId,
): Promise<ApplyResult> {
  if (!sameChannel(message.channelId, channelId)) return fail({ kind: 'ChannelMismatch' });
  const firstSeq = message.firstSeq;
  const localNext = sink.nextSeq;
  // A decoded chunk is read from its columns (no object per event); any other from `events`.
  const run = sink.appendRunIfNextSeq === undefined ? undefined : message.run;
  const events = run === undefined ? message.events : null;
  const count = run?.count ?? events!.length;
  const seqAt = run === undefined ? (i: number) => events![i]!.seq : (i: number) => run.seqs[i]!;
  if (count === 0) {
    // An empty chunk must not claim a start behind us either (docs/DESIGN.md#empty-chunk-checked).
    if (firstSeq < localNext) return fail({ kind: 'StaleChunk', firstSeq, localNext });
    return { ok: true, newTail: localNext, applied: 0 };
  }
  const observed = seqAt(0);
  if (observed !== firstSeq)
    return fail({ kind: 'FirstSeqMismatch', declared: firstSeq, observed });
  for (let i = 0; i < count; i++) {
    const seq = seqAt(i);
    // Overflow-checked: past 2^53 "prev + 1" is no longer exact, so such a chunk is refused.
    if (!Number.isSafeInteger(seq) || seq < 0 || seq !== firstSeq + i) {
      return fail({ kind: 'NonMonotonic', index: i });
    }
  }
  if (firstSeq < localNext) return fail({ kind: 'StaleChunk', firstSeq, localNext });
  if (firstSeq > localNext) {
    return fail({
      kind: 'GapBeforeChunk',
      firstSeq,
      localNext,
      divergenceSuspected: localNext > message.leaderFirstRetainedSeq,
    });
  }
  try {
    if (run === undefined) {
      await sink.appendBatchIfNextSeq(
        localNext,
        events!.map((event) => event.payload),
      );
    } else {
      await sink.appendRunIfNextSeq!(localNext, run);
      // Applied and copied: the frame is done with (the runtime only reads the response's decoded
      // fields after this), so a reassembled one goes back to the receive pool. Every other
      // outcome leaves it to the garbage collector: a chunk may be kept and applied again.
      releaseReceivedFrame(run.bytes);
    }
  } catch (error) {
    if (isSeqMismatch(error)) {
      return fail({
        kind: 'GapBeforeChunk',
        firstSeq,
        localNext: sink.nextSeq,
        divergenceSuspected: true,
      });
    }
    return fail({ kind: 'AppendFailed', error });
  }
  return { ok: true, newTail: sink.nextSeq, applied: count };
}

function fail(error: ApplyError): ApplyResult {
  return { ok: false, error };
}
