// Heartbeat tracker (REDEX.md §6): what this node last heard from each peer of one channel, and
// which peer it believes leads. Pure: the caller passes `nowMs` (milliseconds) everywhere.
//
// Owns: per-peer (last seen, claimed role, claimed tail) and the believed leader.
// Called by: the runtime on every inbound heartbeat; `tick`, the election and the lag gauges read
// it. The believed-leader rule matches the dual-leader rule of `tick.ts` (higher tail, then lower
// NodeId) so a node never believes in a leader that would itself concede (upstream R-21).

import type { NodeId, Role } from '../wire/types.js';

export const DEFAULT_MISS_THRESHOLD = 3;
/**
 * Peers tracked per channel. Replica sets hold at most 16 nodes and the runtime drops senders
 * outside the set, so this only bites on placement churn; the stalest non-leader entry goes.
 */
export const TRACKED_PEERS_MAX = 256;

export interface PeerState {
  readonly lastSeenMs: number;
  readonly role: Role;
  readonly tailSeq: number;
  /** Epoch of the peer's last event, as its heartbeat claimed (0 from a peer without epochs). */
  readonly lastEpoch: number;
}

/** The read-only surface `tick` and the election need. */
export interface HeartbeatView {
  readonly heartbeatMs: number;
  readonly missThreshold: number;
  readonly believedLeader: NodeId | null;
  peer(id: NodeId): PeerState | undefined;
  peerLag(id: NodeId, nowMs: number): number | null;
  isLeaderSilent(nowMs: number): boolean;
  healthyPeers(nowMs: number): NodeId[];
}

function compareNodeIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class HeartbeatTracker implements HeartbeatView {
  readonly selfId: NodeId;
  readonly heartbeatMs: number;
  /** ≥ 1: a threshold of 0 would make even a fresh heartbeat "missed". */
  readonly missThreshold: number;
  // Invariants: never holds selfId; size ≤ TRACKED_PEERS_MAX.
  readonly #peers = new Map<NodeId, PeerState>();
  // Invariant: null or ≠ selfId. It may point at a dropped-then-evicted peer only transiently:
  // a belief whose entry is gone counts as silent.
  #believedLeader: NodeId | null = null;

  constructor(selfId: NodeId, heartbeatMs: number, missThreshold = DEFAULT_MISS_THRESHOLD) {
    if (!Number.isFinite(heartbeatMs) || heartbeatMs <= 0) {
      throw new RangeError(`HeartbeatTracker: heartbeatMs must be > 0, got ${heartbeatMs}`);
    }
    this.selfId = selfId;
    this.heartbeatMs = heartbeatMs;
    this.missThreshold = Math.max(1, Math.floor(missThreshold) || 0);
  }

  /** Silence window: a peer not heard from for this long is missed. */
  get silenceMs(): number {
    return this.heartbeatMs * this.missThreshold;
  }

  get believedLeader(): NodeId | null {
    return this.#believedLeader;
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  /**
   * Records a heartbeat. Returns false (and records nothing) for one from this node itself or
   * from NodeId 0. Only a Leader heartbeat can change the believed leader: it is adopted when
   * there is none, and replaces the current one when its tail is higher, or equal with a lower
   * NodeId.
   */
  recordHeartbeat(
    from: NodeId,
    role: Role,
    tailSeq: number,
    nowMs: number,
    lastEpoch = 0,
  ): boolean {
    if (from === this.selfId || from <= 0n) return false;
    if (!this.#peers.has(from) && this.#peers.size >= TRACKED_PEERS_MAX) this.#evictStalest();
    this.#peers.set(from, { lastSeenMs: nowMs, role, tailSeq, lastEpoch });
    return true;
  }

  /**
   * Sets who this node follows. Only the quorum logic decides it (a current-epoch Leader
   * heartbeat or response): a claimed role or tail never makes a leader here.
   */
  believe(leader: NodeId | null): void {
    this.#believedLeader = leader === this.selfId ? null : leader;
  }

  /**
   * True when a leader is believed and has been silent for `heartbeatMs * missThreshold` or
   * more (or its entry is gone). False with no believed leader: `tick` handles the "never saw a
   * leader" case with the time the replica started.
   */
  isLeaderSilent(nowMs: number): boolean {
    if (this.#believedLeader === null) return false;
    const leader = this.#peers.get(this.#believedLeader);
    if (leader === undefined) return true;
    return nowMs - leader.lastSeenMs >= this.silenceMs;
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

  /** Forgets the believed leader but keeps every peer entry; returns who it was. */
  clearBelievedLeader(): NodeId | null {
    const previous = this.#believedLeader;
    this.#believedLeader = null;
    return previous;
  }

  /** Forgets a peer; clears the belief too if it was the believed leader. */
  dropPeer(id: NodeId): void {
    this.#peers.delete(id);
    if (this.#believedLeader === id) this.#believedLeader = null;
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
    if (!(this.missThreshold >= 1)) throw new Error('tracker: miss threshold below 1');
    for (const [id, state] of this.#peers) {
      if (id <= 0n) throw new Error('tracker: NodeId 0 recorded');
      if (!Number.isFinite(state.lastSeenMs)) throw new Error(`tracker: bad lastSeen for ${id}`);
    }
  }
}
