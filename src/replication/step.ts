// The pure inbound step of one channel: given its state (step-state.ts), a message from a peer
// and a fresh view (role, local tail, time), decide what to do and return it as effects. Owns
// the peer-auth gates, heartbeat handling (tracker, epochs through the quorum logic, prompt
// catch-up) and NACK handling (backoff, skip-ahead, truncation of a diverged suffix), plus the
// continuations after a skip or a truncation. Requests are in step-serve.ts, responses in
// step-apply.ts, the tick in step-tick.ts, votes in step-quorum.ts.

import { channelIdEquals } from '../wire/ids.js';
import { NackCode, type NodeId, Role, type SyncHeartbeat, type SyncNack } from '../wire/types.js';
import { heartbeatHeard, markBusy, refreshLiveness } from './beat-liveness.js';
import type { InboundMessage } from './inbox.js';
import { TransitionSignal } from './roles.js';
import { InboundDrop } from './runtime-stats.js';
import { afterProgress, onResponse } from './step-apply.js';
import {
  confirmMatched,
  fromQuorum,
  needsFetch,
  onQuorumMessage,
  quorumRoleOf,
} from './step-quorum.js';
import { onRequest } from './step-serve.js';
import {
  type AfterSkip,
  type ChannelState,
  NO_EFFECTS,
  requestChunk,
  type StepEffect,
  type StepView,
  shippableTail,
} from './step-state.js';

function drop(state: ChannelState, reason: InboundDrop): readonly StepEffect[] {
  state.stats.drops[reason]++;
  return NO_EFFECTS;
}

/** One message from a peer. */
export function onInbound(
  state: ChannelState,
  event: InboundMessage,
  view: StepView,
): readonly StepEffect[] {
  const { from, message } = event;
  // Peer-auth gates first, on every type: a non-member must not drive the state machine at all,
  // and a misrouted frame must not touch this channel's tracker or log.
  if (from === state.selfId) return drop(state, InboundDrop.FromSelf);
  if (!state.members.has(from)) return drop(state, InboundDrop.NotMember);
  if (!channelIdEquals(message.channelId, state.channelId)) {
    return drop(state, InboundDrop.ChannelMismatch);
  }
  // Votes and the leader's checks read liveness: bring it up to the peers' node beats first.
  refreshLiveness(state, view);
  // Anything but a heartbeat that repeats the last one may change what the next tick decides.
  if (message.kind !== 'heartbeat' || !heartbeatHeard(state, from, message, view.nowMs)) {
    markBusy(state);
  }
  switch (message.kind) {
    case 'heartbeat':
      return onHeartbeat(state, from, message, view);
    case 'request':
      return onRequest(state, from, message, view);
    case 'response':
      return onResponse(state, from, message, view);
    case 'nack':
      return onNack(state, from, message, view);
    default:
      return onQuorumMessage(state, from, message, view);
  }
}

/**
 * A heartbeat: record the peer's liveness and claims, then let the quorum logic judge its epoch.
 * Only a current-epoch Leader heartbeat proves the leader alive (a claimed tail decides nothing);
 * a leader counts a replica's position toward commit only when it matches its own history. A
 * replica asks its leader at once when it announces more than we hold.
 */
export function onHeartbeat(
  state: ChannelState,
  from: NodeId,
  message: SyncHeartbeat,
  view: StepView,
): readonly StepEffect[] {
  state.stats.heartbeatsIn++;
  const epochs = message.quorum;
  state.tracker.recordHeartbeat(
    from,
    message.role,
    message.tailSeq,
    view.nowMs,
    epochs?.lastEpoch ?? 0,
    { generation: state.beats?.view.generation(from) ?? 0, epoch: epochs?.epoch ?? 0 },
  );
  const out = state.quorum.onHeartbeat({
    from,
    claimsLeader: message.role === Role.Leader,
    tailSeq: message.tailSeq,
    epochs,
    role: quorumRoleOf(view.role),
    nextSeq: shippableTail(view),
    durableNextSeq: view.tailSeq,
    nowMs: view.nowMs,
  });
  const effects: StepEffect[] = fromQuorum(state, out.effects);
  effects.push(...confirmMatched(state, from, view));
  if (out.fromLiveLeader) effects.push(...promptCatchUp(state, from, message.tailSeq, view));
  return effects;
}

/** Prompt catch-up: the believed leader announced more than we hold. */
function promptCatchUp(
  state: ChannelState,
  from: NodeId,
  announcedTail: number,
  view: StepView,
): readonly StepEffect[] {
  if (view.role !== Role.Replica || state.tracker.believedLeader !== from) return NO_EFFECTS;
  if (!needsFetch(state, announcedTail, view.tailSeq)) return NO_EFFECTS;
  return requestChunk(state, from, view, true);
}

/** A NACK from the believed leader, under a live token. */
export function onNack(
  state: ChannelState,
  from: NodeId,
  nack: SyncNack,
  view: StepView,
): readonly StepEffect[] {
  state.stats.nacksIn++;
  // Only the believed leader may NACK: a BadRange from anyone else could skip our tail past
  // events still on their way, a NotLeader could make us drop a healthy leader.
  if (state.tracker.believedLeader !== from) return drop(state, InboundDrop.NotBelievedLeader);
  // A stale BadRange must not destroy data on a retry: it needs a live token.
  if (!state.outstanding.take(from, nack.requestId, view.nowMs)) {
    return drop(state, InboundDrop.UnknownToken);
  }
  // Whatever the NACK says, the pipeline's guesses no longer hold: the next request starts anew.
  state.pipeline.clear();
  switch (nack.errorCode) {
    case NackCode.NotLeader:
      // The node stepped down; the next current-epoch Leader heartbeat says who leads now.
      return NO_EFFECTS;
    case NackCode.Diverged: {
      if (nack.diverged === undefined || view.role !== Role.Replica) return NO_EFFECTS;
      return fromQuorum(
        state,
        state.quorum.onDiverged({
          sinceSeq: nack.sinceSeq,
          ...nack.diverged,
          nextSeq: view.tailSeq,
        }),
      );
    }
    case NackCode.BadRange:
      // A pipelined request asked from past our tail: its answer says nothing about the events
      // between, which the leader may still hold. Ask from the tail instead of skipping them.
      if (nack.sinceSeq > view.tailSeq) return requestChunk(state, from, view, false);
      // Jump straight to the leader's first retained seq; since+1 only when it sent none.
      state.stats.skipAheads++;
      return [
        { kind: 'metric', metric: { name: 'skip-ahead' } },
        {
          kind: 'skip-to',
          seq: badRangeSkipTarget(nack),
          next: { kind: 'bad-range', leader: from, tailBefore: view.tailSeq },
        },
      ];
    case NackCode.Backpressure:
      return NO_EFFECTS; // the next tick asks again
    case NackCode.ChannelClosed:
      // ChannelClose is legal from every role, so a role flip since the request cannot strand it.
      return [
        {
          kind: 'transition',
          target: Role.Idle,
          signal: TransitionSignal.ChannelClose,
        },
      ];
    default:
      return NO_EFFECTS;
  }
}

/** Where a BadRange NACK sends the replica: the leader's first retained seq, else since + 1. */
export function badRangeSkipTarget(
  nack: Pick<SyncNack, 'sinceSeq' | 'leaderFirstRetainedSeq'>,
): number {
  if (nack.leaderFirstRetainedSeq > 0) return nack.leaderFirstRetainedSeq;
  // Saturating: since_seq at the top of the safe range cannot step past it.
  return Math.min(nack.sinceSeq + 1, Number.MAX_SAFE_INTEGER);
}

/** After a `skip-to` succeeded: apply the chunk again, or go on from the new tail. */
export function afterSkip(
  state: ChannelState,
  next: AfterSkip,
  view: StepView,
): readonly StepEffect[] {
  // The log holds nothing before its new start: its history there is moot (fetch-check.ts).
  const effects = fromQuorum(state, state.quorum.afterSkip());
  if (next.kind === 'reapply') {
    // The chunk's runs describe the log from its first seq on: record them again, then apply.
    const { apply } = next;
    const gate = state.quorum.beforeApply({
      from: apply.from,
      epochs: apply.response.quorum,
      role: quorumRoleOf(view.role),
      nextSeq: view.tailSeq,
      nowMs: view.nowMs,
    });
    effects.push(...fromQuorum(state, gate.effects));
    if (gate.accept) effects.push(apply);
    return effects;
  }
  if (view.tailSeq > next.tailBefore) effects.push(...afterProgress(state, next.leader, view));
  return effects;
}

/** After the log was cut durably to `fromSeq`: the history follows, then ask the leader again. */
export function afterTruncate(
  state: ChannelState,
  fromSeq: number,
  view: StepView,
): readonly StepEffect[] {
  const leader = state.tracker.believedLeader;
  // Answers to requests sent before the cut describe a log that no longer exists.
  if (leader !== null) state.outstanding.clearLeader(leader);
  state.pipeline.clear();
  const effects = fromQuorum(state, state.quorum.afterTruncate(fromSeq));
  if (leader !== null) effects.push(...requestChunk(state, leader, view, false));
  return effects;
}
