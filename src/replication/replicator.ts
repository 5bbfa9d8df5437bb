// The bridge between the log and the replication runtime (docs/DESIGN.md#roles-and-transitions,
// beyond
// upstream). `enableReplication(redex, host)` (enable.ts) installs one `Replicator` on a `Redex` as
// its `ReplicationAttachment`; from then on, opening a
// file with a `replication` config validates it, computes the replica set, and — when this node
// is a member — moves the channel to Replica and starts its runtime, registered in the host's
// router. The first leader then emerges through the normal silence → election path. Closing the
// file cancels the runtime.
//
// The file learns of replication only through the `FileReplication` hook installed here: appends
// are refused with NOT_LEADER unless this node leads, each local append nudges the runtime to
// announce it, and `waitForReplicas` reads the runtime's confirmed tails. The runtime writes
// through the file's internal apply path, which skips the guard.

import { ClosedError, NotLeaderError, RedexError, RedexErrorCode } from '../log/errors.js';
import type {
  Acks,
  FileReplication,
  RedexFile,
  ReplicatedWrite,
  WaitForCommitOptions,
  WaitForReplicasOptions,
} from '../log/redex-file.js';
import type { ReplicationAttachment } from '../log/replication-attachment.js';
import type { Clock } from '../time/clock.js';
import type { Random } from '../time/random.js';
import { channelIdFromName, isNodeId } from '../wire/ids.js';
import { type ChannelId, type NodeId, Role } from '../wire/types.js';
import { AttachedFile } from './attached-file.js';
import { BandwidthBudget } from './budget.js';
import {
  type ReplicationConfig,
  type ReplicationConfigInput,
  type ReplicationConfigOptions,
  replicationConfigEquals,
  resolveReplicationConfig,
} from './config.js';
import { type ChainTagSink, ReplicationCoordinator, TagSinkError } from './coordinator.js';
import { type ReplicationRuntimeHandle, spawnReplicationRuntime } from './handle.js';
import { NIC_PEAK_BPS_DEFAULT, type ReplicationHost } from './host.js';
import { ReplicationMetrics } from './metrics.js';
import { placeReplicas } from './placement.js';
import { ElectionSlots } from './quorum/election-slots.js';
import { TransitionSignal } from './roles.js';
import { TransferFailedError, type TransferResult } from './runtime-transfer.js';

const NO_CHAIN_TAGS: ChainTagSink = { announce() {}, withdraw() {} };

/** The chain identifier a channel's tag advertises: the first 8 bytes (LE) of its channel id. */
export function originHashOf(channelId: ChannelId): bigint {
  return new DataView(channelId.buffer, channelId.byteOffset, 8).getBigUint64(0, true);
}

export interface ReplicatorDeps {
  readonly clock: Clock;
  readonly random: Random;
  /** How every file's replication config is resolved (tests lower the heartbeat floor here). */
  readonly config?: ReplicationConfigOptions;
}

export class Replicator implements ReplicationAttachment {
  readonly host: ReplicationHost;
  readonly metrics: ReplicationMetrics;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #configOptions: ReplicationConfigOptions;
  // Invariant: one entry per open replicated file, removed when it closes.
  readonly #channels = new Map<string, ReplicatedChannel>();
  /** This node's bound on elections standing at once, shared by its channels. */
  readonly #elections = new ElectionSlots();

  constructor(host: ReplicationHost, deps: ReplicatorDeps) {
    if (typeof host !== 'object' || host === null) {
      throw new RedexError(RedexErrorCode.Config, 'enableReplication: host must be an object');
    }
    if (!isNodeId(host.selfId)) {
      throw new RedexError(
        RedexErrorCode.Config,
        `enableReplication: host.selfId must be a NodeId (u64 bigint other than 0), got ${String(host.selfId)}`,
      );
    }
    for (const field of ['dispatcher', 'router'] as const) {
      if (typeof host[field] !== 'object' || host[field] === null) {
        throw new RedexError(RedexErrorCode.Config, `enableReplication: host.${field} is missing`);
      }
    }
    if (typeof host.members !== 'function') {
      throw new RedexError(RedexErrorCode.Config, 'enableReplication: host.members() is missing');
    }
    this.host = host;
    this.metrics = host.metrics ?? new ReplicationMetrics();
    this.#clock = deps.clock;
    this.#random = deps.random;
    this.#configOptions = deps.config ?? {};
  }

  /** Validates a file's `replication` config (CONFIG error naming the field). */
  resolveConfig(input: Readonly<Record<string, unknown>>): ReplicationConfig {
    return resolveReplicationConfig(input as ReplicationConfigInput, this.#configOptions);
  }

  sameConfig(a: ReplicationConfig, b: ReplicationConfig): boolean {
    return replicationConfigEquals(a, b);
  }

  /** The replication of an open file, by name. */
  channel(name: string): ReplicatedChannel | undefined {
    return this.#channels.get(name);
  }

  get channelNames(): string[] {
    return [...this.#channels.keys()].sort();
  }

  /**
   * Starts replicating a freshly opened file: placement, then (as a member) Idle → Replica and
   * the runtime. Installs the file's hook before resolving.
   */
  async attach(file: RedexFile, config: ReplicationConfig): Promise<ReplicatedChannel> {
    const channelId = channelIdFromName(file.name);
    const members = new Set<NodeId>([this.host.selfId, ...this.host.members()]);
    const replicaSet = placeReplicas(channelId, members, config);
    const channel = new ReplicatedChannel(this, file, channelId, config, replicaSet, () => {
      if (this.#channels.get(file.name) === channel) this.#channels.delete(file.name);
    });
    if (channel.isMember) {
      const coordinator = new ReplicationCoordinator({
        channel: { name: file.name, originHash: originHashOf(channelId) },
        config,
        sink: this.host.chainTags ?? NO_CHAIN_TAGS,
        metrics: this.metrics.forChannel(file.name),
      });
      try {
        await coordinator.transitionTo(Role.Replica, TransitionSignal.CapabilitySelected);
      } catch (error) {
        // The role did change; only the chain tag failed, and the next transition retries it.
        if (!(error instanceof TagSinkError)) throw error;
      }
      // Epoch, vote and history as this node left them. A node that may have lost acknowledged
      // events (in memory, or an unclean stop without fsync on every append) does not vote
      // until it caught up with a leader (or every member turns out to be new).
      const store = file.quorumState;
      const loaded = await store.load(file.nextSeq);
      const trusted = file.persistent && (loaded.cleanShutdown || file.config.fsync === 'always');
      await file.openQuorumState();
      const runtimeFile = new AttachedFile(file);
      const handle = spawnReplicationRuntime({
        channelId,
        channelName: file.name,
        selfId: this.host.selfId,
        replicaSet,
        file: runtimeFile,
        coordinator,
        dispatcher: this.host.dispatcher,
        clock: this.#clock,
        // The host's tick grid, if it has one: its channels' heartbeats then leave in one burst.
        ...(this.host.ticks === undefined ? {} : { ticks: this.host.ticks }),
        // Node beats ride on the tick grid's beat: without a grid there are none.
        ...(this.host.beats === undefined || this.host.ticks === undefined
          ? {}
          : { beats: this.host.beats }),
        random: this.#random,
        elections: this.#elections,
        budget: new BandwidthBudget({
          nicPeakBps: this.host.nicPeakBps ?? NIC_PEAK_BPS_DEFAULT,
          fraction: config.budgetFraction,
          nowMs: this.#clock.nowMs(),
        }),
        metrics: this.metrics.forChannel(file.name),
        onCommit: () => file.commitAdvanced(),
        quorum: {
          durable: { epoch: loaded.epoch, votedFor: loaded.votedFor, history: loaded.history },
          mayVote: trusted,
          persistence: {
            saveVote: (epoch, votedFor) => store.saveVote(epoch, votedFor),
            appendEpoch: (epoch, startSeq) => store.appendEpoch(epoch, startSeq),
            truncateHistory: (fromSeq) => store.truncateHistory(fromSeq),
          },
        },
      });
      try {
        this.host.router.register(handle);
      } catch (error) {
        await handle.cancel();
        throw error;
      }
      channel.start(handle);
    }
    file.attachReplication(channel);
    this.#channels.set(file.name, channel);
    return channel;
  }

  assertInvariants(): void {
    this.host.ticks?.assertInvariants();
    for (const channel of this.#channels.values()) channel.assertInvariants();
  }
}

/** What an `acks` option waits for, checked against the replica set's size. */
function ackCondition(
  acks: Acks | undefined,
  replicas: number,
): 'leader' | 'commit' | 'all' | number {
  if (acks === undefined || acks === 'quorum') return 'commit';
  if (acks === 'leader' || acks === 'all') return acks;
  if (typeof acks === 'number' && Number.isSafeInteger(acks) && acks >= 0 && acks <= replicas) {
    return acks;
  }
  throw new RedexError(
    RedexErrorCode.InvalidArgument,
    `acks must be 'quorum', 'leader', 'all' or a number of replicas in 0..${replicas}, got ${String(acks)}`,
  );
}

/** The replication state of one open file; also its `FileReplication` hook. */
export class ReplicatedChannel implements FileReplication {
  readonly name: string;
  readonly channelId: ChannelId;
  readonly config: ReplicationConfig;
  readonly replicaSet: readonly NodeId[];
  readonly isMember: boolean;
  readonly #replicator: Replicator;
  readonly #onClosed: () => void;
  #handle: ReplicationRuntimeHandle | null = null;
  #closing: Promise<void> | null = null;

  constructor(
    replicator: Replicator,
    file: RedexFile,
    channelId: ChannelId,
    config: ReplicationConfig,
    replicaSet: readonly NodeId[],
    onClosed: () => void,
  ) {
    this.#replicator = replicator;
    this.name = file.name;
    this.channelId = channelId;
    this.config = config;
    this.replicaSet = Object.freeze([...replicaSet]);
    this.isMember = replicaSet.includes(replicator.host.selfId);
    this.#onClosed = onClosed;
  }

  /** INTERNAL: called once by the replicator after the runtime started. */
  start(handle: ReplicationRuntimeHandle): void {
    this.#handle = handle;
  }

  /** The runtime's handle; null on a node outside the replica set. */
  get handle(): ReplicationRuntimeHandle | null {
    return this.#handle;
  }

  /** This node's role for the channel (Idle outside the replica set or once closed). */
  get role(): Role {
    return this.#handle?.coordinator.role ?? Role.Idle;
  }

  /** Who this node believes leads: itself when Leader, else the tracker's belief. */
  get leader(): NodeId | null {
    const handle = this.#handle;
    if (handle === null || handle.isStopped) return null;
    if (handle.coordinator.role === Role.Leader) return this.#replicator.host.selfId;
    return handle.runtime.tracker.believedLeader;
  }

  /**
   * Leader: hands this channel's leadership to `target` (default: the member whose validated
   * position is furthest along, the lowest NodeId on a tie). Appends get NOT_LEADER naming the
   * target meanwhile. Resolves once the target leads; rejects with TRANSFER_FAILED (or
   * NOT_LEADER when this node does not lead).
   */
  async transferLeadership(target?: NodeId): Promise<TransferResult> {
    const handle = this.#handle;
    const runtime = handle?.runtime;
    if (runtime === undefined || handle === null || handle.isStopped || !runtime.leads()) {
      throw this.#notLeader(this.leader);
    }
    const to = target ?? bestTransferTarget(runtime.quorum.matched);
    if (to === null) {
      throw new TransferFailedError(this.name, 'no-target', 'no other member has been in touch');
    }
    return runtime.transferLeadership(to);
  }

  /** NOT_LEADER naming `leader` and where clients reach it. */
  #notLeader(leader: NodeId | null): NotLeaderError {
    const address = leader === null ? null : (this.#replicator.host.addressOf?.(leader) ?? null);
    return new NotLeaderError(this.name, leader, address);
  }

  beginWrite(acks: Acks | undefined, ackTimeoutMs: number | undefined): ReplicatedWrite {
    const handle = this.#handle;
    const runtime = handle?.runtime;
    if (runtime === undefined || handle === null || handle.isStopped || !runtime.leads()) {
      // During a transfer the target is where the next leader will be.
      throw this.#notLeader(runtime?.quorum.transferTarget ?? this.leader);
    }
    const replicas = ackCondition(acks, runtime.progress.peerCount);
    const epoch = runtime.quorum.epoch;
    return {
      precondition: () => runtime.leads(epoch),
      acknowledge: (lastSeq, signal) => {
        if (replicas === 'leader') return Promise.resolve();
        return runtime.commits.wait(
          { seq: lastSeq, epoch, replicas },
          { signal, ...(ackTimeoutMs === undefined ? {} : { timeoutMs: ackTimeoutMs }) },
        );
      },
    };
  }

  /** Committed reads stop here; a node outside the replica set holds nothing to hide. */
  get commitSeq(): number {
    return this.#handle?.runtime.commitSeq ?? Number.MAX_SAFE_INTEGER;
  }

  waitForCommit(seq: number, options: WaitForCommitOptions = {}): Promise<void> {
    const handle = this.#handle;
    if (handle === null) {
      return Promise.reject(
        new RedexError(
          RedexErrorCode.Config,
          `this node is not in the replica set of ${JSON.stringify(this.name)}; it cannot follow its commit`,
        ),
      );
    }
    if (handle.isStopped) {
      return Promise.reject(new ClosedError(`the replication of ${JSON.stringify(this.name)}`));
    }
    return handle.runtime.commits.wait(
      { seq, epoch: null, replicas: 'commit' },
      {
        signal: options.signal ?? null,
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      },
    );
  }

  appended(): void {
    this.#handle?.runtime.notifyAppended();
  }

  waitForReplicas(seq: number, options?: WaitForReplicasOptions): Promise<void> {
    const handle = this.#handle;
    if (handle === null) {
      return Promise.reject(
        new RedexError(
          RedexErrorCode.Config,
          `this node is not in the replica set of ${JSON.stringify(this.name)}; it cannot count its replicas`,
        ),
      );
    }
    if (handle.isStopped) {
      return Promise.reject(new ClosedError(`the replication of ${JSON.stringify(this.name)}`));
    }
    return handle.runtime.waitForReplicas(seq, options);
  }

  close(): Promise<void> {
    if (this.#closing === null) {
      const handle = this.#handle;
      this.#closing = (async () => {
        if (handle !== null) {
          await handle.cancel();
          this.#replicator.host.router.unregister(handle);
          this.#replicator.metrics.releaseChannel(this.name);
        }
        this.#onClosed();
      })();
    }
    return this.#closing;
  }

  assertInvariants(): void {
    const handle = this.#handle;
    if (this.isMember !== (handle !== null) && this.#closing === null) {
      throw new Error(`replicated channel ${this.name}: member without a runtime or the reverse`);
    }
    handle?.runtime.assertInvariants();
  }
}

/** The member furthest along (lowest NodeId on a tie), or null when none validated a position. */
function bestTransferTarget(matched: ReadonlyMap<NodeId, number>): NodeId | null {
  let best: NodeId | null = null;
  let bestSeq = -1;
  for (const [peer, seq] of matched) {
    if (seq > bestSeq || (seq === bestSeq && best !== null && peer < best)) {
      best = peer;
      bestSeq = seq;
    }
  }
  return best;
}
