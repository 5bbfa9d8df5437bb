// The leader's side of the pure step: answering a SyncRequest (with the bandwidth budget), the
// long poll (a caught-up replica's request held open and answered with the next append), and the
// append announcement. See step-state.ts for the state and the effects.
//
// Long poll: a replica that caught up sends a request from its new tail; the leader holds it
// instead of answering it empty, and answers it with the next append in place of that replica's
// announcement — one hop and one write per replica instead of three hops and two writes. A held
// request is answered after `PARKED_REQUEST_HOLD_MS` (empty, or with what arrived), replaced by
// the replica's next request, and NACKed NotLeader at the next tick after the leader lost its role.
// A leader does not announce appends to a replica it just sent events to: that replica's next
// request (it always sends one) finds them.

import { NackCode, type NodeId, Role, type SyncRequest } from '../wire/types.js';
import type { SyncRequestOutcome } from './catchup.js';
import { InboundDrop } from './runtime-stats.js';
import {
  type ChannelState,
  heartbeatOf,
  NO_EFFECTS,
  nackOf,
  notLeaderNack,
  PARKED_REQUEST_HOLD_MS,
  type RespondEffect,
  type ServeEffect,
  type StepEffect,
  type StepView,
  send,
} from './step-state.js';

/** A SyncRequest from a member: NACK it, hold it open (long poll), or serve it. */
export function onRequest(
  state: ChannelState,
  from: NodeId,
  request: SyncRequest,
  view: StepView,
): readonly StepEffect[] {
  state.stats.requestsIn++;
  // Asking from N means holding everything below N.
  const confirm: StepEffect = { kind: 'confirm-tail', peer: from, tailSeq: request.sinceSeq };
  if (view.role !== Role.Leader) return [confirm, notLeaderNack(state, from, request)];
  // A newer request from the same replica supersedes its held one (whose token just expires).
  state.parked.delete(from);
  state.awaitingRequest.delete(from);
  if (request.sinceSeq === view.tailSeq) {
    // Caught up: hold the request open and answer it with the next append.
    state.parked.set(from, { request, atMs: view.nowMs });
    state.stats.requestsParked++;
    return [confirm];
  }
  return [confirm, { kind: 'serve', to: from, request }];
}

/**
 * After the log was read for a `serve`: send the chunk the budget pays for, or NACK it
 * (Backpressure; NotLeader when the role was lost during the read), or pass on a file's NACK.
 */
export function afterServeRead(
  state: ChannelState,
  serve: ServeEffect,
  outcome: SyncRequestOutcome,
  view: StepView,
): readonly StepEffect[] {
  const { to, request } = serve;
  if (outcome.kind === 'drop') {
    state.stats.drops[InboundDrop.ChannelMismatch]++;
    return NO_EFFECTS;
  }
  if (outcome.kind === 'nack') return [send(to, outcome.nack)];
  const cost = outcome.costBytes;
  if (!state.budget.tryConsume(cost, request.syncClass, view.nowMs, state.backgroundFraction)) {
    return [send(to, nackOf(state, request, NackCode.Backpressure))];
  }
  // Re-check the role after the read and the budget: a leader that lost its role in the
  // meantime must not ship data. Nothing is sent, so the budget gets its bytes back.
  if (view.role !== Role.Leader) {
    state.budget.refund(cost);
    return [notLeaderNack(state, to, request)];
  }
  return [
    { kind: 'metric', metric: { name: 'sync-bytes', bytes: cost } },
    { kind: 'respond', to, response: outcome.response, costBytes: cost },
  ];
}

/** After a `respond`: an unsent chunk refunds the budget; a sent one with events waits for the next request. */
export function afterRespond(
  state: ChannelState,
  respond: RespondEffect,
  sent: boolean,
): readonly StepEffect[] {
  if (!sent) state.budget.refund(respond.costBytes);
  else if (respond.response.events.length > 0) state.awaitingRequest.add(respond.to);
  return NO_EFFECTS;
}

/**
 * Leader: the append announcement. A replica with a held request gets the new events as its
 * answer; one whose next request is on its way gets nothing; every other peer one heartbeat.
 */
export function announceAppends(state: ChannelState, view: StepView): readonly StepEffect[] {
  if (view.role !== Role.Leader) return NO_EFFECTS;
  const heartbeat = heartbeatOf(state, Role.Leader, view.tailSeq, view.nowMs);
  const effects: StepEffect[] = [];
  for (const peer of state.peers) {
    const parked = state.parked.get(peer);
    if (parked !== undefined && parked.request.sinceSeq < view.tailSeq) {
      state.parked.delete(peer);
      state.stats.parkedAnswered++;
      effects.push({ kind: 'serve', to: peer, request: parked.request });
    } else if (state.awaitingRequest.has(peer)) {
      state.stats.announcementsSkipped++;
    } else {
      effects.push(send(peer, heartbeat));
    }
  }
  return effects;
}

/**
 * Tick: a leader answers the requests held longer than `PARKED_REQUEST_HOLD_MS` (empty, or
 * with what arrived); a node that is no longer leader NACKs every held request NotLeader.
 */
export function releaseParked(state: ChannelState, view: StepView): readonly StepEffect[] {
  if (state.parked.size === 0) return NO_EFFECTS;
  const leading = view.role === Role.Leader;
  const effects: StepEffect[] = [];
  for (const [peer, parked] of [...state.parked]) {
    if (leading && view.nowMs - parked.atMs < PARKED_REQUEST_HOLD_MS) continue;
    state.parked.delete(peer);
    state.stats.parkedAnswered++;
    effects.push(
      leading
        ? { kind: 'serve', to: peer, request: parked.request }
        : notLeaderNack(state, peer, parked.request),
    );
  }
  return effects;
}
