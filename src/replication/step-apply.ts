// The replica's side of the pure step: a SyncResponse from the believed leader (token and role
// gates, then apply with skip-ahead), and what follows progress — the next request at once while
// still behind, or, once caught up, a heartbeat with the new tail plus a long-poll request. A
// response that catches the replica up sends that long poll ahead, before the chunk is written,
// so the leader's next append travels while the replica writes and fsyncs this one; the
// heartbeat after the write then reports the tail alone. A caught-up replica keeps
// `LONG_POLL_DEPTH` requests at the leader (step-serve.ts), so the leader's next append leaves
// while the frame before it is still on its way. See step-state.ts for the state and the effects.

import { responseEventCount, responsePayloadBytes, skipResponseEvents } from '../wire/event-run.js';
import { type NodeId, Role, type SyncResponse } from '../wire/types.js';
import { isEmptyStrike } from './backoff.js';
import type { ApplyResult } from './catchup.js';
import { InboundDrop } from './runtime-stats.js';
import { fromQuorum, quorumRoleOf } from './step-quorum.js';
import {
  type ApplyEffect,
  type ChannelState,
  fillPipeline,
  heartbeatOf,
  LONG_POLL_DEPTH,
  NO_EFFECTS,
  requestChunk,
  type StepEffect,
  type StepView,
  send,
} from './step-state.js';
import { SYNC_REQUEST_CHUNK_BYTES } from './tick.js';

/**
 * A SyncResponse: drop it (unknown token, not our leader, not a Replica), or place it against
 * our tail and apply it, sending the pipeline's next requests first so the leader reads them
 * while we write this one.
 */
export function onResponse(
  state: ChannelState,
  from: NodeId,
  response: SyncResponse,
  view: StepView,
): readonly StepEffect[] {
  state.stats.responsesIn++;
  // The token is consumed before the other gates, so a response dropped below still frees its
  // entry instead of sitting there until the TTL.
  const taken = state.outstanding.takeRequest(from, response.requestId, view.nowMs);
  if (taken === null) {
    state.stats.drops[InboundDrop.UnknownToken]++;
    return NO_EFFECTS;
  }
  if (taken.sinceSeq !== null) state.pipeline.answered(taken.sinceSeq);
  // Only the leader we follow may write into our log.
  if (state.tracker.believedLeader !== from) {
    state.stats.drops[InboundDrop.NotBelievedLeader]++;
    return NO_EFFECTS;
  }
  if (view.role !== Role.Replica) {
    state.stats.drops[InboundDrop.WrongRole]++;
    return NO_EFFECTS;
  }
  // Placed before the epoch gate: a response that is not applied must not record history.
  const placed = placeResponse(state, from, taken.sinceSeq, response, view.tailSeq);
  if (placed === null) return restartPipeline(state, from, view);
  // The epoch gate, and the history entries the events need, durable before they are written.
  const gate = state.quorum.beforeApply({
    from,
    epochs: placed.quorum,
    role: quorumRoleOf(view.role),
    nextSeq: view.tailSeq,
    nowMs: view.nowMs,
  });
  const effects = fromQuorum(state, gate.effects);
  if (!gate.accept) {
    state.stats.drops[InboundDrop.StaleEpoch]++;
    return effects;
  }
  const count = responseEventCount(placed);
  if (count > 0 && placed.firstSeq === view.tailSeq) {
    state.pipeline.learn(placed.firstSeq, placed.firstSeq + count, responsePayloadBytes(placed));
    effects.push(...fillPipeline(state, from, claimedTail(state, from)));
    effects.push(...longPollAhead(state, from, placed.firstSeq + count, view));
  }
  effects.push({ kind: 'apply', from, response: placed, tailBefore: view.tailSeq, retry: false });
  return effects;
}

/**
 * A chunk ending at `end` catches us up with what the leader claims: the long polls from `end`
 * go now, ahead of the write (they name no epoch, being past our tail, so they claim nothing),
 * as many as keep `LONG_POLL_DEPTH` requests at the leader (the spare held behind this answer
 * is one of them).
 */
function longPollAhead(
  state: ChannelState,
  leader: NodeId,
  end: number,
  view: StepView,
): readonly StepEffect[] {
  if (end < claimedTail(state, leader)) return NO_EFFECTS;
  if (state.backoff.isInBackoff(leader, view.nowMs)) return NO_EFFECTS;
  return longPolls(
    state,
    leader,
    end,
    LONG_POLL_DEPTH - state.outstanding.liveCount(leader, view.nowMs),
  );
}

function longPolls(
  state: ChannelState,
  leader: NodeId,
  sinceSeq: number,
  count: number,
): StepEffect[] {
  const effects: StepEffect[] = [];
  for (let i = 0; i < count; i++) {
    effects.push({
      kind: 'request',
      to: leader,
      sinceSeq,
      chunkMax: SYNC_REQUEST_CHUNK_BYTES,
      syncClass: state.defaultClass,
    });
  }
  return effects;
}

function claimedTail(state: ChannelState, leader: NodeId): number {
  return state.tracker.peer(leader)?.tailSeq ?? 0;
}

/**
 * Where a response goes against our tail. Null: it starts past our tail and either answers a
 * request from past the tail (the pipeline guessed a range too far, or the answer before it was
 * lost) or starts past its request's since_seq for another reason than the leader's retention
 * (the leader continued a frame sent before, and that frame was lost), so applying it would
 * leave a gap — dropped. A response of this pipeline run that overlaps what is
 * applied is cut to start at the tail (the overlap came from the same leader in the same epoch).
 * Anything else goes to the apply unchanged, whose checks judge it as before.
 */
function placeResponse(
  state: ChannelState,
  from: NodeId,
  sinceSeq: number | null,
  response: SyncResponse,
  tailSeq: number,
): SyncResponse | null {
  const firstSeq = response.firstSeq;
  if (sinceSeq !== null && firstSeq > tailSeq) {
    if (sinceSeq > tailSeq) return null;
    if (firstSeq > sinceSeq && firstSeq !== response.leaderFirstRetainedSeq) return null;
  }
  const overlap = tailSeq - firstSeq;
  const pipeline = state.pipeline;
  if (
    overlap > 0 &&
    overlap < responseEventCount(response) &&
    firstSeq >= pipeline.base &&
    pipeline.isFor(from, state.quorum.epoch)
  ) {
    state.stats.trimmedChunks++;
    return skipResponseEvents(response, overlap, tailSeq);
  }
  return response;
}

/** A dropped out-of-place response: forget the run's other answers and ask again from the tail. */
function restartPipeline(
  state: ChannelState,
  leader: NodeId,
  view: StepView,
): readonly StepEffect[] {
  state.stats.pipelineRestarts++;
  state.outstanding.clearLeader(leader);
  state.pipeline.clear();
  if (claimedTail(state, leader) <= view.tailSeq) return NO_EFFECTS;
  return requestChunk(state, leader, view, false);
}

/**
 * After an `apply`: a gap (the leader trimmed past our tail) skips ahead and applies again once;
 * a failed append runs the disk-pressure policy; progress asks for more or reports the tail; an
 * empty answer from a leader claiming more is a backoff strike.
 */
export function afterApply(
  state: ChannelState,
  apply: ApplyEffect,
  result: ApplyResult,
  view: StepView,
): readonly StepEffect[] {
  const { stats } = state;
  if (!result.ok) {
    const error = result.error;
    if (error.kind === 'GapBeforeChunk' && !apply.retry) {
      stats.skipAheads++;
      if (error.divergenceSuspected) stats.divergenceSuspected++;
      return [
        { kind: 'metric', metric: { name: 'skip-ahead' } },
        {
          kind: 'skip-to',
          seq: error.firstSeq,
          next: { kind: 'reapply', apply: { ...apply, retry: true } },
        },
      ];
    }
    if (error.kind === 'AppendFailed') {
      stats.diskPressure++;
      return [{ kind: 'disk-pressure' }];
    }
    if (error.kind === 'StaleChunk') {
      stats.staleChunks++;
      // A duplicate of what the pipeline already applied: keep the pipeline full.
      return fillPipeline(state, apply.from, claimedTail(state, apply.from));
    }
    stats.applyErrors++;
    return NO_EFFECTS;
  }
  const newTail = result.newTail;
  const leaderCommit = apply.response.quorum?.commitSeq ?? 0;
  const recorded: StepEffect[] = [
    ...fromQuorum(state, state.quorum.afterApply(newTail, leaderCommit)),
    { kind: 'record-tail', tailSeq: newTail },
    { kind: 'metric', metric: { name: 'tail', tailSeq: newTail } },
  ];
  if (newTail > apply.tailBefore) {
    state.backoff.recordProgress(apply.from);
    stats.chunksApplied++;
    stats.eventsApplied += result.applied;
    return [...recorded, ...afterProgress(state, apply.from, { ...view, tailSeq: newTail })];
  }
  stats.emptyResponses++;
  if (isEmptyStrike(state.tracker, apply.from, newTail, view.nowMs)) {
    state.backoff.recordEmpty(apply.from, view.nowMs);
  }
  return recorded;
}

/**
 * After our tail advanced to `view.tailSeq`: keep the pipeline full (or start it) while behind,
 * or report the tail.
 */
export function afterProgress(
  state: ChannelState,
  leader: NodeId,
  view: StepView,
): readonly StepEffect[] {
  if (view.role !== Role.Replica) return NO_EFFECTS;
  const claimed = claimedTail(state, leader);
  if (claimed > view.tailSeq) {
    // The run's requests are already on their way: only top it up.
    if (state.pipeline.isFor(leader, state.quorum.epoch) && state.pipeline.inFlight > 0) {
      return fillPipeline(state, leader, claimed);
    }
    // A new run; its first request's since_seq tells the leader our tail as well.
    return requestChunk(state, leader, view, false);
  }
  // Caught up: report the tail, and long-poll (the leader holds these requests until its next
  // appends) unless they went ahead of the write.
  state.pipeline.clear();
  const effects: StepEffect[] = [
    send(leader, heartbeatOf(state, Role.Replica, view.tailSeq, view.nowMs)),
  ];
  let missing = LONG_POLL_DEPTH - state.outstanding.liveCount(leader, view.nowMs);
  if (missing <= 0) return effects;
  if (!state.outstanding.hasRequestFrom(leader, view.tailSeq, view.nowMs)) {
    const first = requestChunk(state, leader, view, false);
    if (first.length === 0) return effects; // in backoff
    effects.push(...first);
    missing--;
  }
  effects.push(...longPolls(state, leader, view.tailSeq, missing));
  return effects;
}
