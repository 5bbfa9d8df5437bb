// The epoch check folded into every fetch: does the requester's log match the leader's up to
// where it asks from? Pure; the leader calls `checkFetch` before serving a request, the replica
// calls `truncationPoint` when the leader answers that the histories part.
//
// Two logs that hold the same (seq, epoch) hold the same events up to seq, so one comparison at
// `sinceSeq - 1` decides. When it fails, the leader names the newest epoch both could share and
// where it ends in its own log; the replica cuts its log there (or earlier, where that epoch ends
// in its own log) and asks again. Each round removes at least one epoch's worth of disagreement,
// so any number of leader changes is resolved in a bounded number of rounds.

import type { EpochHistory } from './epoch-history.js';

/**
 * The `lastFetchedEpoch` of a replica that holds no event before `sinceSeq` because it skipped
 * over a range the leader no longer retains: it cannot name that event's epoch. An empty log
 * cannot disagree with anything, so such a request is served — but never counted as a position
 * that matches (the replica does not hold the events below it).
 */
export const UNKNOWN_EPOCH = Number.MAX_SAFE_INTEGER;

export type FetchCheck =
  | { readonly kind: 'match' }
  | { readonly kind: 'diverged'; readonly divergingEpoch: number; readonly endSeq: number };

const MATCH: FetchCheck = Object.freeze({ kind: 'match' });

/**
 * The leader's check of a request from `sinceSeq` by a replica whose event at `sinceSeq - 1` was
 * written in `lastFetchedEpoch`.
 */
export function checkFetch(
  history: EpochHistory,
  leaderNextSeq: number,
  sinceSeq: number,
  lastFetchedEpoch: number,
): FetchCheck {
  if (sinceSeq <= 0 || lastFetchedEpoch === UNKNOWN_EPOCH) return MATCH;
  if (sinceSeq <= leaderNextSeq && history.epochOf(sinceSeq - 1) === lastFetchedEpoch) return MATCH;
  const divergingEpoch = history.floorEpoch(lastFetchedEpoch);
  return { kind: 'diverged', divergingEpoch, endSeq: history.endOf(divergingEpoch, leaderNextSeq) };
}

/**
 * Where a replica cuts its log after a `Diverged` answer: no later than where the leader's copy
 * of `divergingEpoch` ends, and no later than where its own copy ends. Returns null when the
 * answer would cut nothing (a leader that broke the rules, or a stale answer): the caller counts
 * it and asks again later instead of looping.
 */
export function truncationPoint(
  history: EpochHistory,
  nextSeq: number,
  divergingEpoch: number,
  endSeq: number,
): number | null {
  const point = Math.min(endSeq, history.endOf(divergingEpoch, nextSeq));
  return point < nextSeq ? Math.max(0, point) : null;
}

/**
 * Whether a peer's claimed position matches the leader's history: its log ends at `tail` and its
 * last event was written in `lastEpoch`. Only a matching position counts toward commit.
 */
export function positionMatches(
  history: EpochHistory,
  leaderNextSeq: number,
  tail: number,
  lastEpoch: number,
): boolean {
  return checkFetch(history, leaderNextSeq, tail, lastEpoch).kind === 'match';
}
