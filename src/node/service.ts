// The contract between the HTTP API (and through it the CLI and the dashboard) and a node. The
// HTTP layer only parses requests, calls one of these methods and renders the answer or the
// error; everything about channels, roles and replicas happens behind this interface.
//
// Two implementations: `LocalNodeService` (one node over a `Redex`) and `ClusterNodeService`
// (cluster-service.ts: the same over a mesh node with replication). Everything here is plain JSON-ready data
// (NodeIds as 16 hex digits) so the HTTP layer can serialize it as is.
//
// Errors a caller may see, all typed: `RedexError`s from the log (CHANNEL_NAME, CONFIG, CLOSED,
// PAYLOAD_TOO_LARGE, IO, …), `NotLeaderError` from `append` on a replicated channel this node
// does not lead (the HTTP layer answers NOT_LEADER with `resolveLeader`'s HTTP address),
// `ReplicationTimeoutError` when `replicas` did not confirm in time, and `NodeError`s
// (CHANNEL_NOT_FOUND, CHANNEL_EXISTS, SHUTTING_DOWN, UNAVAILABLE).

import type { RedexFileConfig } from '../log/config.js';
import type { NotLeaderError } from '../log/errors.js';
import type { RedexEvent } from '../log/event.js';
import type { Acks } from '../log/redex-file.js';
import type { ChannelSpec, ReplicationSpec } from './channel-spec.js';

export type ChannelRole = 'leader' | 'replica' | 'candidate' | 'idle' | 'standalone';

export interface NodeInfo {
  readonly name: string;
  /** 16 hex digits, or null when this node has no certificate (a single node without TLS). */
  readonly nodeId: string | null;
  readonly version: string;
  readonly mode: 'single' | 'cluster';
  /** The HTTP origin this node advertises to clients (its member entry), or null. */
  readonly http: string | null;
  /** The mesh address peers dial, or null without a mesh. */
  readonly mesh: string | null;
}

export interface PeerStatus {
  readonly name: string | null;
  readonly nodeId: string | null;
  readonly mesh: string | null;
  readonly http: string | null;
  readonly connected: boolean;
  /** Smoothed mesh round trip, or null before the first measurement. */
  readonly rttMs: number | null;
}

/** One holder of a channel as this node sees it (itself included, `self: true`). */
export interface ReplicaStatus {
  readonly name: string | null;
  readonly nodeId: string | null;
  readonly self: boolean;
  readonly role: ChannelRole | null;
  /** The next seq the holder is known to hold up to (exclusive), or null if unknown. */
  readonly tailSeq: number | null;
  /** Events behind the leader's tail, or null if unknown. */
  readonly lagEvents: number | null;
  /** On the leader: the holder's log matches the leader's below this seq; null if unknown. */
  readonly matchedSeq?: number | null;
}

export interface ChannelStatus {
  readonly name: string;
  readonly persistent: boolean;
  /** The log config the channel was opened with (as given, defaults not filled in). */
  readonly file: RedexFileConfig;
  readonly replication: ReplicationSpec | null;
  readonly role: ChannelRole;
  /** The node taking writes (this node for a standalone channel), or null when none is known. */
  readonly leader: { readonly name: string | null; readonly nodeId: string | null } | null;
  /** Lowest retained seq, or null when nothing is retained. */
  readonly firstSeq: number | null;
  /** The seq the next append gets (the tail). */
  readonly nextSeq: number;
  readonly retainedEvents: number;
  readonly retainedBytes: number;
  /** Events and payload bytes appended through this node since it started. */
  readonly appendedEvents: number;
  readonly appendedBytes: number;
  /** Open tails (SSE subscribers and others). */
  readonly tails: number;
  readonly replicas: readonly ReplicaStatus[];
  /** Replicated channels: the highest leader epoch this node has seen. */
  readonly epoch?: number;
  /** Replicated channels: every event below this seq is committed (held by a majority). */
  readonly commitSeq?: number;
}

export interface NodeStatus {
  readonly node: NodeInfo & {
    readonly startedAtMs: number;
    readonly uptimeMs: number;
    /** False once shutdown began: writes are refused from then on. */
    readonly accepting: boolean;
  };
  /** When this snapshot was taken, ms since the epoch. */
  readonly atMs: number;
  readonly peers: readonly PeerStatus[];
  readonly channels: readonly ChannelStatus[];
}

/** Replicated channels `/readyz` names at most (the count covers all of them). */
export const READINESS_CHANNELS_LISTED_MAX = 100;

/** A check `/readyz` runs; see `NodeReadiness`. */
export type ReadinessCheck = 'storage' | 'mesh' | 'leaders';

/** Whether the node can serve its channels now (`GET /readyz`). */
export interface NodeReadiness {
  readonly ready: boolean;
  /** The checks that failed, in this order: storage, mesh, leaders. Empty when ready. */
  readonly failing: readonly ReadinessCheck[];
  /** The log is open and the node is not shutting down. */
  readonly storageOpen: boolean;
  /**
   * Cluster: the other members and how many have an open mesh connection (up: the transport is
   * open and at least one is connected). Null on a single node.
   */
  readonly mesh: {
    readonly up: boolean;
    readonly connectedPeers: number;
    readonly peers: number;
  } | null;
  /** Replicated channels open on this node. */
  readonly replicatedChannels: number;
  /** Replicated channels with no known leader, sorted, at most READINESS_CHANNELS_LISTED_MAX. */
  readonly channelsWithoutLeader: readonly string[];
  /** How many replicated channels have no known leader (all of them, listed or not). */
  readonly channelsWithoutLeaderCount: number;
}

export interface AppendOptions {
  /**
   * What a replicated append waits for (cluster): `'quorum'` (the default: committed),
   * `'leader'` (stored here), `'all'`, or a number of replicas. Ignored for a standalone channel.
   */
  readonly acks?: Acks;
  /** How long to wait for the acknowledgement, ms. */
  readonly timeoutMs?: number;
  /**
   * Guarded append: store the events only if the channel's next seq is this one; otherwise
   * SEQ_MISMATCH (with the actual next seq) and nothing is stored.
   */
  readonly ifNextSeq?: number;
}

export interface AppendResult {
  /** Seq of the first event, or null for an empty batch. */
  readonly firstSeq: number | null;
  readonly count: number;
}

export interface ReadRequest {
  readonly fromSeq: number;
  /** Exclusive end; null reads up to the tail. */
  readonly toSeq: number | null;
  readonly maxEvents: number;
  /** Payload bytes per answer; at least one event is returned when one exists. */
  readonly maxBytes: number;
}

export interface ReadResult {
  readonly events: readonly RedexEvent[];
  /** Where the next page starts: after the last event, or past an evicted or empty range. */
  readonly nextFromSeq: number;
  readonly firstSeq: number | null;
  readonly nextSeq: number;
}

/** A live tail: backfill then live events; throws LAGGED; `return()` ends it and frees it. */
export interface EventStream extends AsyncIterator<RedexEvent, undefined> {
  return(): Promise<IteratorResult<RedexEvent, undefined>>;
}

/** Who to send a write to, resolved from a NOT_LEADER error. */
export interface LeaderHint {
  readonly name: string | null;
  readonly nodeId: string | null;
  /** The leader's HTTP origin, or null when it is not known. */
  readonly http: string | null;
}

/**
 * Where a create comes from, which decides whether the channel is remembered in channels.json
 * and sent on to the other members of its replica set: `api` (a client: both), `peer` (another
 * node forwarding a client's create: remembered, not sent on, so creates never loop), `config`
 * (the config file: neither; every node lists its own), `registry` (channels.json at start: not
 * written again; a cluster node offers it to peers that come up, in case one missed it).
 */
export type ChannelOrigin = 'api' | 'peer' | 'config' | 'registry';

export interface CreateChannelOptions {
  /** Default `api`. */
  readonly origin?: ChannelOrigin;
}

/** One other member's answer to a create forwarded to it (cluster-wide creates). */
export interface ForwardOutcome {
  readonly name: string;
  /** Whether that member opened it now (false: it already had it); absent on an error. */
  readonly created?: boolean;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface CreateChannelResult {
  readonly created: boolean;
  readonly channel: ChannelStatus;
  /** Cluster, client creates of a replicated channel: the other replica-set members' answers. */
  readonly members?: readonly ForwardOutcome[];
}

export interface DeleteChannelOptions {
  /** `api` (default): a client asked, so a cluster node tells the replica set; `peer`: forwarded. */
  readonly origin?: 'api' | 'peer';
}

export interface DeleteChannelResult {
  /** Cluster, client deletes of a replicated channel: the other replica-set members' answers. */
  readonly members?: readonly DeleteOutcome[];
}

/** One other member's answer to a delete forwarded to it. */
export interface DeleteOutcome {
  readonly name: string;
  /** Whether that member deleted it now (false: it did not have it); absent on an error. */
  readonly deleted?: boolean;
  readonly error?: { readonly code: string; readonly message: string };
}

/** What `POST /channels` bodies are checked against. */
export interface ChannelSpecDefaults {
  readonly defaultPersistent: boolean;
  readonly members: ReadonlySet<string>;
}

/** Who leads a channel after a leadership transfer. */
export interface LeadershipResult {
  readonly channel: string;
  readonly epoch: number;
  readonly leader: { readonly name: string | null; readonly nodeId: string };
}

export interface NodeService {
  readonly info: NodeInfo;
  readonly specDefaults: ChannelSpecDefaults;
  /** False once `shutdown` began. */
  readonly accepting: boolean;
  /**
   * Opens the channel (cluster: on every node of its replica set). `created` is false when it was
   * already open with the same spec; a different spec is CHANNEL_EXISTS.
   */
  createChannel(spec: ChannelSpec, options?: CreateChannelOptions): Promise<CreateChannelResult>;
  /**
   * Closes the channel, forgets it (channels.json) and deletes its files (cluster: on every node
   * of its replica set). CHANNEL_NOT_FOUND when it is not open; CHANNEL_IN_CONFIG for a channel
   * of the config file (it would come back at the next start).
   */
  deleteChannel(name: string, options?: DeleteChannelOptions): Promise<DeleteChannelResult>;
  channel(name: string): Promise<ChannelStatus>;
  /** One event is `[payload]`; a batch is all or nothing with consecutive seqs. */
  append(
    channel: string,
    payloads: readonly Uint8Array[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
  read(channel: string, request: ReadRequest): Promise<ReadResult>;
  tail(channel: string, fromSeq: number): Promise<EventStream>;
  status(): Promise<NodeStatus>;
  /** Readiness for `GET /readyz`: cheap and synchronous (probes call it often). */
  readiness(): NodeReadiness;
  /** Prometheus text exposition of the node's metrics. */
  metrics(): Promise<string>;
  /**
   * Hands a replicated channel's leadership from this node (its leader) to member `to` (a name
   * or hex NodeId; null: the member furthest along). NOT_LEADER on a node that does not lead.
   */
  transferLeadership(channel: string, to: string | null): Promise<LeadershipResult>;
  /** Where to redirect a write that failed with NOT_LEADER; null fields when unknown. */
  resolveLeader(error: NotLeaderError): LeaderHint;
  /** Calls `listener` after changes worth a status push (appends, channels, roles, peers). */
  watch(listener: () => void): () => void;
  /** Stops taking writes, waits for the ones in flight, flushes, fsyncs, closes. Idempotent. */
  shutdown(): Promise<void>;
}
