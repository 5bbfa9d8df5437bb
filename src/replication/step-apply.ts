// The replica's side of the pure step: a SyncResponse from the believed leader (token and role
// gates, then apply with skip-ahead), and what follows progress — the next request at once while
// still behind, or, once caught up, a heartbeat with the new tail plus a long-poll request. See
// step-state.ts for the state and the effects.

import { type NodeId, Role, type SyncResponse } from '../wire/types.js';
import { isEmptyStrike } from './backoff.js';
import type { ApplyResult } from './catchup.js';
import { InboundDrop } from './runtime-stats.js';
import { fromQuorum, quorumRoleOf } from './step-quorum.js';
import {
  type ApplyEffect,
  type ChannelState,
  heartbeatOf,
  NO_EFFECTS,
  requestChunk,
  type StepEffect,
  type StepView,
  send,
} from './step-state.js';

/** A SyncResponse: drop it (unknown token, not our leader, not a Replica) or apply it. */
export function onResponse(
  state: ChannelState,
  from: NodeId,
  response: SyncResponse,
  view: StepView,
): readonly StepEffect[] {
  state.stats.responsesIn++;
  // The token is consumed before the other gates, so a response dropped below still frees its
  // entry instead of sitting there until the TTL.
  if (!state.outstanding.take(from, response.requestId, view.nowMs)) {
    state.stats.drops[InboundDrop.UnknownToken]++;
    return NO_EFFECTS;
  }
  // Only the leader we follow may write into our log.
  if (state.tracker.believedLeader !== from) {
    state.stats.drops[InboundDrop.NotBelievedLeader]++;
    return NO_EFFECTS;
  }
  if (view.role !== Role.Replica) {
    state.stats.drops[InboundDrop.WrongRole]++;
    return NO_EFFECTS;
  }
  // The epoch gate, and the history entries the events need, durable before they are written.
  const gate = state.quorum.beforeApply({
    from,
    epochs: response.quorum,
    role: quorumRoleOf(view.role),
    nextSeq: view.tailSeq,
    nowMs: view.nowMs,
  });
  const effects = fromQuorum(state, gate.effects);
  if (!gate.accept) {
    state.stats.drops[InboundDrop.StaleEpoch]++;
    return effects;
  }
  effects.push({ kind: 'apply', from, response, tailBefore: view.tailSeq, retry: false });
  return effects;
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
    if (error.kind === 'StaleChunk') stats.staleChunks++;
    else stats.applyErrors++;
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

/** After our tail advanced to `view.tailSeq`: ask for the next chunk at once, or report the tail. */
export function afterProgress(
  state: ChannelState,
  leader: NodeId,
  view: StepView,
): readonly StepEffect[] {
  if (view.role !== Role.Replica) return NO_EFFECTS;
  const claimed = state.tracker.peer(leader)?.tailSeq ?? 0;
  // Still behind: the next request's since_seq tells the leader our tail as well.
  if (claimed > view.tailSeq) return requestChunk(state, leader, view, false);
  // Caught up: report the tail, and long-poll (the leader holds this request until its next append).
  return [
    send(leader, heartbeatOf(state, Role.Replica, view.tailSeq, view.nowMs)),
    ...requestChunk(state, leader, view, false),
  ];
}
