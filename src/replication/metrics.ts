// Per-node replication metrics on a private prom-client `Registry` (never the global one, so two
// nodes in one process — tests, the simulation — do not share series).
// Names: docs/OPERATIONS.md#metrics.
//
// Owns: every series with a `channel` label and the folding that bounds them. The first
// `METRIC_CHANNELS_MAX` channels get their own label; later ones share `__overflow__`, so a node
// with many channels cannot blow up the scrape. Lag gauges stay absent until the first
// observation ("never observed"), and a lag too large to represent reports `LAG_SECONDS_MAX`
// ("saturated"), so the two never look alike. `peer` and `replica` labels are member names when
// the node passes a `nodeName` resolver (a configured node does), else NodeIds in hex.
// Called by: the coordinator (transition counters), the runtime (lag, bytes, skip-ahead,
// under-capacity, replica tails), the log layer (appends), the mesh (peers, RTT).

import { Counter, Gauge, Registry } from 'prom-client';
import type { NodeId } from '../wire/types.js';

/** Channels with their own label; the rest fold into `OVERFLOW_LABEL`. */
export const METRIC_CHANNELS_MAX = 1024;
export const OVERFLOW_LABEL = '__overflow__';
/** Replica labels per channel (replica sets are at most 16; headroom for placement churn). */
export const REPLICA_LABELS_PER_CHANNEL_MAX = 64;
/** Peer labels on the RTT gauge. */
export const PEER_LABELS_MAX = 1024;
/**
 * Saturation value of every lag gauge: 365 days. A lag at or above it (including an infinite
 * one) reports exactly this, which no real observation below it can be confused with.
 */
export const LAG_SECONDS_MAX = 31_536_000;

export type LagRole = 'leader' | 'replica';

/** What the coordinator needs; `ChannelMetrics` implements it. */
export interface CoordinatorMetrics {
  leaderChange(): void;
  electionThrash(): void;
  announceDivergence(): void;
}

export interface ChannelMetricsSnapshot {
  readonly label: string;
  readonly leaderChanges: number;
  readonly electionThrash: number;
  readonly announceDivergence: number;
  readonly underCapacity: number;
  readonly skipAhead: number;
  readonly syncBytes: number;
  readonly appends: number;
  readonly appendBytes: number;
  readonly tailSeq: number | null;
  /** Seconds; null = never observed. */
  readonly leaderLagSeconds: number | null;
  readonly replicaLagSeconds: number | null;
}

/** What the quorum logic has counted so far (cumulative, per channel). */
function sameQuorum(a: QuorumMetricsInput, b: QuorumMetricsInput): boolean {
  return (
    a.epoch === b.epoch &&
    a.commitSeq === b.commitSeq &&
    a.truncatedEvents === b.truncatedEvents &&
    a.staleEpochDrops === b.staleEpochDrops &&
    a.preVotes === b.preVotes &&
    a.electionsWon === b.electionsWon &&
    a.electionsLost === b.electionsLost &&
    a.transfersStarted === b.transfersStarted &&
    a.transfersAbandoned === b.transfersAbandoned &&
    a.transfersStood === b.transfersStood
  );
}

export interface QuorumMetricsInput {
  readonly epoch: number;
  readonly commitSeq: number;
  readonly truncatedEvents: number;
  readonly staleEpochDrops: number;
  readonly preVotes: number;
  readonly electionsWon: number;
  readonly electionsLost: number;
  readonly transfersStarted: number;
  readonly transfersAbandoned: number;
  readonly transfersStood: number;
}

interface Series {
  readonly leaderChanges: Counter<'channel'>;
  readonly electionThrash: Counter<'channel'>;
  readonly announceDivergence: Counter<'channel'>;
  readonly underCapacity: Counter<'channel'>;
  readonly skipAhead: Counter<'channel'>;
  readonly syncBytes: Counter<'channel'>;
  readonly appends: Counter<'channel'>;
  readonly appendBytes: Counter<'channel'>;
  readonly lag: Gauge<'channel' | 'role'>;
  readonly tailSeq: Gauge<'channel'>;
  readonly replicaConfirmedTail: Gauge<'channel' | 'replica'>;
  readonly replicaLagEvents: Gauge<'channel' | 'replica'>;
  readonly epoch: Gauge<'channel'>;
  readonly commitSeq: Gauge<'channel'>;
  readonly truncatedEvents: Counter<'channel'>;
  readonly staleEpochDrops: Counter<'channel'>;
  readonly elections: Counter<'channel' | 'result'>;
  readonly transfers: Counter<'channel' | 'result'>;
  readonly channelsFolded: Counter;
  readonly connectedPeers: Gauge;
  readonly peerRtt: Gauge<'peer'>;
}

/** Lag in milliseconds → gauge seconds; null means "not an observation" (NaN). */
export function lagSecondsFromMs(lagMs: number): number | null {
  if (Number.isNaN(lagMs)) return null;
  if (lagMs <= 0) return 0; // a clock stepping backwards is not negative lag
  const seconds = lagMs / 1000;
  return Math.min(seconds, LAG_SECONDS_MAX);
}

/** A member's name for a NodeId, or null when it has none (the label is then the NodeId). */
export type NodeNameResolver = (id: NodeId) => string | null;

function hexLabel(id: NodeId): string {
  return id.toString(16).padStart(16, '0');
}

export interface ReplicationMetricsOptions {
  /**
   * Names `peer` and `replica` label values. A node with a config passes its members' names;
   * without one (or for a NodeId it does not know) the label is the NodeId in 16 hex digits.
   */
  readonly nodeName?: NodeNameResolver;
}

function nonNegative(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** One channel's handle. Cheap to call on hot paths: no label lookups beyond the first. */
export class ChannelMetrics implements CoordinatorMetrics {
  readonly label: string;
  readonly #series: Series;
  // Plain mirrors of the counters so status pages and tests can read values synchronously.
  #leaderChanges = 0;
  #electionThrash = 0;
  #announceDivergence = 0;
  #underCapacity = 0;
  #skipAhead = 0;
  #syncBytes = 0;
  #appends = 0;
  #appendBytes = 0;
  #tailSeq: number | null = null;
  #lag: Record<LagRole, number | null> = { leader: null, replica: null };
  readonly #replicas = new Set<string>();
  readonly #nodeLabel: (id: NodeId) => string;
  #quorumObserved = false;
  #quorumSeen: QuorumMetricsInput = {
    epoch: 0,
    commitSeq: 0,
    truncatedEvents: 0,
    staleEpochDrops: 0,
    preVotes: 0,
    electionsWon: 0,
    electionsLost: 0,
    transfersStarted: 0,
    transfersAbandoned: 0,
    transfersStood: 0,
  };

  constructor(label: string, series: Series, nodeLabel: (id: NodeId) => string = hexLabel) {
    this.label = label;
    this.#series = series;
    this.#nodeLabel = nodeLabel;
  }

  leaderChange(): void {
    this.#leaderChanges++;
    this.#series.leaderChanges.inc({ channel: this.label });
  }

  electionThrash(): void {
    this.#electionThrash++;
    this.#series.electionThrash.inc({ channel: this.label });
  }

  announceDivergence(): void {
    this.#announceDivergence++;
    this.#series.announceDivergence.inc({ channel: this.label });
  }

  underCapacity(): void {
    this.#underCapacity++;
    this.#series.underCapacity.inc({ channel: this.label });
  }

  skipAhead(): void {
    this.#skipAhead++;
    this.#series.skipAhead.inc({ channel: this.label });
  }

  syncBytes(bytes: number): void {
    const n = nonNegative(bytes);
    if (n === 0) return;
    this.#syncBytes += n;
    this.#series.syncBytes.inc({ channel: this.label }, n);
  }

  appended(events: number, bytes: number): void {
    const e = nonNegative(events);
    const b = nonNegative(bytes);
    if (e > 0) {
      this.#appends += e;
      this.#series.appends.inc({ channel: this.label }, e);
    }
    if (b > 0) {
      this.#appendBytes += b;
      this.#series.appendBytes.inc({ channel: this.label }, b);
    }
  }

  tailSeq(seq: number): void {
    // Every tick reports it: an unchanged value skips the labelled gauge's lookup.
    if (!Number.isSafeInteger(seq) || seq < 0 || seq === this.#tailSeq) return;
    this.#tailSeq = seq;
    this.#series.tailSeq.set({ channel: this.label }, seq);
  }

  /** Records a lag observation; NaN is ignored, ≥ `LAG_SECONDS_MAX` s (or ∞) saturates. */
  recordLag(role: LagRole, lagMs: number): void {
    const seconds = lagSecondsFromMs(lagMs);
    if (seconds === null) return;
    this.#lag[role] = seconds;
    this.#series.lag.set({ channel: this.label, role }, seconds);
  }

  /** Back to "never observed" (for example after a role change makes the old lag meaningless). */
  clearLag(role: LagRole): void {
    this.#lag[role] = null;
    this.#series.lag.remove({ channel: this.label, role });
  }

  /** Leader side: a replica's confirmed tail and how many events it is behind `leaderTail`. */
  replicaConfirmedTail(replica: NodeId, confirmedTail: number, leaderTail: number): void {
    let label = this.#nodeLabel(replica);
    if (!this.#replicas.has(label)) {
      if (this.#replicas.size >= REPLICA_LABELS_PER_CHANNEL_MAX) label = OVERFLOW_LABEL;
      this.#replicas.add(label);
    }
    const labels = { channel: this.label, replica: label };
    this.#series.replicaConfirmedTail.set(labels, nonNegative(confirmedTail));
    this.#series.replicaLagEvents.set(labels, nonNegative(leaderTail - confirmedTail));
  }

  /** The quorum state now; counters move by what grew since the last call. */
  observeQuorum(state: QuorumMetricsInput): void {
    // Called after every step; on an idle channel nothing changed since the last one.
    if (this.#quorumObserved && sameQuorum(state, this.#quorumSeen)) return;
    this.#quorumObserved = true;
    const s = this.#series;
    const channel = { channel: this.label };
    s.epoch.set(channel, state.epoch);
    s.commitSeq.set(channel, state.commitSeq);
    const last = this.#quorumSeen;
    const grow = (now: number, before: number) => Math.max(0, now - before);
    const truncated = grow(state.truncatedEvents, last.truncatedEvents);
    if (truncated > 0) s.truncatedEvents.inc(channel, truncated);
    const stale = grow(state.staleEpochDrops, last.staleEpochDrops);
    if (stale > 0) s.staleEpochDrops.inc(channel, stale);
    for (const [result, now, before] of [
      ['pre-vote', state.preVotes, last.preVotes],
      ['won', state.electionsWon, last.electionsWon],
      ['lost', state.electionsLost, last.electionsLost],
    ] as const) {
      const n = grow(now, before);
      if (n > 0) s.elections.inc({ channel: this.label, result }, n);
    }
    for (const [result, now, before] of [
      ['started', state.transfersStarted, last.transfersStarted],
      ['abandoned', state.transfersAbandoned, last.transfersAbandoned],
      ['stood', state.transfersStood, last.transfersStood],
    ] as const) {
      const n = grow(now, before);
      if (n > 0) s.transfers.inc({ channel: this.label, result }, n);
    }
    this.#quorumSeen = { ...state };
  }

  removeReplica(replica: NodeId): void {
    const label = this.#nodeLabel(replica);
    if (!this.#replicas.delete(label)) return;
    this.#series.replicaConfirmedTail.remove({ channel: this.label, replica: label });
    this.#series.replicaLagEvents.remove({ channel: this.label, replica: label });
  }

  snapshot(): ChannelMetricsSnapshot {
    return {
      label: this.label,
      leaderChanges: this.#leaderChanges,
      electionThrash: this.#electionThrash,
      announceDivergence: this.#announceDivergence,
      underCapacity: this.#underCapacity,
      skipAhead: this.#skipAhead,
      syncBytes: this.#syncBytes,
      appends: this.#appends,
      appendBytes: this.#appendBytes,
      tailSeq: this.#tailSeq,
      leaderLagSeconds: this.#lag.leader,
      replicaLagSeconds: this.#lag.replica,
    };
  }

  /** Drops every series of this label (used when the channel closes). */
  removeAll(): void {
    const s = this.#series;
    const channel = { channel: this.label };
    for (const counter of [
      s.leaderChanges,
      s.electionThrash,
      s.announceDivergence,
      s.underCapacity,
      s.skipAhead,
      s.syncBytes,
      s.appends,
      s.appendBytes,
      s.truncatedEvents,
      s.staleEpochDrops,
    ]) {
      counter.remove(channel);
    }
    s.tailSeq.remove(channel);
    s.epoch.remove(channel);
    s.commitSeq.remove(channel);
    for (const result of ['pre-vote', 'won', 'lost']) {
      s.elections.remove({ channel: this.label, result });
    }
    for (const result of ['started', 'abandoned', 'stood']) {
      s.transfers.remove({ channel: this.label, result });
    }
    for (const role of ['leader', 'replica'] as const) s.lag.remove({ channel: this.label, role });
    for (const replica of this.#replicas) {
      s.replicaConfirmedTail.remove({ channel: this.label, replica });
      s.replicaLagEvents.remove({ channel: this.label, replica });
    }
    this.#replicas.clear();
  }
}

/** One per node. `registry` is private to this instance. */
export class ReplicationMetrics {
  readonly registry: Registry = new Registry();
  readonly #series: Series;
  readonly #channels = new Map<string, ChannelMetrics>();
  readonly #overflow: ChannelMetrics;
  readonly #peers = new Set<string>();
  // Set by the mesh node: refreshes the peer gauges at scrape time (see setPeerSource).
  #peerSource: (() => void) | null = null;
  readonly #nodeName: NodeNameResolver | null;

  constructor(options: ReplicationMetricsOptions = {}) {
    this.#nodeName = options.nodeName ?? null;
    const registers = [this.registry];
    const counter = (name: string, help: string) =>
      new Counter({ name, help, labelNames: ['channel'] as const, registers });
    this.#series = {
      leaderChanges: counter('redex_leader_changes_total', 'Transitions into Leader.'),
      electionThrash: counter(
        'redex_replication_election_thrash_total',
        'Replica → Candidate transitions caused by missed leader heartbeats.',
      ),
      announceDivergence: counter(
        'redex_replication_announce_divergence_total',
        'Withdraws of the chain tag that failed, leaving the mesh advertising a stale holder.',
      ),
      underCapacity: counter(
        'redex_replication_under_capacity_total',
        'Chunks the local log refused to append (disk or memory pressure).',
      ),
      skipAhead: counter(
        'redex_replication_skip_ahead_total',
        'Times a replica skipped its tail forward because the leader no longer had the range.',
      ),
      syncBytes: counter(
        'redex_replication_sync_bytes_total',
        'Bytes of SyncResponse sent by this node as leader.',
      ),
      appends: counter('redex_channel_appends_total', 'Events appended to the channel.'),
      appendBytes: counter(
        'redex_channel_append_bytes_total',
        'Payload bytes appended to the channel.',
      ),
      lag: new Gauge({
        name: 'redex_replication_lag_seconds',
        help: `Replication lag: on a leader the worst replica's heartbeat age, on a replica the leader's. Absent until observed; ${LAG_SECONDS_MAX} means saturated.`,
        labelNames: ['channel', 'role'] as const,
        registers,
      }),
      tailSeq: new Gauge({
        name: 'redex_channel_tail_seq',
        help: 'Next sequence number of the local log of the channel.',
        labelNames: ['channel'] as const,
        registers,
      }),
      replicaConfirmedTail: new Gauge({
        name: 'redex_replication_replica_confirmed_tail',
        help: 'Leader side: the tail each replica has confirmed holding.',
        labelNames: ['channel', 'replica'] as const,
        registers,
      }),
      epoch: new Gauge({
        name: 'redex_replication_epoch',
        help: 'The highest leader epoch this node has seen for the channel.',
        labelNames: ['channel'] as const,
        registers,
      }),
      commitSeq: new Gauge({
        name: 'redex_replication_commit_seq',
        help: 'Every event below this seq is committed (held by a majority with one history).',
        labelNames: ['channel'] as const,
        registers,
      }),
      truncatedEvents: counter(
        'redex_replication_truncated_events_total',
        'Events cut from this log because they diverged from the leader (never committed ones).',
      ),
      staleEpochDrops: counter(
        'redex_replication_stale_epoch_drops_total',
        'Frames from an older epoch (or without epoch fields where they are needed), dropped.',
      ),
      elections: new Counter({
        name: 'redex_replication_elections_total',
        help: 'Elections by outcome: pre-vote (started), won, lost.',
        labelNames: ['channel', 'result'] as const,
        registers,
      }),
      transfers: new Counter({
        name: 'redex_replication_transfers_total',
        help: 'Leadership transfers: started (as leader), abandoned (the target did not take over), stood (as target).',
        labelNames: ['channel', 'result'] as const,
        registers,
      }),
      replicaLagEvents: new Gauge({
        name: 'redex_replication_replica_lag_events',
        help: "Leader side: events each replica is behind the leader's tail.",
        labelNames: ['channel', 'replica'] as const,
        registers,
      }),
      channelsFolded: new Counter({
        name: 'redex_metrics_channels_folded_total',
        help: `Channel handles that shared the ${OVERFLOW_LABEL} label because ${METRIC_CHANNELS_MAX} channels already had their own.`,
        registers,
      }),
      connectedPeers: new Gauge({
        name: 'redex_mesh_connected_peers',
        help: 'Peers with an open mesh connection.',
        registers,
        // Registered before the RTT gauge, so one refresh here updates both before either is read.
        collect: () => this.#peerSource?.(),
      }),
      peerRtt: new Gauge({
        name: 'redex_mesh_peer_rtt_seconds',
        help: 'Last measured round-trip time per peer.',
        labelNames: ['peer'] as const,
        registers,
      }),
    };
    this.#overflow = new ChannelMetrics(OVERFLOW_LABEL, this.#series, (id) => this.nodeLabel(id));
  }

  /** The `peer` / `replica` label of a node: its member name when known, else its NodeId in hex. */
  nodeLabel(id: NodeId): string {
    const name = this.#nodeName?.(id) ?? null;
    return name === null || name === '' || name === OVERFLOW_LABEL ? hexLabel(id) : name;
  }

  /** The handle for `channel`; past `METRIC_CHANNELS_MAX` channels, the shared overflow one. */
  forChannel(channel: string): ChannelMetrics {
    const existing = this.#channels.get(channel);
    if (existing !== undefined) return existing;
    // A channel literally named like the overflow label shares it rather than aliasing it.
    if (channel === OVERFLOW_LABEL || this.#channels.size >= METRIC_CHANNELS_MAX) {
      this.#series.channelsFolded.inc();
      return this.#overflow;
    }
    const handle = new ChannelMetrics(channel, this.#series, (id) => this.nodeLabel(id));
    this.#channels.set(channel, handle);
    return handle;
  }

  /** Frees the channel's label slot and drops its series; a no-op for folded channels. */
  releaseChannel(channel: string): void {
    const handle = this.#channels.get(channel);
    if (handle === undefined) return;
    handle.removeAll();
    this.#channels.delete(channel);
  }

  /** Channels that currently have their own label. */
  get labelledChannels(): number {
    return this.#channels.size;
  }

  setConnectedPeers(count: number): void {
    this.#series.connectedPeers.set(nonNegative(count));
  }

  setPeerRtt(peer: NodeId, rttMs: number): void {
    let label = this.nodeLabel(peer);
    if (!this.#peers.has(label)) {
      if (this.#peers.size >= PEER_LABELS_MAX) label = OVERFLOW_LABEL;
      this.#peers.add(label);
    }
    this.#series.peerRtt.set({ peer: label }, nonNegative(rttMs) / 1000);
  }

  /**
   * What the mesh node calls at scrape time to push connected peers and RTT into the gauges
   * above, so a scrape is current without a timer. Null detaches it.
   */
  setPeerSource(refresh: (() => void) | null): void {
    this.#peerSource = refresh;
  }

  removePeer(peer: NodeId): void {
    const label = this.nodeLabel(peer);
    if (this.#peers.delete(label)) this.#series.peerRtt.remove({ peer: label });
  }

  /** Prometheus text exposition of this node's registry. */
  expose(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  assertInvariants(): void {
    if (this.#channels.size > METRIC_CHANNELS_MAX) {
      throw new Error(`metrics: ${this.#channels.size} labelled channels > ${METRIC_CHANNELS_MAX}`);
    }
    if (this.#channels.has(OVERFLOW_LABEL)) throw new Error('metrics: overflow label aliased');
    if (this.#peers.size > PEER_LABELS_MAX + 1) throw new Error('metrics: too many peer labels');
  }
}
