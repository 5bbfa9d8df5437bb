// The pure tick of one channel, one heartbeat period: housekeeping of the pure pieces, the held
// requests past their hold, the advertised tail, rejoining after a yield, elections, and the
// heartbeats and catch-up request `tick` decides. See step-state.ts for the state and effects.

import { Role } from '../wire/types.js';
import { CATCHUP_BACKOFF_CAP_MS } from './backoff.js';
import { electionTransition, electionViewFrom } from './election.js';
import { TransitionSignal } from './roles.js';
import { releaseParked } from './step-serve.js';
import {
  type ChannelState,
  clearLeaderBelief,
  NO_EFFECTS,
  requestChunk,
  type StepEffect,
  type StepView,
  send,
} from './step-state.js';
import { advertisedTail, observeLag, tick } from './tick.js';

/** The tick's first half: counters, expiry, and the held requests that are due. */
export function beginTick(state: ChannelState, view: StepView): readonly StepEffect[] {
  state.stats.ticks++;
  state.backoff.gcExpired(view.nowMs, CATCHUP_BACKOFF_CAP_MS * 2);
  state.outstanding.gcExpired(view.nowMs);
  return releaseParked(state, view);
}

/** The tick's second half, after the held requests were answered (with a fresh view). */
export function finishTick(state: ChannelState, view: StepView): readonly StepEffect[] {
  state.awaitingRequest.clear();
  const { role, tailSeq, nowMs } = view;
  const effects: StepEffect[] = [
    {
      kind: 'record-tail',
      tailSeq: advertisedTail(role, tailSeq, state.tracker.peerTails(), state.selfId),
    },
    { kind: 'metric', metric: { name: 'tail', tailSeq } },
  ];
  if (role === Role.Idle && state.rejoinAtMs !== null) {
    if (nowMs < state.rejoinAtMs) return effects;
    state.rejoinAtMs = null;
    clearLeaderBelief(state, nowMs);
    effects.push({
      kind: 'transition',
      target: Role.Replica,
      signal: TransitionSignal.CapabilitySelected,
      next: null,
    });
    return effects;
  }
  // A Candidate left over from an election with nobody eligible retries every tick.
  if (role === Role.Candidate) return [...effects, ...electionStep(state, nowMs, tailSeq)];
  const out = tick({
    role,
    selfId: state.selfId,
    channelId: state.channelId,
    replicaSet: state.replicaSet,
    tracker: state.tracker,
    tailSeq,
    nowMs,
    wallClockMs: nowMs,
    defaultClass: state.defaultClass,
    replicaSinceMs: state.replicaSinceMs,
  });
  const lag = observeLag(role, state.replicaSet, state.selfId, state.tracker, nowMs);
  if (lag !== null) effects.push({ kind: 'metric', metric: { name: 'lag', ...lag } });
  for (const message of out.messages) {
    if (message.kind === 'heartbeat') effects.push(send(message.target, message.message));
    else effects.push(...requestChunk(state, message.target, view, true, message.message));
  }
  if (out.transition !== null) {
    const { target, signal } = out.transition;
    // Run the election in the same tick so the Candidate window stays short.
    const next = target === Role.Candidate ? ({ kind: 'elect', nowMs, tailSeq } as const) : null;
    effects.push({ kind: 'transition', target, signal, next });
  }
  return effects;
}

/** A Candidate ranks itself and the healthy members (election.ts) and takes the outcome. */
export function electionStep(
  state: ChannelState,
  nowMs: number,
  tailSeq: number,
): readonly StepEffect[] {
  state.stats.elections++;
  const view = electionViewFrom(state.tracker, state.selfId, tailSeq, state.replicaSet, nowMs);
  const outcome = electionTransition(view);
  if (outcome === null) return NO_EFFECTS; // nobody eligible: stay Candidate, retry next tick
  return [
    {
      kind: 'transition',
      target: outcome.target,
      signal: outcome.signal,
      next: { kind: 'elected' },
    },
  ];
}
