// Catch-up backoff per leader (the seed's `CatchupBackoff`; docs/DESIGN.md#catchup-backoff).
// A buggy or hostile
// leader that keeps advertising a higher tail but answers with empty chunks would otherwise be
// asked again at wire speed forever. Empty answers from a leader whose heartbeat is fresh count
// as strikes; past `CATCHUP_BACKOFF_THRESHOLD` strikes the replica stops asking that leader for a
// window that starts at 1 s and doubles up to 30 s. Any productive answer clears it. Pure.

import type { NodeId } from '../wire/types.js';
import type { HeartbeatView } from './heartbeat-tracker.js';

/** Empty answers absorbed before backing off (a retention edge can cause a few). */
export const CATCHUP_BACKOFF_THRESHOLD = 3;
export const CATCHUP_BACKOFF_INITIAL_MS = 1_000;
export const CATCHUP_BACKOFF_CAP_MS = 30_000;
/** Largest doubling exponent (2^20 s is far past the cap already). */
const BACKOFF_SHIFT_MAX = 20;
/** Leaders tracked; replica sets hold at most 16 nodes, so this only bites on placement churn. */
export const BACKOFF_LEADERS_MAX = 256;

interface Entry {
  consecutiveEmpty: number;
  /** Null while below the threshold. */
  backoffUntilMs: number | null;
}

export class CatchupBackoff {
  // Invariant: size ≤ BACKOFF_LEADERS_MAX; consecutiveEmpty ≥ 1 for every entry.
  readonly #entries = new Map<NodeId, Entry>();

  get size(): number {
    return this.#entries.size;
  }

  /** Records an empty answer; the 4th and later ones (re)start the backoff window. */
  recordEmpty(leader: NodeId, nowMs: number): void {
    let entry = this.#entries.get(leader);
    if (entry === undefined) {
      if (this.#entries.size >= BACKOFF_LEADERS_MAX) this.#evictOne();
      entry = { consecutiveEmpty: 0, backoffUntilMs: null };
      this.#entries.set(leader, entry);
    }
    entry.consecutiveEmpty = Math.min(entry.consecutiveEmpty + 1, Number.MAX_SAFE_INTEGER);
    if (entry.consecutiveEmpty > CATCHUP_BACKOFF_THRESHOLD) {
      entry.backoffUntilMs = nowMs + backoffWindowMs(entry.consecutiveEmpty);
    }
  }

  /** A productive answer: the leader is fine again. */
  recordProgress(leader: NodeId): void {
    this.#entries.delete(leader);
  }

  /** True while `nowMs` is strictly before the leader's backoff window ends. */
  isInBackoff(leader: NodeId, nowMs: number): boolean {
    const until = this.#entries.get(leader)?.backoffUntilMs ?? null;
    return until !== null && nowMs < until;
  }

  backoffUntilMs(leader: NodeId): number | null {
    return this.#entries.get(leader)?.backoffUntilMs ?? null;
  }

  consecutiveEmpty(leader: NodeId): number {
    return this.#entries.get(leader)?.consecutiveEmpty ?? 0;
  }

  /**
   * Drops entries whose window ended more than `graceMs` ago: a demoted leader never sends a
   * productive answer again, so without this its entry would stay forever. Entries still
   * counting (no window yet) are kept.
   */
  gcExpired(nowMs: number, graceMs: number): void {
    for (const [leader, entry] of this.#entries) {
      if (entry.backoffUntilMs !== null && nowMs - entry.backoffUntilMs >= graceMs) {
        this.#entries.delete(leader);
      }
    }
  }

  #evictOne(): void {
    let victim: NodeId | null = null;
    let earliest = Number.POSITIVE_INFINITY;
    for (const [leader, entry] of this.#entries) {
      const until = entry.backoffUntilMs ?? Number.NEGATIVE_INFINITY;
      if (until < earliest) {
        earliest = until;
        victim = leader;
      }
    }
    if (victim !== null) this.#entries.delete(victim);
  }

  assertInvariants(): void {
    if (this.#entries.size > BACKOFF_LEADERS_MAX) throw new Error('backoff: too many leaders');
    for (const entry of this.#entries.values()) {
      if (entry.consecutiveEmpty < 1) throw new Error('backoff: entry without a strike');
      if (entry.consecutiveEmpty > CATCHUP_BACKOFF_THRESHOLD !== (entry.backoffUntilMs !== null)) {
        throw new Error('backoff: window set below the threshold or missing above it');
      }
    }
  }
}

/** Window after the `consecutiveEmpty`-th empty answer (> threshold): 1 s, 2 s, 4 s … ≤ 30 s. */
export function backoffWindowMs(consecutiveEmpty: number): number {
  const shift = Math.min(
    Math.max(0, consecutiveEmpty - CATCHUP_BACKOFF_THRESHOLD - 1),
    BACKOFF_SHIFT_MAX,
  );
  return Math.min(CATCHUP_BACKOFF_INITIAL_MS * 2 ** shift, CATCHUP_BACKOFF_CAP_MS);
}

/**
 * Whether an empty answer from `leader` (the local tail stayed at `localTail`) is a strike: only
 * when the leader's last heartbeat is inside the silence window and claims more than we hold. A
 * stale heartbeat is no evidence the leader has anything to send (upstream struck on it and
 * backed off from healthy leaders).
 */
export function isEmptyStrike(
  tracker: HeartbeatView,
  leader: NodeId,
  localTail: number,
  nowMs: number,
): boolean {
  const state = tracker.peer(leader);
  const lag = tracker.peerLag(leader, nowMs);
  if (state === undefined || lag === null) return false;
  return lag < tracker.silenceMs && state.tailSeq > localTail;
}
