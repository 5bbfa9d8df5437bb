// The pure tick of one channel, one heartbeat period: housekeeping of the pure pieces, the held
// requests past their hold, the advertised tail, the quorum's periodic check (check quorum for a
// leader, a stalled election given up, a silent leader replaced through pre-vote and vote), and
// the heartbeats and catch-up request `tick` decides; and a replica's turn to stand between two
// ticks. See step-state.ts for the state and effects.

import { Role } from '../wire/types.js';
import { CATCHUP_BACKOFF_CAP_MS } from './backoff.js';
import { mustSendHeartbeat, refreshLiveness } from './beat-liveness.js';
import type { QuorumEffect } from './quorum/channel-quorum.js';
import { fromQuorum, needsFetch, quorumRoleOf, withEpochs } from './step-quorum.js';
import { releaseParked } from './step-serve.js';
import {
  type ChannelState,
  NO_EFFECTS,
  requestChunk,
  type StepEffect,
  type StepView,
  send,
  shippableTail,
} from './step-state.js';
import { advertisedTail, observeLag, tick } from './tick.js';

/** The tick's first half: counters, expiry, and the held requests that are due. */
export function beginTick(state: ChannelState, view: StepView): readonly StepEffect[] {
  state.stats.ticks++;
  state.backoff.gcExpired(view.nowMs, CATCHUP_BACKOFF_CAP_MS * 2);
  state.outstanding.gcExpired(view.nowMs);
  return releaseParked(state, view);
}

/** The quorum's periodic check (election.ts) with the members heard within the silence window. */
function quorumTick(state: ChannelState, view: StepView): QuorumEffect[] {
  const { nowMs } = view;
  const livePeers = state.tracker.healthyPeers(nowMs).map((nodeId) => {
    const peer = state.tracker.peer(nodeId);
    return { nodeId, lastEpoch: peer?.lastEpoch ?? 0, nextSeq: peer?.tailSeq ?? 0 };
  });
  const slots = state.elections;
  const decided = state.quorum.tick({
    role: quorumRoleOf(view.role),
    // A leader's transfer compares positions with all it may have shipped; a replica's own log.
    nextSeq: shippableTail(view),
    nowMs,
    livePeers,
    jitterMs: view.jitterMs ?? 0,
    preferredOpening: preferredOpening(state, nowMs),
    mayStand: slots === null || slots.mayStand(state.quorum, nowMs),
  });
  slots?.checked(state.quorum, nowMs);
  if (decided.length > 0) state.stats.elections++;
  return decided;
}

/**
 * The preferred member was never heard on this channel while its node beats: it is most likely
 * still opening the channel (see the grace in election.ts). False without node beats.
 */
function preferredOpening(state: ChannelState, nowMs: number): boolean {
  const preferred = state.quorum.preferredLeader;
  if (preferred === null || preferred === state.selfId || state.beats === null) return false;
  if (state.tracker.peer(preferred) !== undefined) return false;
  const beatAtMs = state.beats.view.beatAtMs(preferred);
  return beatAtMs !== null && nowMs - beatAtMs < state.quorum.silenceMs;
}

/**
 * A replica's turn to stand, due between two ticks (`ChannelQuorum.standAtMs`): the quorum's
 * check alone, no heartbeat and no request. Run at that moment rather than at the next tick, the
 * rank delay and jitter that order the members' candidacies stay as computed; rounded up to the
 * beat of a node's shared tick grid, two nodes whose grids beat nearly together would stand
 * together for every channel, and split the vote.
 */
export function standCheck(state: ChannelState, view: StepView): readonly StepEffect[] {
  if (view.role !== Role.Replica) return NO_EFFECTS;
  refreshLiveness(state, view);
  return fromQuorum(state, quorumTick(state, view));
}

/** The tick's second half, after the held requests were answered (with a fresh view). */
export function finishTick(state: ChannelState, view: StepView): readonly StepEffect[] {
  state.awaitingRequest.clear();
  const { role, tailSeq, nowMs } = view;
  refreshLiveness(state, view);
  const effects: StepEffect[] = [
    {
      kind: 'record-tail',
      tailSeq: advertisedTail(role, tailSeq, state.tracker.peerTails(), state.selfId),
    },
    { kind: 'metric', metric: { name: 'tail', tailSeq } },
  ];
  const decided = quorumTick(state, view);
  effects.push(...fromQuorum(state, decided));
  // A role change decided above takes effect before the heartbeats below are built: they go
  // out at the next tick (or at once, for a new leader's announcement).
  if (decided.some((effect) => effect.kind === 'become')) return effects;
  if (role !== Role.Leader && role !== Role.Replica) return effects;
  const out = tick({
    role,
    selfId: state.selfId,
    channelId: state.channelId,
    replicaSet: state.replicaSet,
    tracker: state.tracker,
    tailSeq: shippableTail(view),
    nowMs,
    wallClockMs: nowMs,
    defaultClass: state.defaultClass,
  });
  const lag = observeLag(role, state.replicaSet, state.selfId, state.tracker, nowMs);
  if (lag !== null) effects.push({ kind: 'metric', metric: { name: 'lag', ...lag } });
  let asked = false;
  for (const message of out.messages) {
    if (message.kind === 'heartbeat') {
      const heartbeat = withEpochs(state, message.message);
      // Left out when identical to the last one sent: the node beat stands for it.
      if (mustSendHeartbeat(state, message.target, heartbeat, nowMs)) {
        effects.push(send(message.target, heartbeat));
      }
    } else {
      asked = true;
      effects.push(...requestChunk(state, message.target, view, true, message.message));
    }
  }
  // `tick` asks only a leader that holds more; one of equal or shorter length whose log is not
  // known to match ours gets a request too (its epoch check finds a diverged suffix).
  const leader = state.tracker.believedLeader;
  const leaderTail = leader === null ? undefined : state.tracker.peer(leader)?.tailSeq;
  if (!asked && role === Role.Replica && leader !== null && leaderTail !== undefined) {
    if (needsFetch(state, leaderTail, tailSeq)) {
      effects.push(...requestChunk(state, leader, view, true));
    }
  }
  return effects;
}
