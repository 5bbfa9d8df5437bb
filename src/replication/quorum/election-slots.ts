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
// mid-election), once a slot is older than any election can last.

import type { ChannelQuorum } from './channel-quorum.js';
import { ELECTION_GRACE_WINDOWS_MAX } from './election.js';

/** Elections (pre-vote and vote) a node's channels may run at once. */
export const ELECTIONS_STANDING_MAX = 128;

export class ElectionSlots {
  readonly #limit: number;
  /** Each standing channel's quorum, with when it took its slot. */
  readonly #standing = new Map<ChannelQuorum, number>();

  constructor(limit = ELECTIONS_STANDING_MAX) {
    this.#limit = limit;
  }

  get standing(): number {
    return this.#standing.size;
  }

  /** True when `quorum` holds a slot or one is free (slots of ended elections are freed first). */
  mayStand(quorum: ChannelQuorum, nowMs: number): boolean {
    if (this.#standing.has(quorum)) return true;
    if (this.#standing.size >= this.#limit) this.#free(nowMs);
    return this.#standing.size < this.#limit;
  }

  /** After `quorum`'s periodic check: it takes a slot while it stands, and frees it after. */
  checked(quorum: ChannelQuorum, nowMs: number): void {
    if (quorum.electionInProgress === null) this.#standing.delete(quorum);
    else if (!this.#standing.has(quorum)) this.#standing.set(quorum, nowMs);
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
