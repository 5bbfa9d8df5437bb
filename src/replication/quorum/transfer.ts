// Leadership transfer: a leader hands its channel to a chosen member without a silence window
// of unavailability (a planned stop, moving leadership back to a preferred node, spreading
// leaders). Pure, like the rest of the quorum logic.
//
// The leader stops taking appends, waits until the target holds its whole log (validated
// position = its next seq) and everything it wrote is committed, then sends the target one
// stand-now. The target starts a real election at once (no pre-vote) and its vote requests carry
// the transfer flag, which lets voters grant although they still hear the old leader. The old
// leader grants too, adopts the new epoch and steps down. If no new leader appears within a
// silence window the old leader simply resumes: nothing was acknowledged in two epochs, because
// it took no appends meanwhile and the protocol's epoch checks do the rest.
// Called by: the facade (`channel-quorum.ts`) and the election tick (`election.ts`).

import type { NodeId } from '../../wire/types.js';
import { startVote } from './election.js';
import type { QuorumEffect, QuorumRole, QuorumState } from './quorum-types.js';

export type TransferRefusal = 'not-leader' | 'not-a-peer' | 'in-progress';

/** The preferred member is "caught up enough" to be handed the channel within this many events. */
export const RETURN_LAG_EVENTS_MAX = 256;
/** After a transfer that did not happen, no automatic return for this many silence windows. */
export const RETURN_BACKOFF_SILENCES = 10;

/** Leader: begin handing the leadership to `target`; null when it began, else why not. */
export function beginTransfer(
  s: QuorumState,
  input: {
    readonly target: NodeId;
    readonly role: QuorumRole;
    readonly nextSeq: number;
    readonly nowMs: number;
  },
): { readonly effects: QuorumEffect[]; readonly refusal: TransferRefusal | null } {
  const effects: QuorumEffect[] = [];
  if (input.role !== 'leader' || s.leader !== s.selfId) return { effects, refusal: 'not-leader' };
  if (!s.peers.includes(input.target)) return { effects, refusal: 'not-a-peer' };
  if (s.transfer !== null) return { effects, refusal: 'in-progress' };
  s.transfer = { target: input.target, startedMs: input.nowMs, standSent: false };
  s.counters.transfersStarted++;
  maybeSendStandNow(s, input.nextSeq, input.nowMs, effects);
  return { effects, refusal: null };
}

/** Leader: `peer` made current-epoch contact within the last two heartbeat periods. */
function inTouch(s: QuorumState, peer: NodeId, nowMs: number): boolean {
  const contact = s.contactMs.get(peer);
  return contact !== undefined && nowMs - contact < 2 * s.heartbeatMs;
}

/**
 * Leader in a transfer: once the target holds the whole log and all of it is committed (so no
 * quorum acknowledgement is left waiting on this epoch), tell the target to stand. For the first
 * half of the silence window it also waits for every other member in touch to hold the whole log,
 * so that acknowledgements asking for more than a quorum (`'all'`, N replicas) complete too.
 */
export function maybeSendStandNow(
  s: QuorumState,
  nextSeq: number,
  nowMs: number,
  effects: QuorumEffect[],
): void {
  const transfer = s.transfer;
  if (transfer === null || transfer.standSent) return;
  if ((s.matched.get(transfer.target) ?? -1) < nextSeq || s.commitSeq < nextSeq) return;
  if (nowMs - transfer.startedMs < s.silenceMs / 2) {
    for (const peer of s.peers) {
      if (inTouch(s, peer, nowMs) && (s.matched.get(peer) ?? -1) < nextSeq) return;
    }
  }
  transfer.standSent = true;
  effects.push({ kind: 'send-stand-now', to: transfer.target, epoch: s.epoch, nextSeq });
}

/**
 * The runtime did not send the stand-now: appends admitted before the transfer began were still
 * being written, so the log's end had not settled. The next position report decides again.
 */
export function standNowDeferred(s: QuorumState): void {
  if (s.transfer !== null) s.transfer.standSent = false;
}

/** Leader tick: a transfer that took a silence window is given up; appends resume. */
export function transferTick(
  s: QuorumState,
  nextSeq: number,
  nowMs: number,
  effects: QuorumEffect[],
): void {
  const transfer = s.transfer;
  if (transfer === null) return;
  if (nowMs - transfer.startedMs >= s.silenceMs) {
    s.transfer = null;
    s.counters.transfersAbandoned++;
    s.returnNotBeforeMs = nowMs + RETURN_BACKOFF_SILENCES * s.silenceMs;
    return;
  }
  maybeSendStandNow(s, nextSeq, nowMs, effects);
}

/**
 * Leader tick: the channel's preferred leader is the first member of its replica set (placement
 * ranks members per channel, so channels spread their leaders over the nodes). A leader that is
 * not the preferred one hands the channel back once the preferred member has been in touch and
 * nearly caught up for a silence window (so a flapping node is not handed anything), unless a
 * transfer failed recently.
 */
export function maybeReturnLeadership(
  s: QuorumState,
  nextSeq: number,
  nowMs: number,
  effects: QuorumEffect[],
): void {
  const preferred = s.members[0];
  if (s.transfer !== null || preferred === undefined || preferred === s.selfId) {
    s.preferredReadyMs = null;
    return;
  }
  const matched = s.matched.get(preferred);
  const ready =
    inTouch(s, preferred, nowMs) &&
    matched !== undefined &&
    nextSeq - matched <= RETURN_LAG_EVENTS_MAX;
  if (!ready) {
    s.preferredReadyMs = null;
    return;
  }
  s.preferredReadyMs ??= nowMs;
  if (nowMs - s.preferredReadyMs < s.silenceMs || nowMs < s.returnNotBeforeMs) return;
  s.preferredReadyMs = null;
  s.transfer = { target: preferred, startedMs: nowMs, standSent: false };
  s.counters.transfersStarted++;
  s.counters.leadershipReturns++;
  maybeSendStandNow(s, nextSeq, nowMs, effects);
}

/**
 * A stand-now from `from`. Acted on only when it comes from the leader of this node's epoch and
 * this node may stand: then the election of the next epoch starts at once.
 */
export function handleStandNow(
  s: QuorumState,
  input: {
    readonly from: NodeId;
    readonly epoch: number;
    readonly role: QuorumRole;
    readonly nextSeq: number;
    readonly nowMs: number;
  },
): QuorumEffect[] {
  const effects: QuorumEffect[] = [];
  if (
    input.role !== 'replica' ||
    input.epoch !== s.epoch ||
    s.leader !== input.from ||
    !s.mayVote ||
    !s.isMember ||
    s.election !== null
  ) {
    s.counters.standNowIgnored++;
    return effects;
  }
  s.counters.transfersStood++;
  // Handed the channel on purpose (an operator, a draining node): keep it a while before giving
  // it back to the preferred member, so two transfers do not chase each other.
  s.returnNotBeforeMs = input.nowMs + RETURN_BACKOFF_SILENCES * s.silenceMs;
  startVote(s, input.nextSeq, input.nowMs, true, effects);
  return effects;
}
