// The replica's in-flight SyncRequest tokens (the seed's `OutstandingRequests`;
// docs/DESIGN.md#request-tokens).
// Every request carries a random 64-bit token recorded here against the leader it went to; a
// SyncResponse or SyncNack is only acted on when it carries a live token from that leader, so a
// stale answer to a re-issued request, or a frame forged by another member, never reaches the log.
// Pure: callers pass `nowMs`.

import type { NodeId } from '../wire/types.js';

/** A token older than this is dead: its answer, if it ever comes, is dropped. */
export const REQUEST_TTL_MS = 30_000;
/**
 * Tokens kept across all leaders. At the cap, expired tokens go first, then the oldest ones, so
 * the set is bounded even under a leader that never answers (upstream only dropped expired
 * tokens, so a burst within one TTL could still grow past it).
 */
export const REQUEST_REGISTRY_SOFT_CAP = 256;

interface Entry {
  readonly leader: NodeId;
  readonly token: bigint;
  readonly sentMs: number;
  /** The request's since_seq; null when the caller did not say. */
  readonly sinceSeq: number | null;
}

/** What a live token's request asked for. */
export interface TakenRequest {
  readonly sinceSeq: number | null;
}

function keyOf(leader: NodeId, token: bigint): string {
  return `${leader}/${token}`;
}

export class OutstandingRequests {
  // Insertion order is send order (time only moves forward), so the first entry is the oldest.
  // Invariant: size ≤ REQUEST_REGISTRY_SOFT_CAP.
  readonly #entries = new Map<string, Entry>();

  get size(): number {
    return this.#entries.size;
  }

  /** Records a freshly minted token sent to `leader` (for a request from `sinceSeq`). */
  record(leader: NodeId, token: bigint, nowMs: number, sinceSeq: number | null = null): void {
    const key = keyOf(leader, token);
    this.#entries.delete(key);
    if (this.#entries.size >= REQUEST_REGISTRY_SOFT_CAP) this.gcExpired(nowMs);
    while (this.#entries.size >= REQUEST_REGISTRY_SOFT_CAP) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    this.#entries.set(key, { leader, token, sentMs: nowMs, sinceSeq });
  }

  /**
   * Consumes the token: true when it was in flight to `leader` and not expired. The entry is
   * removed either way, so an answer is acted on at most once.
   */
  take(leader: NodeId, token: bigint, nowMs: number): boolean {
    return this.takeRequest(leader, token, nowMs) !== null;
  }

  /** As `take`, returning what the request asked for (null when the token was not live). */
  takeRequest(leader: NodeId, token: bigint, nowMs: number): TakenRequest | null {
    const key = keyOf(leader, token);
    const entry = this.#entries.get(key);
    if (entry === undefined) return null;
    this.#entries.delete(key);
    return nowMs - entry.sentMs < REQUEST_TTL_MS ? entry : null;
  }

  /** Forgets every token sent to `leader` (its leadership ended); returns how many. */
  clearLeader(leader: NodeId): number {
    let cleared = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.leader === leader) {
        this.#entries.delete(key);
        cleared++;
      }
    }
    return cleared;
  }

  /** Live tokens to `leader`: the requests it has not answered yet (or never will: lost ones). */
  liveCount(leader: NodeId, nowMs: number): number {
    let count = 0;
    for (const entry of this.#entries.values()) {
      if (entry.leader === leader && nowMs - entry.sentMs < REQUEST_TTL_MS) count++;
    }
    return count;
  }

  /** True when a request to `leader` from `sinceSeq` is in flight (unanswered, not expired). */
  hasRequestFrom(leader: NodeId, sinceSeq: number, nowMs: number): boolean {
    for (const entry of this.#entries.values()) {
      if (
        entry.leader === leader &&
        entry.sinceSeq === sinceSeq &&
        nowMs - entry.sentMs < REQUEST_TTL_MS
      )
        return true;
    }
    return false;
  }

  /** When the newest live token to `leader` was sent, or null: "is a request still in flight?". */
  newestSentMs(leader: NodeId, nowMs: number): number | null {
    let newest: number | null = null;
    for (const entry of this.#entries.values()) {
      if (entry.leader !== leader || nowMs - entry.sentMs >= REQUEST_TTL_MS) continue;
      if (newest === null || entry.sentMs > newest) newest = entry.sentMs;
    }
    return newest;
  }

  gcExpired(nowMs: number): void {
    for (const [key, entry] of this.#entries) {
      if (nowMs - entry.sentMs >= REQUEST_TTL_MS) this.#entries.delete(key);
    }
  }

  assertInvariants(): void {
    if (this.#entries.size > REQUEST_REGISTRY_SOFT_CAP) {
      throw new Error(`outstanding: ${this.#entries.size} tokens > ${REQUEST_REGISTRY_SOFT_CAP}`);
    }
    for (const [key, entry] of this.#entries) {
      if (key !== keyOf(entry.leader, entry.token)) throw new Error('outstanding: bad key');
    }
  }
}
