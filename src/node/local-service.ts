// `NodeService` for one node with no mesh: every channel is standalone (this node takes its
// writes), and replication settings are kept and shown but not acted on. DEV DOCS:
//
// Owns: the `Redex` it is given (closed by `shutdown`), the table of open channels with their
// specs and counters, the periodic retention sweep, and the in-flight write count that shutdown
// waits for. Called by: the HTTP layer and `startNode`; in a cluster `ClusterNodeService`
// (cluster-service.ts) wraps one and adds roles, replicas, peers and cluster-wide creates.

import { type RedexFileConfig, resolveFileConfig, sameFileConfig } from '../log/config.js';
import type { NotLeaderError } from '../log/errors.js';
import { RedexError, RedexErrorCode } from '../log/errors.js';
import type { Redex } from '../log/redex.js';
import type { RedexFile } from '../log/redex-file.js';
import { type ChannelMetrics, ReplicationMetrics } from '../replication/metrics.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import type { NodeId } from '../wire/types.js';
import type { ChannelRegistry } from './channel-registry.js';
import type { ChannelSpec } from './channel-spec.js';
import { NodeError, NodeErrorCode } from './errors.js';
import { type NodeLogger, silentLogger } from './logger.js';
import { leaderHint, type ResolvedMember } from './members.js';
import { formatNodeId } from './node-id.js';
import type {
  AppendOptions,
  AppendResult,
  ChannelSpecDefaults,
  ChannelStatus,
  CreateChannelOptions,
  CreateChannelResult,
  DeleteChannelResult,
  EventStream,
  LeaderHint,
  LeadershipResult,
  NodeInfo,
  NodeReadiness,
  NodeService,
  NodeStatus,
  ReadRequest,
  ReadResult,
} from './service.js';
import { packageVersion } from './version.js';

export interface LocalNodeServiceOptions {
  readonly name: string;
  readonly redex: Redex;
  readonly nodeId?: NodeId | null;
  /** Defaults to the Redex's clock. */
  readonly clock?: Clock;
  /** The cluster members from the config (zero or one here); this node's entry gives its HTTP origin. */
  readonly members?: readonly ResolvedMember[];
  /** Remembers channels created over the API; null keeps them for this run only. */
  readonly registry?: ChannelRegistry | null;
  readonly logger?: NodeLogger;
  /** Period of the retention sweep over every channel; null turns it off. */
  readonly retentionSweepMs?: number | null;
  readonly metrics?: ReplicationMetrics;
  /**
   * The log config a spec opens with. Default: `spec.file` alone (a single node keeps a
   * replicated channel to itself); the cluster adds the replication config.
   */
  readonly fileConfig?: (spec: ChannelSpec) => RedexFileConfig;
}

interface ChannelEntry {
  readonly spec: ChannelSpec;
  /** Config-file channels cannot be deleted over the API: the next start would reopen them. */
  readonly fromConfig: boolean;
  readonly file: RedexFile;
  readonly metrics: ChannelMetrics;
  appendedEvents: number;
  appendedBytes: number;
}

export class LocalNodeService implements NodeService {
  #info: NodeInfo;
  readonly specDefaults: ChannelSpecDefaults;
  readonly #redex: Redex;
  readonly #clock: Clock;
  readonly #members: readonly ResolvedMember[];
  readonly #registry: ChannelRegistry | null;
  readonly #logger: NodeLogger;
  readonly #metrics: ReplicationMetrics;
  readonly #channels = new Map<string, ChannelEntry>();
  /** Opens in progress, so concurrent creates of one name share one open. */
  readonly #opening = new Map<string, Promise<ChannelEntry>>();
  /** Deletes in progress, so a create of the same name waits until the files are gone. */
  readonly #deleting = new Map<string, Promise<void>>();
  readonly #watchers = new Set<() => void>();
  readonly #startedAtMs: number;
  #notifyScheduled = false;
  #inflight = 0;
  #idle: (() => void)[] = [];
  #accepting = true;
  #shutdown: Promise<void> | null = null;
  #sweepTimer: TimerHandle | null = null;
  /** The sweep in progress, which shutdown lets finish before closing the files. */
  #sweeping: Promise<void> | null = null;
  readonly #sweepMs: number | null;
  readonly #fileConfig: (spec: ChannelSpec) => RedexFileConfig;

  constructor(options: LocalNodeServiceOptions) {
    this.#redex = options.redex;
    this.#clock = options.clock ?? options.redex.clock;
    this.#members = options.members ?? [];
    this.#registry = options.registry ?? null;
    this.#logger = options.logger ?? silentLogger;
    this.#metrics = options.metrics ?? new ReplicationMetrics();
    this.#startedAtMs = this.#clock.nowMs();
    const self = this.#members.find((member) => member.name === options.name);
    const nodeId = options.nodeId ?? self?.nodeId ?? null;
    this.#info = {
      name: options.name,
      nodeId: nodeId === null ? null : formatNodeId(nodeId),
      version: packageVersion(),
      mode: 'single',
      http: self?.http ?? null,
      mesh: null,
    };
    this.specDefaults = {
      defaultPersistent: options.redex.dir !== null,
      members: new Set(this.#members.map((member) => member.name)),
    };
    this.#sweepMs = options.retentionSweepMs ?? null;
    this.#fileConfig = options.fileConfig ?? ((spec) => spec.file);
    this.#armSweep();
  }

  get info(): NodeInfo {
    return this.#info;
  }

  get accepting(): boolean {
    return this.#accepting;
  }

  /** Sets the HTTP origin status shows when the config names none (the address it listens on). */
  advertiseHttp(origin: string): void {
    if (this.#info.http === null) this.#info = { ...this.#info, http: origin };
  }

  /**
   * Opens `spec`. It is remembered in channels.json when it comes from a client or a peer
   * (`origin`); `persist` overrides that (false: config-file channels are not remembered).
   */
  async createChannel(
    spec: ChannelSpec,
    options: CreateChannelOptions & { readonly persist?: boolean } = {},
  ): Promise<CreateChannelResult> {
    const origin = options.origin ?? 'api';
    const persist = options.persist ?? (origin === 'api' || origin === 'peer');
    this.#checkAccepting();
    await this.#deleting.get(spec.name)?.catch(() => {});
    const pending = this.#opening.get(spec.name);
    if (pending !== undefined) await pending.catch(() => {});
    const existing = this.#channels.get(spec.name);
    if (existing !== undefined) {
      if (!sameSpec(existing.spec, spec)) {
        throw new NodeError(
          NodeErrorCode.ChannelExists,
          `channel ${JSON.stringify(spec.name)} is already open with a different config`,
        );
      }
      return { created: false, channel: this.#channelStatus(existing) };
    }
    const opening = this.#open(spec, persist, origin === 'config');
    this.#opening.set(spec.name, opening);
    try {
      const entry = await opening;
      this.#notify();
      return { created: true, channel: this.#channelStatus(entry) };
    } finally {
      this.#opening.delete(spec.name);
    }
  }

  async #open(spec: ChannelSpec, persist: boolean, fromConfig: boolean): Promise<ChannelEntry> {
    const file = await this.#redex.openFile(spec.name, this.#fileConfig(spec));
    try {
      if (persist && this.#registry !== null) await this.#registry.add(spec);
    } catch (error) {
      // Not remembered means not created: the caller retries, nothing half-exists.
      await file.close();
      throw error;
    }
    const metrics = this.#metrics.forChannel(spec.name);
    metrics.tailSeq(file.nextSeq);
    const entry: ChannelEntry = {
      spec,
      fromConfig,
      file,
      metrics,
      appendedEvents: 0,
      appendedBytes: 0,
    };
    this.#channels.set(spec.name, entry);
    this.#logger.info({ channel: spec.name, nextSeq: file.nextSeq }, 'channel open');
    return entry;
  }

  /**
   * Forgets the channel (channels.json first: a failure there leaves it open and whole), then
   * closes it (tails end, appends in flight settle) and deletes its files.
   */
  async deleteChannel(name: string): Promise<DeleteChannelResult> {
    this.#checkAccepting();
    await this.#deleting.get(name)?.catch(() => {});
    await this.#opening.get(name)?.catch(() => {});
    const entry = this.#entry(name);
    if (entry.fromConfig) {
      throw new NodeError(
        NodeErrorCode.ChannelInConfig,
        `channel ${JSON.stringify(name)} is in the node's config file; remove it there and restart the node`,
      );
    }
    this.#channels.delete(name);
    const deleting = (async () => {
      try {
        await this.#registry?.remove(name);
      } catch (error) {
        this.#channels.set(name, entry);
        throw error;
      }
      await this.#redex.closeAndUnlinkFile(name);
      // A deleted channel's series would otherwise stay in every scrape.
      this.#metrics.releaseChannel(name);
    })();
    this.#deleting.set(name, deleting);
    try {
      await deleting;
    } finally {
      this.#deleting.delete(name);
    }
    this.#logger.info({ channel: name }, 'channel deleted');
    this.#notify();
    return {};
  }

  /** Whether `name` is open here and came from the config file. */
  isConfigChannel(name: string): boolean {
    return this.#channels.get(name)?.fromConfig ?? false;
  }

  async channel(name: string): Promise<ChannelStatus> {
    return this.#channelStatus(this.#entry(name));
  }

  /** A single node has no replicas to hand a channel to. */
  async transferLeadership(channel: string, _to: string | null): Promise<LeadershipResult> {
    this.#entry(channel);
    throw new NodeError(
      NodeErrorCode.Unavailable,
      `channel ${JSON.stringify(channel)} is not replicated; there is no other node to lead it`,
    );
  }

  /** The open file of `name` (CHANNEL_NOT_FOUND otherwise); the cluster service reads its replication. */
  file(name: string): RedexFile {
    return this.#entry(name).file;
  }

  /** Names of the open channels, sorted. */
  get channelNames(): string[] {
    return [...this.#channels.keys()].sort();
  }

  async append(
    channel: string,
    payloads: readonly Uint8Array[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    this.#checkAccepting();
    const entry = this.#entry(channel);
    const acks = options.acks;
    if (typeof acks === 'number' && acks > 0 && !entry.file.replicated) {
      throw new NodeError(
        NodeErrorCode.Unavailable,
        `channel ${JSON.stringify(channel)} has no replicas: this node runs without a mesh`,
      );
    }
    const fileOptions = {
      ...(acks === undefined ? {} : { acks }),
      ...(options.timeoutMs === undefined ? {} : { ackTimeoutMs: options.timeoutMs }),
    };
    const guard = options.ifNextSeq;
    this.#inflight++;
    try {
      const firstSeq =
        guard !== undefined
          ? await entry.file.appendBatchIfNextSeq(guard, payloads, fileOptions)
          : payloads.length === 1
            ? await entry.file.append(payloads[0]!, fileOptions)
            : await entry.file.appendBatch(payloads, fileOptions);
      let bytes = 0;
      for (const payload of payloads) bytes += payload.byteLength;
      entry.appendedEvents += payloads.length;
      entry.appendedBytes += bytes;
      entry.metrics.appended(payloads.length, bytes);
      entry.metrics.tailSeq(entry.file.nextSeq);
      if (payloads.length > 0) this.#notify();
      return { firstSeq, count: payloads.length };
    } finally {
      this.#inflight--;
      if (this.#inflight === 0) for (const wake of this.#idle.splice(0)) wake();
    }
  }

  async read(channel: string, request: ReadRequest): Promise<ReadResult> {
    const { file } = this.#entry(channel);
    const { fromSeq, maxEvents, maxBytes } = request;
    // A replicated channel shows its committed events; everything else shows the whole log.
    const nextSeq = file.committedSeq;
    const end = Math.min(request.toSeq ?? nextSeq, nextSeq, fromSeq + maxEvents);
    const events = end > fromSeq ? await file.readRangeLimited(fromSeq, end, maxBytes, 0) : [];
    const last = events.at(-1);
    return {
      events,
      nextFromSeq: last === undefined ? Math.max(fromSeq, end) : last.seq + 1,
      firstSeq: file.firstSeq,
      nextSeq,
    };
  }

  async tail(channel: string, fromSeq: number): Promise<EventStream> {
    this.#checkAccepting();
    return this.#entry(channel).file.tail({ fromSeq });
  }

  async status(): Promise<NodeStatus> {
    const atMs = this.#clock.nowMs();
    return {
      node: {
        ...this.info,
        startedAtMs: this.#startedAtMs,
        uptimeMs: atMs - this.#startedAtMs,
        accepting: this.#accepting,
      },
      atMs,
      peers: [],
      channels: [...this.#channels.values()]
        .sort((a, b) => (a.spec.name < b.spec.name ? -1 : 1))
        .map((entry) => this.#channelStatus(entry)),
    };
  }

  metrics(): Promise<string> {
    return this.#metrics.expose();
  }

  /** A single node: ready while its log is open (no mesh; its channels are all standalone). */
  readiness(): NodeReadiness {
    const storageOpen = this.storageOpen;
    return {
      ready: storageOpen,
      failing: storageOpen ? [] : ['storage'],
      storageOpen,
      mesh: null,
      replicatedChannels: 0,
      channelsWithoutLeader: [],
      channelsWithoutLeaderCount: 0,
    };
  }

  /** The Redex is open and the node takes writes. */
  get storageOpen(): boolean {
    return this.#accepting && !this.#redex.closed;
  }

  resolveLeader(error: NotLeaderError): LeaderHint {
    return leaderHint(error, this.#members);
  }

  watch(listener: () => void): () => void {
    this.#watchers.add(listener);
    return () => {
      this.#watchers.delete(listener);
    };
  }

  shutdown(): Promise<void> {
    this.#shutdown ??= this.#runShutdown();
    return this.#shutdown;
  }

  async #runShutdown(): Promise<void> {
    this.#accepting = false;
    this.#sweepTimer?.cancel();
    this.#sweepTimer = null;
    this.#notify();
    await this.#sweeping;
    // Writes already accepted finish (and are acknowledged) before the files close.
    if (this.#inflight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    for (const pending of this.#opening.values()) await pending.catch(() => {});
    for (const pending of this.#deleting.values()) await pending.catch(() => {});
    for (const entry of this.#channels.values()) {
      if (entry.file.closed) continue;
      try {
        await entry.file.sync();
      } catch (error) {
        this.#logger.error({ channel: entry.spec.name, err: error }, 'sync at shutdown failed');
      }
    }
    // close() flushes and fsyncs persistent files once more and ends every tail.
    await this.#redex.close();
    this.#logger.info({ channels: this.#channels.size }, 'channels closed');
  }

  #entry(name: string): ChannelEntry {
    const entry = this.#channels.get(name);
    if (entry === undefined) {
      throw new NodeError(
        NodeErrorCode.ChannelNotFound,
        `channel ${JSON.stringify(name)} is not open on this node`,
      );
    }
    return entry;
  }

  #checkAccepting(): void {
    if (!this.#accepting) {
      throw new NodeError(NodeErrorCode.ShuttingDown, 'this node is shutting down');
    }
  }

  #channelStatus(entry: ChannelEntry): ChannelStatus {
    const { file, spec } = entry;
    const self = { name: this.info.name, nodeId: this.info.nodeId };
    return {
      name: spec.name,
      persistent: file.persistent,
      file: spec.file,
      replication: spec.replication,
      role: 'standalone',
      leader: self,
      firstSeq: file.firstSeq,
      nextSeq: file.nextSeq,
      retainedEvents: file.len,
      retainedBytes: file.retainedBytes,
      appendedEvents: entry.appendedEvents,
      appendedBytes: entry.appendedBytes,
      tails: file.tailCount,
      replicas: [{ ...self, self: true, role: 'standalone', tailSeq: file.nextSeq, lagEvents: 0 }],
    };
  }

  /** Tells watchers once per turn, never inside the caller's own call. */
  #notify(): void {
    if (this.#notifyScheduled || this.#watchers.size === 0) return;
    this.#notifyScheduled = true;
    queueMicrotask(() => {
      this.#notifyScheduled = false;
      for (const watcher of [...this.#watchers]) {
        try {
          watcher();
        } catch (error) {
          this.#logger.error({ err: error }, 'status watcher threw');
        }
      }
    });
  }

  #armSweep(): void {
    if (this.#sweepMs === null || !this.#accepting) return;
    this.#sweepTimer = this.#clock.setTimer(this.#sweepMs, () => {
      this.#sweeping = this.#redex
        .sweepRetention()
        .then(
          (evicted) => {
            if (evicted > 0) {
              this.#logger.info({ evicted }, 'retention sweep');
              this.#notify();
            }
          },
          (error: unknown) => this.#logger.error({ err: error }, 'retention sweep failed'),
        )
        .finally(() => {
          this.#sweeping = null;
          this.#armSweep();
        });
    });
  }
}

/** Same log config (after defaults) and the same replication settings. */
function sameSpec(a: ChannelSpec, b: ChannelSpec): boolean {
  try {
    if (!sameFileConfig(resolveFileConfig(a.file), resolveFileConfig(b.file))) return false;
  } catch (error) {
    if (error instanceof RedexError && error.code === RedexErrorCode.Config) return false;
    throw error;
  }
  return canonical(a.replication) === canonical(b.replication);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([x], [y]) => (x < y ? -1 : 1)))
      : inner,
  );
}
