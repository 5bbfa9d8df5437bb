// How many of a node's channels may stand for election at once. A node that lost the leader of
// thousands of channels (a failover) or opens thousands at once would otherwise stand for all of
// them together: each election needs durable vote writes on the candidate and then on a voter,
// thousands of them queue on the disk and the thread pool, every election runs out of its window
// before its votes come back, and the next attempts queue more writes behind those of attempts
// already lost (a livelock; bench:channels at 10,000 channels took over none in 80 s). With a
// bound, the elections standing finish within their windows and the others wait their turn
// instead of timing out. Liveness only: votes still decide.
//
// Shared by the channels of one node (the replicator owns one). A channel whose turn came takes a
// slot if one is free; if not, it waits in line (first come, first served). A slot is given back
// as soon as the step that ended its election was performed (the vote answer that won it, with
// the new epoch's entry durable; a yield; a lost window) — not at the channel's next periodic
// check, a period later: paced by checks, a round of slots took a period plus an election, and
// 3,300 channels failed over in 19 s. The freed slot is reserved for the first channel in line
// and that channel is woken for a stand check at once; a channel in line that no longer needs
// to stand gives its reservation on to the next. Whatever becomes of a channel (closed
// mid-election), a slot or reservation older than any election can last is freed.

import type { ChannelQuorum } from './channel-quorum.js';
import { ELECTION_GRACE_WINDOWS_MAX } from './election.js';

/** Elections (pre-vote and vote) a node's channels may run at once. */
export const ELECTIONS_STANDING_MAX = 128;

export class ElectionSlots {
  readonly #limit: number;
  /** Each standing channel's quorum, with when it took its slot. */
  readonly #standing = new Map<ChannelQuorum, number>();
  /** Slots freed for a woken channel in line, with when (they count as taken). */
  readonly #reserved = new Map<ChannelQuorum, number>();
  /** How to wake each registered channel for a stand check (see `register`). */
  readonly #wakers = new Map<ChannelQuorum, () => void>();
  /** Channels whose turn came while every slot was taken, in the order they asked. */
  readonly #line = new Set<ChannelQuorum>();

  constructor(limit = ELECTIONS_STANDING_MAX) {
    this.#limit = limit;
  }

  /** Slots taken: elections standing, and slots reserved for a channel woken from the line. */
  get standing(): number {
    return this.#standing.size + this.#reserved.size;
  }

  /** Channels in line for a slot. */
  get waiting(): number {
    return this.#line.size;
  }

  /**
   * `wake` asks the channel's runtime for a stand check soon (never synchronously inside another
   * channel's step). A channel registered so waits in line when turned away, and is woken when a
   * slot is reserved for it; one that is not registered stands at a later periodic check.
   */
  register(quorum: ChannelQuorum, wake: () => void): void {
    this.#wakers.set(quorum, wake);
  }

  /** The channel closed: out of line, and its slot or reservation goes to the next in line. */
  unregister(quorum: ChannelQuorum, nowMs: number): void {
    this.#wakers.delete(quorum);
    this.#line.delete(quorum);
    const held = this.#standing.delete(quorum);
    if (this.#reserved.delete(quorum) || held) this.#wakeNext(nowMs);
  }

  /**
   * Asked when `quorum`'s turn to stand came: true when it holds a slot or reservation, or a slot
   * is free (slots of ended elections are freed first); otherwise it joins the line.
   */
  mayStand(quorum: ChannelQuorum, nowMs: number): boolean {
    if (this.#standing.has(quorum) || this.#reserved.has(quorum)) return true;
    if (this.standing >= this.#limit) this.#free(nowMs);
    if (this.standing < this.#limit && this.#line.size === 0) return true;
    // Slots freed just now go to the channels already in line, first come first served.
    if (this.#wakers.has(quorum)) this.#line.add(quorum);
    this.#wakeNext(nowMs);
    return false;
  }

  /**
   * After a check of `quorum` that may have started an election (its periodic or stand check):
   * it takes a slot while it stands; a slot or reservation it no longer needs goes on.
   */
  checked(quorum: ChannelQuorum, nowMs: number): void {
    if (quorum.electionInProgress !== null) {
      this.#reserved.delete(quorum);
      this.#line.delete(quorum);
      if (!this.#standing.has(quorum)) this.#standing.set(quorum, nowMs);
      return;
    }
    // A turn that is no longer due (a leader was heard) leaves the line.
    if (quorum.standAtMs === null || quorum.standAtMs > nowMs) this.#line.delete(quorum);
    this.settle(quorum, nowMs);
  }

  /**
   * After any step of `quorum`'s channel (a vote answer, a leader heard, a stand check that did
   * not stand): a slot or reservation whose election is over is freed for the next in line.
   */
  settle(quorum: ChannelQuorum, nowMs: number): void {
    if (quorum.electionInProgress !== null) return;
    const held = this.#standing.delete(quorum);
    if (this.#reserved.delete(quorum) || held) this.#wakeNext(nowMs);
  }

  /** Free slots are reserved for the first channels in line, which are woken. */
  #wakeNext(nowMs: number): void {
    for (const next of this.#line) {
      if (this.standing >= this.#limit) return;
      this.#line.delete(next);
      const wake = this.#wakers.get(next);
      if (wake === undefined) continue;
      this.#reserved.set(next, nowMs);
      wake();
    }
  }

  #free(nowMs: number): void {
    for (const [quorum, sinceMs] of this.#standing) {
      // A pre-vote and a vote, each a silence window, the vote's grace on top.
      const longestMs = (2 + ELECTION_GRACE_WINDOWS_MAX) * quorum.silenceMs;
      if (quorum.electionInProgress === null || nowMs - sinceMs > longestMs)
        this.#standing.delete(quorum);
    }
    for (const [quorum, sinceMs] of this.#reserved) {
      // A woken channel checks within a loop turn or so; one that never does is freed.
      if (nowMs - sinceMs > (2 + ELECTION_GRACE_WINDOWS_MAX) * quorum.silenceMs)
        this.#reserved.delete(quorum);
    }
  }
}
