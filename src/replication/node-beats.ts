// Node-level liveness (docs/DESIGN.md#node-beats). Every period a node sends each connected peer
// one NodeBeat frame (wire/node-beat.ts) after that period's heartbeats, and its channels leave
// out a heartbeat that is identical to the last one they sent that peer on the current
// connection. The receiver keeps here, per peer, when its latest node beat arrived and on which
// connection; a channel then counts a suppressed heartbeat as heard at that beat (beat-liveness.ts).
//
// A connection is named by a generation number that changes whenever the peer goes down or up, so
// a heartbeat heard on an earlier connection is never extended by a later connection's beats.
// A peer that never sent a node beat on its current connection is not known to understand them:
// every heartbeat still goes to it.

import type { Clock } from '../time/clock.js';
import { decodeNodeBeat, isNodeBeat } from '../wire/node-beat.js';
import type { NodeId } from '../wire/types.js';

/** Peers whose beats are tracked at once; a peer beyond it is treated as never beating. */
export const NODE_BEAT_PEERS_MAX = 1024;
/**
 * A channel sends an unchanged heartbeat again at least every this many periods, so that what
 * a receiver cannot see (a dropped frame, a channel closed on the sender) is stale for a
 * bounded time only.
 */
export const BEAT_REFRESH_PERIODS = 20;
/**
 * Receiver: a heartbeat stays covered by node beats for this many periods after it arrived (the
 * refresh, plus two periods of slack for a late tick or frame).
 */
export const BEAT_COVER_PERIODS = BEAT_REFRESH_PERIODS + 2;
/**
 * A peer whose latest node beat is older than this many periods has lapsed: channels stop
 * sleeping through their ticks (tick-scheduler.ts) so that its silence is judged every period.
 * Below the silence window (3 periods) with a period to spare, so a sleeping channel wakes
 * before its quorum check could first see the silence.
 */
export const BEAT_LAPSE_PERIODS = 1.5;

/** Whether a node beat last heard at `beatAtMs` has lapsed by `nowMs` (see BEAT_LAPSE_PERIODS). */
export function beatLapsed(beatAtMs: number, nowMs: number, periodMs: number): boolean {
  return nowMs - beatAtMs > BEAT_LAPSE_PERIODS * periodMs;
}

/** What a channel reads of its node's beats. */
export interface NodeBeatsView {
  /** The connection generation of `peer` now (0 before any up, down or beat of it was seen). */
  generation(peer: NodeId): number;
  /** When the latest node beat from `peer` on its current connection arrived, or null. */
  beatAtMs(peer: NodeId): number | null;
  /**
   * True while the connection to `peer` is known to be down (its latest connection event was a
   * down): nothing sent to it now can arrive, so a channel's quiet tick does not wait on it.
   */
  isDown(peer: NodeId): boolean;
}

export interface NodeBeatStats {
  /** Well-formed node beats received. */
  beatsIn: number;
  /** Node-beat frames that did not decode (dropped). */
  malformed: number;
}

interface PeerBeat {
  generation: number;
  beatAtMs: number | null;
  down: boolean;
}

export class NodeBeats implements NodeBeatsView {
  readonly #clock: Clock;
  // Invariant: size ≤ NODE_BEAT_PEERS_MAX.
  readonly #peers = new Map<NodeId, PeerBeat>();
  // Shared by every peer, so a generation is never reused after a peer's entry changed.
  #nextGeneration = 1;
  // A connection changed since the last `wakeDue`.
  #changed = false;
  readonly stats: NodeBeatStats = { beatsIn: 0, malformed: 0 };

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  generation(peer: NodeId): number {
    return this.#peers.get(peer)?.generation ?? 0;
  }

  beatAtMs(peer: NodeId): number | null {
    return this.#peers.get(peer)?.beatAtMs ?? null;
  }

  isDown(peer: NodeId): boolean {
    return this.#peers.get(peer)?.down ?? false;
  }

  /**
   * Takes a frame from `peer`: true when it was a node beat (recorded, or counted as malformed);
   * false for any other frame, which the caller routes as before.
   */
  onFrame(peer: NodeId, frame: Uint8Array): boolean {
    if (!isNodeBeat(frame)) return false;
    try {
      decodeNodeBeat(frame);
    } catch {
      this.stats.malformed++;
      return true;
    }
    this.stats.beatsIn++;
    const entry = this.#entry(peer, 0);
    if (entry !== undefined) entry.beatAtMs = this.#clock.nowMs();
    return true;
  }

  /** The connection to `peer` came up or went down: a new generation, no beat heard on it yet. */
  connectionChanged(peer: NodeId, up: boolean): void {
    const entry = this.#entry(peer, this.#nextGeneration);
    if (entry === undefined) return;
    entry.generation = this.#nextGeneration++;
    entry.beatAtMs = null;
    entry.down = !up;
    this.#changed = true;
  }

  /**
   * Asked at each beat of the node's tick grid (period `periodMs`): true when a connection
   * changed since the last call, or while a peer's latest beat on its connection is more than
   * BEAT_LAPSE_PERIODS periods old. Sleeping channels must then wake: what they decided to sleep
   * on (a connection, node beats vouching for their peers) no longer holds.
   */
  wakeDue(nowMs: number, periodMs: number): boolean {
    let due = this.#changed;
    this.#changed = false;
    for (const entry of this.#peers.values()) {
      if (entry.beatAtMs !== null && beatLapsed(entry.beatAtMs, nowMs, periodMs)) due = true;
    }
    return due;
  }

  #entry(peer: NodeId, generation: number): PeerBeat | undefined {
    let entry = this.#peers.get(peer);
    if (entry === undefined) {
      if (this.#peers.size >= NODE_BEAT_PEERS_MAX) return undefined;
      entry = { generation, beatAtMs: null, down: false };
      this.#peers.set(peer, entry);
    }
    return entry;
  }

  assertInvariants(): void {
    if (this.#peers.size > NODE_BEAT_PEERS_MAX) throw new Error('node beats: too many peers');
    for (const entry of this.#peers.values()) {
      if (entry.generation >= this.#nextGeneration && entry.generation !== 0) {
        throw new Error('node beats: a generation from the future');
      }
    }
  }
}
