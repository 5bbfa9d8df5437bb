// The pure inbound step of one channel: given its state (step-state.ts), a message from a peer
// and a fresh view (role, local tail, time), decide what to do and return it as effects. Owns
// the peer-auth gates, heartbeat handling (tracker, dual leaders, yielding to a member holding
// more, prompt catch-up) and NACK handling (backoff, belief reset, skip-ahead), plus the
// continuations after a skip or a transition. Requests are in step-serve.ts, responses in
// step-apply.ts, the tick in step-tick.ts.

import { channelIdEquals } from '../wire/ids.js';
import { NackCode, type NodeId, Role, type SyncHeartbeat, type SyncNack } from '../wire/types.js';
import type { InboundMessage } from './inbox.js';
import { TransitionSignal } from './roles.js';
import { InboundDrop } from './runtime-stats.js';
import { afterProgress, onResponse } from './step-apply.js';
import { onRequest } from './step-serve.js';
import {
  type AfterSkip,
  type AfterTransition,
  type ChannelState,
  clearLeaderBelief,
  NO_EFFECTS,
  requestChunk,
  type StepEffect,
  type StepView,
} from './step-state.js';
import { electionStep } from './step-tick.js';
import { resolveDualLeader, shouldYieldLeadership, yieldQuietMs } from './tick.js';

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
  switch (message.kind) {
    case 'heartbeat':
      return onHeartbeat(state, from, message, view);
    case 'request':
      return onRequest(state, from, message, view);
    case 'response':
      return onResponse(state, from, message, view);
    case 'nack':
      return onNack(state, from, message, view);
  }
}

/**
 * A heartbeat: record it; a Leader also settles a dual leadership (higher tail, then lower
 * NodeId keeps it) or yields to a member claiming more; a Replica asks its leader at once when
 * it announces more than we hold.
 */
export function onHeartbeat(
  state: ChannelState,
  from: NodeId,
  message: SyncHeartbeat,
  view: StepView,
): readonly StepEffect[] {
  state.stats.heartbeatsIn++;
  state.tracker.recordHeartbeat(from, message.role, message.tailSeq, view.nowMs);
  const effects: StepEffect[] = [{ kind: 'confirm-tail', peer: from, tailSeq: message.tailSeq }];
  if (view.role === Role.Leader) {
    effects.push({
      kind: 'metric',
      metric: {
        name: 'replica-confirmed-tail',
        peer: from,
        tailSeq: message.tailSeq,
        localTail: view.tailSeq,
      },
    });
    const next = {
      kind: 'heartbeat',
      from,
      announcedTail: message.tailSeq,
      nowMs: view.nowMs,
    } as const;
    if (message.role === Role.Leader) {
      // Two leaders met (partition heal).
      const concession = resolveDualLeader(state.selfId, view.tailSeq, from, message.tailSeq);
      if (concession !== null) {
        effects.push({ ...concession, kind: 'transition', next: { ...next, yielding: false } });
        return effects;
      }
      // We keep leading: the tracker adopted the loser's claim, which must not outlive it.
      if (state.tracker.believedLeader === from) clearLeaderBelief(state, view.nowMs);
    } else if (
      state.members.has(from) &&
      shouldYieldLeadership(view.tailSeq, message.role, message.tailSeq)
    ) {
      // Outranked by a member holding more: go quiet so the others elect it (tick.ts).
      effects.push({
        kind: 'transition',
        target: Role.Idle,
        signal: TransitionSignal.GracefulRelinquish,
        next: { ...next, yielding: true },
      });
      return effects;
    }
  }
  effects.push(...promptCatchUp(state, from, message.tailSeq, view));
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
  if (announcedTail <= view.tailSeq) return NO_EFFECTS;
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
  switch (nack.errorCode) {
    case NackCode.NotLeader:
      // Re-resolve through heartbeats instead of asking the stale leader until it times out.
      clearLeaderBelief(state, view.nowMs);
      return NO_EFFECTS;
    case NackCode.BadRange:
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
          next: null,
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
  if (next.kind === 'reapply') return [next.apply];
  return view.tailSeq > next.tailBefore ? afterProgress(state, next.leader, view) : NO_EFFECTS;
}

/** After a proposed transition was tried; `moved` is true when the role changed. */
export function afterTransition(
  state: ChannelState,
  next: AfterTransition,
  moved: boolean,
  view: StepView,
): readonly StepEffect[] {
  switch (next.kind) {
    case 'heartbeat':
      if (next.yielding && moved) {
        state.stats.yields++;
        state.rejoinAtMs =
          next.nowMs + yieldQuietMs(state.tracker.heartbeatMs, state.tracker.missThreshold);
      }
      return promptCatchUp(state, next.from, next.announcedTail, view);
    case 'elect':
      return moved ? electionStep(state, next.nowMs, next.tailSeq) : NO_EFFECTS;
    case 'elected':
      // Only a transition that happened may clear the belief: had a concurrent close won the
      // race, wiping it would leave nothing to recover from.
      if (moved) clearLeaderBelief(state, view.nowMs);
      return NO_EFFECTS;
  }
}
