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
// request (it always sends one) finds them. It does tell it a commit it was not sent yet.
//
// Two held requests (`LONG_POLL_DEPTH`): a caught-up replica keeps a spare request at the leader,
// so the groups written while a frame travels to it leave as soon as they are written, not a
// round trip later when its next request arrives. The spare's answer continues where the frame
// before it ends; so does the answer to a request past the replica's tail (it names no epoch)
// that asks for events already sent to it. The replica drops an answer that starts past its tail
// for any other reason than the leader's retention (step-apply.ts), so a lost frame costs a new
// request from the tail, never a gap.

import { NackCode, type NodeId, Role, type SyncRequest } from '../wire/types.js';
import type { SyncRequestOutcome } from './catchup.js';
import { UNKNOWN_EPOCH } from './quorum/fetch-check.js';
import { InboundDrop } from './runtime-stats.js';
import { confirmMatched, fromQuorum, quorumRoleOf } from './step-quorum.js';
import {
  type ChannelState,
  heartbeatOf,
  NO_EFFECTS,
  nackOf,
  notLeaderNack,
  PARKED_REQUEST_HOLD_MS,
  type ParkedRequest,
  type RespondEffect,
  type ServeEffect,
  type StepEffect,
  type StepView,
  send,
  shippableTail,
} from './step-state.js';

/** A SyncRequest from a member: NACK it, hold it open (long poll), or serve it. */
export function onRequest(
  state: ChannelState,
  from: NodeId,
  request: SyncRequest,
  view: StepView,
): readonly StepEffect[] {
  state.stats.requestsIn++;
  // The epoch check: asking from N with a matching history means holding everything below N.
  const check = state.quorum.onFetch({
    from,
    sinceSeq: request.sinceSeq,
    epochs: request.quorum,
    role: quorumRoleOf(view.role),
    nextSeq: shippableTail(view),
    durableNextSeq: view.tailSeq,
    nowMs: view.nowMs,
  });
  const effects: StepEffect[] = fromQuorum(state, check.effects);
  effects.push(...confirmMatched(state, from, view));
  if (check.diverged !== null) {
    effects.push(
      send(from, { ...nackOf(state, request, NackCode.Diverged), diverged: check.diverged }),
    );
    return effects;
  }
  if (!check.serve || view.role !== Role.Leader) {
    effects.push(notLeaderNack(state, from, request));
    return effects;
  }
  state.awaitingRequest.delete(from);
  const sinceSeq = answerFrom(state, from, request);
  const held = state.parked.get(from);
  if (sinceSeq === shippableTail(view)) {
    // Caught up: hold the request open and answer it with the next append.
    state.stats.requestsParked++;
    if (held !== undefined && held.sinceSeq <= sinceSeq) {
      // A second held request waits behind the first; a third replaces the oldest (whose
      // token just expires), so at most LONG_POLL_DEPTH are held.
      const first = held.spare === null ? held : promoteSpare(state, from, held);
      first.spare = { request, atMs: view.nowMs };
      return effects;
    }
    state.parked.set(from, { request, atMs: view.nowMs, sinceSeq, spare: null });
    return effects;
  }
  // A request the leader can answer now supersedes the held ones (whose tokens just expire).
  state.parked.delete(from);
  effects.push(serveEffect(from, request, sinceSeq));
  return effects;
}

/**
 * Where the answer to `request` starts. A request that names its epoch at since_seq tells the
 * replica's tail: answered from there, and what was shipped to it before is forgotten. One past
 * the tail (pipelined, or a long poll sent ahead of a write) that asks for events already sent
 * to the replica in this epoch is answered from where they end.
 */
function answerFrom(state: ChannelState, from: NodeId, request: SyncRequest): number {
  if (request.quorum === undefined || request.quorum.lastFetchedEpoch !== UNKNOWN_EPOCH) {
    state.shipped.delete(from);
    return request.sinceSeq;
  }
  const shipped = state.shipped.get(from);
  if (shipped === undefined || shipped.epoch !== state.quorum.epoch) return request.sinceSeq;
  return Math.max(request.sinceSeq, shipped.endSeq);
}

function serveEffect(to: NodeId, request: SyncRequest, sinceSeq: number): ServeEffect {
  return {
    kind: 'serve',
    to,
    request: sinceSeq === request.sinceSeq ? request : { ...request, sinceSeq },
  };
}

/**
 * Answers `peer`'s first held request; its spare, if any, becomes the held one and will continue
 * where this answer ends (`afterRespond` moves it up once the answer is sent).
 */
function serveParked(state: ChannelState, peer: NodeId, parked: ParkedRequest): ServeEffect {
  state.stats.parkedAnswered++;
  if (parked.spare === null) state.parked.delete(peer);
  else promoteSpare(state, peer, parked);
  return serveEffect(peer, parked.request, parked.sinceSeq);
}

/** `parked`'s spare becomes `peer`'s first held request, starting where `parked` would have. */
function promoteSpare(state: ChannelState, peer: NodeId, parked: ParkedRequest): ParkedRequest {
  const promoted = { ...parked.spare!, sinceSeq: parked.sinceSeq, spare: null };
  state.parked.set(peer, promoted);
  return promoted;
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
  const response = outcome.response;
  const q = state.quorum;
  const quorum = {
    epoch: q.epoch,
    commitSeq: q.commitSeq,
    runs: q.runsFor(response.firstSeq, response.firstSeq + response.events.length),
  };
  return [
    { kind: 'metric', metric: { name: 'sync-bytes', bytes: cost } },
    { kind: 'respond', to, response: { ...response, quorum }, costBytes: cost },
  ];
}

/** After a `respond`: an unsent chunk refunds the budget; a sent one with events waits for the next request. */
export function afterRespond(
  state: ChannelState,
  respond: RespondEffect,
  sent: boolean,
): readonly StepEffect[] {
  if (!sent) {
    state.budget.refund(respond.costBytes);
    return NO_EFFECTS;
  }
  const response = respond.response;
  const count = response.events.length;
  if (count > 0) {
    state.awaitingRequest.add(respond.to);
    const endSeq = response.firstSeq + count;
    const shipped = state.shipped.get(respond.to);
    if (shipped === undefined) {
      state.shipped.set(respond.to, { epoch: state.quorum.epoch, endSeq });
    } else {
      shipped.epoch = state.quorum.epoch;
      shipped.endSeq = endSeq;
    }
    // The spare held behind this answer continues where it ends.
    const held = state.parked.get(respond.to);
    if (held !== undefined && held.sinceSeq < endSeq) held.sinceSeq = endSeq;
  }
  const quorum = response.quorum;
  if (quorum !== undefined) recordCommitTold(state, respond.to, quorum.epoch, quorum.commitSeq);
  return NO_EFFECTS;
}

function recordCommitTold(
  state: ChannelState,
  peer: NodeId,
  epoch: number,
  commitSeq: number,
): void {
  const told = state.commitTold.get(peer);
  if (told === undefined) state.commitTold.set(peer, { epoch, commitSeq });
  else {
    told.epoch = epoch;
    told.commitSeq = commitSeq;
  }
}

/** Whether `peer` was last sent this node's current epoch and commit. */
function knowsCommit(state: ChannelState, peer: NodeId): boolean {
  const told = state.commitTold.get(peer);
  return (
    told !== undefined &&
    told.epoch === state.quorum.epoch &&
    told.commitSeq === state.quorum.commitSeq
  );
}

/**
 * Leader: the append announcement. A replica with a held request gets the new events as its
 * answer. One whose next request is on its way, or whose request waits at the tail, gets nothing
 * when it was already sent the current commit (its next request finds the events; the
 * announcement after the leader's own fsync moved no commit); otherwise one heartbeat, as every
 * other peer: a replica shows committed events only, and a held request is answered only by the
 * next append, so a commit left for it would hide the last events sent until then.
 */
export function announceAppends(state: ChannelState, view: StepView): readonly StepEffect[] {
  if (view.role !== Role.Leader) return NO_EFFECTS;
  // Announced once written and again once fsynced: the second may complete a commit that was
  // waiting for this node's own durable copy.
  const effects: StepEffect[] = fromQuorum(state, state.quorum.onLocalAppend(view.tailSeq));
  const shippable = shippableTail(view);
  const heartbeat = heartbeatOf(state, Role.Leader, shippable, view.nowMs);
  for (const peer of state.peers) {
    const parked = state.parked.get(peer);
    if (parked !== undefined && parked.sinceSeq < shippable) {
      effects.push(serveParked(state, peer, parked));
    } else if (
      (state.awaitingRequest.has(peer) || parked !== undefined) &&
      knowsCommit(state, peer)
    ) {
      state.stats.announcementsSkipped++;
    } else {
      effects.push(send(peer, heartbeat));
      const q = heartbeat.quorum;
      if (q !== undefined) recordCommitTold(state, peer, q.epoch, q.commitSeq);
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
    if (leading) {
      if (view.nowMs - parked.atMs >= PARKED_REQUEST_HOLD_MS) {
        effects.push(serveParked(state, peer, parked));
      }
      continue;
    }
    state.parked.delete(peer);
    state.stats.parkedAnswered++;
    effects.push(notLeaderNack(state, peer, parked.request));
    if (parked.spare !== null) {
      state.stats.parkedAnswered++;
      effects.push(notLeaderNack(state, peer, parked.spare.request));
    }
  }
  return effects;
}
