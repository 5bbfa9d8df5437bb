// How a channel's replication runtime performs the effects of the quorum logic
// (`quorum/channel-quorum.ts`): durable writes of the vote and the epoch history, the log cut of a
// divergence, vote messages, the role changes an election or a step-down decides, and what a new
// commit wakes. A durable write that fails throws: the step ends there, so nothing that depended
// on it (an answer to a vote, an event of the new epoch) happens.
// Called by: the runtime (`runtime.ts`), which passes itself in as a `QuorumEffectHost`.

import type { ChannelId } from '../wire/types.js';
import { Role } from '../wire/types.js';
import type { CommitWaiters } from './commit-waiters.js';
import type { ReplicationCoordinator } from './coordinator.js';
import type { QuorumEffect, QuorumTransitionReason } from './quorum/channel-quorum.js';
import { TransitionSignal } from './roles.js';
import type { QuorumPersistence, RuntimeFile } from './runtime-options.js';
import type { RuntimeSender } from './runtime-send.js';
import type { RuntimeStats } from './runtime-stats.js';
import { afterTruncate } from './step.js';
import type { ChannelState, StepEffect, StepView } from './step-state.js';
import { NO_EFFECTS } from './step-state.js';

/** What performing a quorum effect needs from the runtime. */
export interface QuorumEffectHost {
  readonly channelId: ChannelId;
  readonly coordinator: ReplicationCoordinator;
  readonly commits: CommitWaiters;
  readonly stats: RuntimeStats;
  readonly state: ChannelState;
  readonly file: RuntimeFile;
  readonly persistence: QuorumPersistence;
  readonly sender: RuntimeSender;
  /** The runtime's abort race around every outside await. */
  io<T>(promise: Promise<T>): Promise<T>;
  view(): StepView;
  /** True when the role moved (see the runtime's transition). */
  transition(target: Role, signal: TransitionSignal): Promise<boolean>;
  /** Leader: announce to every peer soon (one coalesced heartbeat each). */
  scheduleNotify(): void;
  /** The commit moved: observers and the file's committed readers are told. */
  committed(): void;
}

/** One quorum effect; returns what its outcome decides next. */
export async function performQuorumEffect(
  host: QuorumEffectHost,
  effect: QuorumEffect,
): Promise<readonly StepEffect[]> {
  switch (effect.kind) {
    case 'persist-vote':
      await host.io(host.persistence.saveVote(effect.epoch, effect.votedFor));
      // A candidate's requests leave after this write: its election window starts now.
      if (effect.votedFor === host.state.quorum.selfId)
        host.state.quorum.ownVoteDurable(effect.epoch, host.view().nowMs);
      return NO_EFFECTS;
    case 'persist-epoch-start':
      await host.io(host.persistence.appendEpoch(effect.epoch, effect.startSeq));
      return NO_EFFECTS;
    case 'persist-history-truncate':
      await host.io(host.persistence.truncateHistory(effect.fromSeq));
      return NO_EFFECTS;
    case 'truncate-log': {
      await host.io(host.file.truncateFrom(effect.fromSeq));
      host.stats.truncations++;
      return afterTruncate(host.state, effect.fromSeq, host.view());
    }
    case 'send-vote-request':
      await host.sender.sendQuorum(effect.to, {
        kind: 'vote-request',
        channelId: host.channelId,
        epoch: effect.epoch,
        lastEpoch: effect.lastEpoch,
        nextSeq: effect.nextSeq,
        preVote: effect.preVote,
        transfer: effect.transfer,
      });
      return NO_EFFECTS;
    case 'send-vote-response':
      await host.sender.sendQuorum(effect.to, {
        kind: 'vote-response',
        channelId: host.channelId,
        epoch: effect.epoch,
        granted: effect.granted,
        preVote: effect.preVote,
      });
      return NO_EFFECTS;
    case 'send-stand-now':
      // Appends admitted before the transfer began may still be landing: their seqs are taken,
      // so the target would stand with a shorter log than ours. Wait for the next report.
      if ((host.file.writingNextSeq ?? host.file.nextSeq) !== effect.nextSeq) {
        host.state.quorum.standNowDeferred();
        return NO_EFFECTS;
      }
      await host.sender.sendQuorum(effect.to, {
        kind: 'stand-now',
        channelId: host.channelId,
        epoch: effect.epoch,
      });
      return NO_EFFECTS;
    case 'become':
      await become(host, effect.role, effect.reason);
      return NO_EFFECTS;
    case 'leadership-lost':
      host.commits.update();
      return NO_EFFECTS;
    case 'commit':
      host.commits.update();
      host.committed();
      // Replicas show committed events only: tell them soon (one coalesced heartbeat each).
      if (host.coordinator.role === Role.Leader) host.scheduleNotify();
      return NO_EFFECTS;
  }
}

/** The coordinator's transition for a role the quorum logic decided. */
async function become(
  host: QuorumEffectHost,
  role: 'leader' | 'candidate' | 'replica',
  reason: QuorumTransitionReason,
): Promise<void> {
  const from = host.coordinator.role;
  if (role === 'leader') {
    if (await host.transition(Role.Leader, TransitionSignal.ElectionWon))
      host.state.quorum.leadershipStarted(host.view().nowMs);
  } else if (role === 'candidate') {
    await host.transition(Role.Candidate, TransitionSignal.MissedHeartbeats);
  } else if (from === Role.Leader) {
    const signal =
      reason === 'quorum-lost' ? TransitionSignal.QuorumLost : TransitionSignal.HigherEpochObserved;
    await host.transition(Role.Replica, signal);
  } else if (from === Role.Candidate) {
    const signal =
      reason === 'higher-epoch'
        ? TransitionSignal.HigherEpochObserved
        : TransitionSignal.ElectionLost;
    await host.transition(Role.Replica, signal);
  }
  host.commits.update();
}
