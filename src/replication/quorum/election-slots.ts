// How many of a node's channels may stand for election at once. A node that lost the leader of
// thousands of channels (a failover) or opens thousands at once would otherwise stand for all of
// them together: each election needs durable vote writes on the candidate and then on a voter,
// thousands of them queue on the disk and the thread pool, every election runs out of its window
// before its votes come back, and the next attempts queue more writes behind those of attempts
// already lost (a livelock; bench:channels at 10,000 channels took over none in 80 s). With a
// bound, the elections standing finish within their windows and the others wait their turn (at
// their next periodic check) instead of timing out. Liveness only: votes still decide.
// Shared by the channels of one node (the replicator owns one); a channel that stands takes a
// slot, and gives it back when its election ends — or, whatever becomes of the channel (closed
// mid-election), once a slot is older than any election can last. A channel turned away waits in
// line; when a slot frees, the first in line is woken at once (its runtime checks again) rather
// than at its next periodic check, which comes a whole period later: at 10,000 channels the
// failover otherwise moved one period plus a window per round of slots.

import type { ChannelQuorum } from './channel-quorum.js';
import { ELECTION_GRACE_WINDOWS_MAX } from './election.js';

/** Elections (pre-vote and vote) a node's channels may run at once. */
export const ELECTIONS_STANDING_MAX = 128;

export class ElectionSlots {
  readonly #limit: number;
  /** Each standing channel's quorum, with when it took its slot. */
  readonly #standing = new Map<ChannelQuorum, number>();
  /** How to wake each registered channel's runtime for a check (see `register`). */
  readonly #wakers = new Map<ChannelQuorum, () => void>();
  /** Channels turned away, in the order they asked (a Set keeps insertion order). */
  readonly #waiting = new Set<ChannelQuorum>();

  constructor(limit = ELECTIONS_STANDING_MAX) {
    this.#limit = limit;
  }

  get standing(): number {
    return this.#standing.size;
  }

  /** Channels in line for a slot. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /**
   * `wake` asks the channel's runtime for a prompt check (it may run later, never synchronously
   * inside another channel's step); until `unregister`, a turned-away channel is woken through it.
   */
  register(quorum: ChannelQuorum, wake: () => void): void {
    this.#wakers.set(quorum, wake);
  }

  /** The channel closed: out of line, and its slot, if any, freed for the next in line. */
  unregister(quorum: ChannelQuorum): void {
    this.#wakers.delete(quorum);
    this.#waiting.delete(quorum);
    if (this.#standing.delete(quorum)) this.#wakeNext();
  }

  /** True when `quorum` holds a slot or one is free (slots of ended elections are freed first). */
  mayStand(quorum: ChannelQuorum, nowMs: number): boolean {
    if (this.#standing.has(quorum)) return true;
    if (this.#standing.size >= this.#limit) this.#free(nowMs);
    if (this.#standing.size < this.#limit) {
      this.#waiting.delete(quorum);
      return true;
    }
    this.#waiting.add(quorum);
    return false;
  }

  /**
   * After any step of `quorum`'s channel that may start or end an election (its periodic check,
   * a vote answer, a leader heard): it takes a slot while it stands and frees it after; a free
   * slot wakes the first channel in line.
   */
  checked(quorum: ChannelQuorum, nowMs: number): void {
    if (quorum.electionInProgress === null) this.#standing.delete(quorum);
    else if (!this.#standing.has(quorum)) {
      this.#standing.set(quorum, nowMs);
      this.#waiting.delete(quorum);
    }
    if (this.#standing.size < this.#limit) this.#wakeNext();
  }

  /** One channel in line is woken; it takes the slot at its check, or wakes the next in turn. */
  #wakeNext(): void {
    for (const next of this.#waiting) {
      this.#waiting.delete(next);
      const wake = this.#wakers.get(next);
      if (wake !== undefined) {
        wake();
        return;
      }
    }
  }

  #free(nowMs: number): void {
    for (const [quorum, sinceMs] of this.#standing) {
      // A pre-vote and a vote, each a silence window, the vote's grace on top.
      const longestMs = (2 + ELECTION_GRACE_WINDOWS_MAX) * quorum.silenceMs;
      if (quorum.electionInProgress === null || nowMs - sinceMs > longestMs)
        this.#standing.delete(quorum);
    }
  }
}
