// Heartbeat tracker (docs/DESIGN.md#heartbeats-and-the-tracker): what this node last heard from
// each peer of one channel, and which peer it believes leads. Pure: the caller passes `nowMs`
// (milliseconds) everywhere.
//
// Owns: per-peer liveness and claims (last seen, claimed role, tail and epoch) and the believed
// leader. Called by: the runtime on every inbound heartbeat; `tick`, the quorum logic and the lag
// gauges read it. Recording a heartbeat never changes the believed leader: only `believe()` does,
// called by the quorum logic when it accepts a current-epoch leader
// (docs/DESIGN.md#election-epochs-and-commit).

import type { NodeId, Role } from '../wire/types.js';
import { type ReplicationConfig, silenceMsOf } from './config.js';

/**
 * Peers tracked per channel. Replica sets hold at most 16 nodes and the runtime drops senders
 * outside the set, so this only bites on placement churn; the stalest non-leader entry goes.
 */
export const TRACKED_PEERS_MAX = 256;

export interface PeerState {
  /**
   * When the peer was last heard from for this channel: its latest heartbeat, or a later node
   * beat that stands for it (beat-liveness.ts).
   */
  readonly lastSeenMs: number;
  /** When its latest heartbeat itself arrived. */
  readonly heardAtMs: number;
  /** The connection generation that heartbeat arrived on (node-beats.ts; 0 without node beats). */
  readonly generation: number;
  /** The epoch that heartbeat carried (0 without one). */
  readonly epoch: number;
  readonly role: Role;
  readonly tailSeq: number;
  /** Epoch of the peer's last event, as its heartbeat claimed (0 from a peer without epochs). */
  readonly lastEpoch: number;
}

/** The read-only surface `tick` and the election need. */
export interface HeartbeatView {
  readonly heartbeatMs: number;
  /** A peer not heard from for this long is silent (`silenceMsOf` of the channel's config). */
  readonly silenceMs: number;
  readonly believedLeader: NodeId | null;
  peer(id: NodeId): PeerState | undefined;
  peerLag(id: NodeId, nowMs: number): number | null;
  healthyPeers(nowMs: number): NodeId[];
}

const NO_CONNECTION = { generation: 0, epoch: 0 } as const;
type Mutable = { -readonly [K in keyof PeerState]: PeerState[K] };

function compareNodeIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class HeartbeatTracker implements HeartbeatView {
  readonly selfId: NodeId;
  readonly heartbeatMs: number;
  readonly silenceMs: number;
  // Invariants: never holds selfId; size ≤ TRACKED_PEERS_MAX.
  readonly #peers = new Map<NodeId, PeerState>();
  // Invariant: null or ≠ selfId. It may name a peer with no entry yet (believed on a response
  // before any heartbeat from it); eviction spares it.
  #believedLeader: NodeId | null = null;

  /** `config` is the channel's resolved config: `resolveReplicationConfig` validated it. */
  constructor(selfId: NodeId, config: Pick<ReplicationConfig, 'heartbeatMs'>) {
    this.selfId = selfId;
    this.heartbeatMs = config.heartbeatMs;
    this.silenceMs = silenceMsOf(config);
  }

  get believedLeader(): NodeId | null {
    return this.#believedLeader;
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  /**
   * Records a heartbeat's liveness and claims. Returns false (and records nothing) for one from
   * this node itself or from NodeId 0. Never changes the believed leader.
   */
  recordHeartbeat(
    from: NodeId,
    role: Role,
    tailSeq: number,
    nowMs: number,
    lastEpoch = 0,
    heard: { readonly generation: number; readonly epoch: number } = NO_CONNECTION,
  ): boolean {
    if (from === this.selfId || from <= 0n) return false;
    if (!this.#peers.has(from) && this.#peers.size >= TRACKED_PEERS_MAX) this.#evictStalest();
    this.#peers.set(from, {
      lastSeenMs: nowMs,
      heardAtMs: nowMs,
      generation: heard.generation,
      epoch: heard.epoch,
      role,
      tailSeq,
      lastEpoch,
    });
    return true;
  }

  /**
   * The peer's latest heartbeat counts as heard again at `atMs` (a node beat stood for an
   * identical one); never moves the time back.
   */
  heardAgain(from: NodeId, atMs: number): void {
    const state = this.#peers.get(from);
    // In place: it runs for every peer of every channel each period, and entries are private.
    if (state !== undefined && atMs > state.lastSeenMs) (state as Mutable).lastSeenMs = atMs;
  }

  /**
   * Sets who this node follows. Only the quorum logic decides it (a current-epoch Leader
   * heartbeat or response): a claimed role or tail never makes a leader here.
   */
  believe(leader: NodeId | null): void {
    this.#believedLeader = leader === this.selfId ? null : leader;
  }

  /** Peers heard from strictly within the silence window, ascending NodeId. */
  healthyPeers(nowMs: number): NodeId[] {
    const healthy: NodeId[] = [];
    for (const [id, state] of this.#peers) {
      if (nowMs - state.lastSeenMs < this.silenceMs) healthy.push(id);
    }
    return healthy.sort(compareNodeIds);
  }

  peer(id: NodeId): PeerState | undefined {
    return this.#peers.get(id);
  }

  /** Milliseconds since the peer's last heartbeat (never negative), or null if unknown. */
  peerLag(id: NodeId, nowMs: number): number | null {
    const state = this.#peers.get(id);
    return state === undefined ? null : Math.max(0, nowMs - state.lastSeenMs);
  }

  /** Every tracked peer and its claimed tail, ascending NodeId. */
  peerTails(): Array<readonly [NodeId, number]> {
    return [...this.#peers]
      .map(([id, state]) => [id, state.tailSeq] as const)
      .sort((a, b) => compareNodeIds(a[0], b[0]));
  }

  #evictStalest(): void {
    let victim: NodeId | null = null;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [id, state] of this.#peers) {
      if (id !== this.#believedLeader && state.lastSeenMs < oldest) {
        oldest = state.lastSeenMs;
        victim = id;
      }
    }
    if (victim !== null) this.#peers.delete(victim);
  }

  assertInvariants(): void {
    if (this.#peers.has(this.selfId)) throw new Error('tracker: self is recorded as a peer');
    if (this.#peers.size > TRACKED_PEERS_MAX) throw new Error('tracker: too many peers');
    if (this.#believedLeader === this.selfId) throw new Error('tracker: believes self leads');
    if (!(this.heartbeatMs > 0 && this.silenceMs >= this.heartbeatMs))
      throw new Error('tracker: heartbeat period or silence window not positive');
    for (const [id, state] of this.#peers) {
      if (id <= 0n) throw new Error('tracker: NodeId 0 recorded');
      if (!Number.isFinite(state.lastSeenMs)) throw new Error(`tracker: bad lastSeen for ${id}`);
    }
  }
}
