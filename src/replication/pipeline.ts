// The replica's catch-up pipeline: while it is behind its leader it keeps up to
// `CATCHUP_PIPELINE_DEPTH` SyncRequests in flight, each for the range after the one asked before,
// so the leader reads and sends the next chunks while the replica writes the current one (one
// round trip per chunk would otherwise bound the pull). Pure: the step functions (step-apply.ts,
// step-state.ts) consult and update it and turn its answers into `request` effects.
//
// A request asks from a seq, not for a range: the leader fills `chunk_max` bytes. So the start of
// the next range is an estimate, `stride` events past the previous start, where the stride is how
// many events of the last response's average size fill `CATCHUP_CHUNK_BYTES` by the leader's rule
// (payload + 12 bytes each). With even event sizes the estimate is exact; when it is not,
// the step trims a response that overlaps what is already applied, and drops one that starts past
// the tail (then the pipeline restarts from the tail), so a wrong guess costs bandwidth, never a
// gap or a double write. The first request of a run is from the tail itself; the later ones are
// speculative and the runtime marks them as not claiming a position (their `since_seq` is not a
// tail the replica holds yet).
//
// The pipeline belongs to one leader and one epoch; anything else (a leader change, a NACK, a
// divergence, a stall) clears it, and it is idle while the replica is caught up (then the long
// poll takes over).

import type { NodeId } from '../wire/types.js';
import { EVENT_OVERHEAD_BYTES } from './catchup.js';

/** Requests a replica keeps in flight to its leader while catching up. */
export const CATCHUP_PIPELINE_DEPTH = 4;
/**
 * `chunk_max` of the pipeline's requests: larger than the steady-state chunk (tick.ts), since a
 * replica this far behind gains from fewer, larger frames; four in flight stay far below the
 * transport's frame limit and the priority lane's capacity.
 */
export const CATCHUP_CHUNK_BYTES = 2 * 1024 * 1024;
/**
 * Heartbeat periods without a request sent before a run with answers due counts as stalled and
 * the tick (or a leader heartbeat) starts a new one from the tail.
 */
export const PIPELINE_STALL_HEARTBEATS = 3;

export class CatchupPipeline {
  #leader: NodeId | null = null;
  #epoch = -1;
  // The since_seq of each request of this run still unanswered, ascending (send order).
  // Invariant: length ≤ CATCHUP_PIPELINE_DEPTH; empty when #leader is null.
  readonly #inFlight: number[] = [];
  // Where the next request of this run starts.
  #frontier = 0;
  // Events per pipelined response, as the last applied response taught it; 0 before the first.
  #stride = 0;
  // The tail when this run started: events at or above it came from this run's leader and epoch.
  #base = 0;

  /** Requests of the current run not answered yet. */
  get inFlight(): number {
    return this.#inFlight.length;
  }

  get leader(): NodeId | null {
    return this.#leader;
  }

  /** The tail the current run started from (meaningless while idle). */
  get base(): number {
    return this.#base;
  }

  /** True when requests from past the tail are in flight (the run had its first answer). */
  get pipelining(): boolean {
    return this.#stride > 0 && this.#inFlight.length > 0;
  }

  /** True when the run is for `leader` in `epoch`. */
  isFor(leader: NodeId, epoch: number): boolean {
    return this.#leader === leader && this.#epoch === epoch;
  }

  /** Forgets the run: leader change, NACK, divergence, stall, or caught up. */
  clear(): void {
    this.#leader = null;
    this.#epoch = -1;
    this.#inFlight.length = 0;
    this.#stride = 0;
  }

  /** Starts a run at `tailSeq` whose first request (from the tail) the caller sends. */
  start(leader: NodeId, epoch: number, tailSeq: number): void {
    this.clear();
    this.#leader = leader;
    this.#epoch = epoch;
    this.#base = tailSeq;
    this.#frontier = tailSeq;
    this.#record(tailSeq);
  }

  /** An answer (response or NACK) to the request from `sinceSeq` arrived. */
  answered(sinceSeq: number): void {
    const at = this.#inFlight.indexOf(sinceSeq);
    if (at >= 0) this.#inFlight.splice(at, 1);
  }

  /**
   * A response covering [firstSeq, endSeq) with `payloadBytes` of payload is about to be
   * applied: the next ranges start no earlier than its end, spaced by the events of its average
   * size that fill a pipelined request (rounded down: an overlap is trimmed, a gap restarts).
   */
  learn(firstSeq: number, endSeq: number, payloadBytes: number): void {
    const count = endSeq - firstSeq;
    if (count <= 0) return;
    const cost = payloadBytes + count * EVENT_OVERHEAD_BYTES;
    this.#stride = Math.max(1, Math.floor((CATCHUP_CHUNK_BYTES * count) / cost));
    if (this.#frontier < endSeq) this.#frontier = endSeq;
  }

  /**
   * The since_seq of the requests to send now to fill the pipeline, recorded as in flight: while
   * fewer than the depth are in flight and the next range starts below `leaderTail` (never a
   * speculative request the leader would hold as a long poll). None before the first response
   * taught a stride.
   */
  fill(leaderTail: number): number[] {
    const out: number[] = [];
    if (this.#leader === null || this.#stride <= 0) return out;
    while (this.#inFlight.length < CATCHUP_PIPELINE_DEPTH && this.#frontier < leaderTail) {
      out.push(this.#frontier);
      this.#record(this.#frontier);
    }
    return out;
  }

  #record(sinceSeq: number): void {
    this.#inFlight.push(sinceSeq);
    this.#frontier = sinceSeq + Math.max(this.#stride, 1);
  }

  assertInvariants(): void {
    const inFlight = this.#inFlight;
    if (inFlight.length > CATCHUP_PIPELINE_DEPTH) {
      throw new Error(`pipeline: ${inFlight.length} requests > ${CATCHUP_PIPELINE_DEPTH}`);
    }
    if (this.#leader === null && inFlight.length > 0) {
      throw new Error('pipeline: requests in flight without a leader');
    }
    for (let i = 1; i < inFlight.length; i++) {
      if (inFlight[i]! <= inFlight[i - 1]!) throw new Error('pipeline: requests out of order');
    }
  }
}
