// The inputs of a channel's replication runtime: the log operations it needs, where the quorum
// state is made durable, what was loaded at open, and the runtime's options with their checks.
// Called by: the runtime (`runtime.ts`), which re-exports these types, and the handle.

import { RedexError, RedexErrorCode } from '../log/errors.js';
import type { Clock } from '../time/clock.js';
import type { Random } from '../time/random.js';
import { isNodeId } from '../wire/ids.js';
import type { ChannelId, NodeId } from '../wire/types.js';
import type { BandwidthBudget } from './budget.js';
import type { CatchupSink, CatchupSource } from './catchup.js';
import type { ReplicationCoordinator } from './coordinator.js';
import type { ReplicationDispatcher } from './dispatcher.js';
import type { ChannelMetrics } from './metrics.js';
import type { NodeBeatsView } from './node-beats.js';
import type { ElectionSlots } from './quorum/election-slots.js';
import type { EpochEntry } from './quorum/epoch-history.js';
import type { TickScheduler } from './tick-scheduler.js';

/** The log operations the runtime needs; `RedexFile` fits (the integration routes writes to its internal apply path). */
export interface RuntimeFile extends CatchupSource, CatchupSink {
  /** The next seq once the appends being written land (seqs taken, bytes not yet stored). */
  readonly writingNextSeq?: number;
  /**
   * Leader: the end of what it may ship, `nextSeq` when absent. Beyond `nextSeq` are its appends
   * written and still being fsynced; `readRangeLimited` reads up to here. They count toward
   * commit only once `nextSeq` covers them.
   */
  readonly shipNextSeq?: number;
  /** Leader: `firstSeq` counting the events up to `shipNextSeq`; `firstSeq` when absent. */
  readonly shipFirstSeq?: number | null;
  skipTo(seq: number): Promise<void>;
  sweepRetention(): Promise<number>;
  /** Cuts a diverged suffix: every event at or after `seq` goes, durably, before it resolves. */
  truncateFrom(seq: number): Promise<number>;
}

/** Where the channel's epoch, vote and epoch history are made durable (the log's quorum files). */
export interface QuorumPersistence {
  saveVote(epoch: number, votedFor: bigint | null): Promise<void>;
  appendEpoch(epoch: number, startSeq: number): Promise<void>;
  truncateHistory(fromSeq: number): Promise<void>;
}

/** The quorum state loaded at open, and whether this node may vote before it caught up. */
export interface QuorumStart {
  readonly durable: {
    readonly epoch: number;
    readonly votedFor: NodeId | null;
    readonly history: readonly EpochEntry[];
  };
  readonly mayVote: boolean;
  readonly persistence: QuorumPersistence;
}

/** Memory only: a fresh state with nothing durable (tests; in-memory channels use the same). */
export function volatileQuorumStart(mayVote = true): QuorumStart {
  const done = () => Promise.resolve();
  return {
    durable: { epoch: 0, votedFor: null, history: [] },
    mayVote,
    persistence: { saveVote: done, appendEpoch: done, truncateHistory: done },
  };
}

/** Heartbeat period, default class and background fraction come from the coordinator's config. */
export interface RuntimeOptions {
  readonly channelId: ChannelId;
  /** Channel name: metrics label and error messages (default: the channel id in hex). */
  readonly channelName?: string;
  readonly selfId: NodeId;
  /** Every member of the channel's replica set, this node included. */
  readonly replicaSet: readonly NodeId[];
  readonly file: RuntimeFile;
  readonly coordinator: ReplicationCoordinator;
  readonly dispatcher: ReplicationDispatcher;
  /** Drives the timers; its `nowMs` is also the heartbeat's wall-clock field. */
  readonly clock: Clock;
  /** The node's shared tick grid (default: the runtime keeps its own tick timer on `clock`). */
  readonly ticks?: TickScheduler;
  /** The node's beat table (node-beats.ts): with it, the channel sends and reads node beats. */
  readonly beats?: NodeBeatsView;
  /** The node's bound on elections standing at once, shared by its channels. */
  readonly elections?: ElectionSlots;
  /** Mints request tokens (use a cryptographic source in production: tokens must not be guessable). */
  readonly random: Random;
  readonly budget: BandwidthBudget;
  readonly metrics?: ChannelMetrics;
  /** Default: a fresh, volatile quorum state that may vote (tests of the seed's behaviour). */
  readonly quorum?: QuorumStart;
  /** Told after the commit moved (the file wakes its committed readers). */
  readonly onCommit?: () => void;
}

export function invalidOption(message: string): RedexError {
  return new RedexError(RedexErrorCode.InvalidArgument, `replication runtime: ${message}`);
}

/** Throws a typed error for a malformed self id or replica set. */
export function checkRuntimeOptions(options: RuntimeOptions): void {
  if (!isNodeId(options.selfId))
    throw invalidOption(`selfId must be a NodeId, got ${String(options.selfId)}`);
  if (!Array.isArray(options.replicaSet)) throw invalidOption('replicaSet must be an array');
  for (const id of options.replicaSet) {
    if (!isNodeId(id)) throw invalidOption(`replicaSet holds a bad NodeId ${String(id)}`);
  }
}
