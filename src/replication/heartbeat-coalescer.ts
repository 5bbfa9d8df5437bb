// Heartbeats coalesced per peer (docs/DESIGN.md#coalesced-heartbeats). Every replicated channel
// sends each peer a heartbeat every period; with thousands of channels one frame each is most of
// a node's idle CPU. This dispatcher queues each heartbeat (encoded once, when queued) per target
// and sends them together, as one HeartbeatBatch (0x28) frame per peer, at the end of the current
// burst: a zero-delay timer on the injected clock, so every channel whose tick fired on the same
// timer (the node's TickScheduler) shares the frame. A lone heartbeat leaves as a plain
// SyncHeartbeat (0x22), as before.
//
// Order per peer is kept: any other message to a peer first flushes that peer's queued
// heartbeats. `sendHeartbeat` resolves once queued here, not once the transport took the frame;
// a flush the transport refuses is counted (`sendFailures`), and the next period's heartbeat
// carries the same state again. Pure of channel logic: the steps never know about batching.
//
// With node beats on (`nodeBeatPeers`), `beat()` (called once per beat of the node's tick grid)
// also sends every connected peer one NodeBeat frame in that flush, after its heartbeats
// (docs/DESIGN.md#node-beats).

import type { Clock, TimerHandle } from '../time/clock.js';
import { batchFromHeartbeatFrames, encodeHeartbeat, encodeMessage } from '../wire/codec.js';
import { HEARTBEAT_BATCH_MAX } from '../wire/layout.js';
import { encodeNodeBeat } from '../wire/node-beat.js';
import type { AnyReplicationMessage, NodeId, SyncHeartbeat } from '../wire/types.js';
import type { FrameSender, ReplicationDispatcher } from './dispatcher.js';

/** Peers with heartbeats queued at once; more is a runaway caller (membership is smaller). */
export const COALESCED_PEERS_MAX = 1024;

export interface HeartbeatCoalescerStats {
  /** Heartbeats accepted into a queue. */
  heartbeatsQueued: number;
  /** Frames handed to the sender that carried heartbeats (batches and lone ones). */
  heartbeatFrames: number;
  /** Of those, HeartbeatBatch frames. */
  batchFrames: number;
  /** Heartbeat frames the sender refused (their heartbeats are lost until the next period). */
  sendFailures: number;
  /** NodeBeat frames handed to the sender. */
  nodeBeats: number;
}

export interface CoalescingDispatcher extends ReplicationDispatcher {
  readonly stats: Readonly<HeartbeatCoalescerStats>;
  /** Heartbeats queued and not yet sent. */
  readonly queued: number;
  /** Sends every queued heartbeat now (and the node beats, if one is due). */
  flush(): void;
  /** A node beat is due: each peer of `nodeBeatPeers` gets one NodeBeat in the coming flush. */
  beat(): void;
  /** Drops the queues and the timer; later heartbeats are refused. */
  close(): void;
}

export interface CoalescingOptions {
  readonly clock: Clock;
  /** Heartbeats per batch frame (default and maximum HEARTBEAT_BATCH_MAX); more start a new frame. */
  readonly batchMax?: number;
  /** The peers node beats go to (the connected ones); absent: `beat()` sends nothing. */
  readonly nodeBeatPeers?: () => Iterable<NodeId>;
}

const RESOLVED: Promise<void> = Promise.resolve();

/** A dispatcher like `frameDispatcher(send)` whose heartbeats leave batched per peer. */
export function coalescingDispatcher(
  send: FrameSender,
  options: CoalescingOptions,
): CoalescingDispatcher {
  const clock = options.clock;
  const batchMax = Math.max(
    1,
    Math.min(options.batchMax ?? HEARTBEAT_BATCH_MAX, HEARTBEAT_BATCH_MAX),
  );
  // Invariant: no empty array; size ≤ COALESCED_PEERS_MAX; each array shorter than batchMax.
  const queues = new Map<NodeId, Uint8Array[]>();
  const stats: HeartbeatCoalescerStats = {
    heartbeatsQueued: 0,
    heartbeatFrames: 0,
    batchFrames: 0,
    sendFailures: 0,
    nodeBeats: 0,
  };
  const nodeBeatPeers = options.nodeBeatPeers;
  let beatDue = false;
  let queued = 0;
  let timer: TimerHandle | null = null;
  let closed = false;

  const sendFrames = (target: NodeId, frames: Uint8Array[]): void => {
    queued -= frames.length;
    const frame =
      frames.length === 1 ? (frames[0] as Uint8Array) : batchFromHeartbeatFrames(frames);
    stats.heartbeatFrames++;
    if (frames.length > 1) stats.batchFrames++;
    let result: Promise<void>;
    try {
      result = send(target, frame);
    } catch {
      stats.sendFailures++;
      return;
    }
    result.catch(() => {
      stats.sendFailures++;
    });
  };

  const flushTarget = (target: NodeId): void => {
    const frames = queues.get(target);
    if (frames === undefined) return;
    queues.delete(target);
    sendFrames(target, frames);
  };

  const sendNodeBeats = (): void => {
    beatDue = false;
    if (nodeBeatPeers === undefined) return;
    for (const peer of nodeBeatPeers()) {
      stats.nodeBeats++;
      try {
        // A lost beat only makes the peer's view of this node one period older.
        send(peer, encodeNodeBeat()).catch(() => {});
      } catch {
        // Refused synchronously: the same.
      }
    }
  };

  const flush = (): void => {
    timer?.cancel();
    timer = null;
    for (const target of [...queues.keys()]) flushTarget(target);
    if (beatDue) sendNodeBeats();
  };

  const sendHeartbeat = (target: NodeId, message: SyncHeartbeat): Promise<void> => {
    let frame: Uint8Array;
    try {
      frame = encodeHeartbeat(message);
    } catch (error) {
      return Promise.reject(error);
    }
    if (closed) return send(target, frame);
    let frames = queues.get(target);
    if (frames === undefined) {
      // A target outside any sane membership: send alone rather than grow the table.
      if (queues.size >= COALESCED_PEERS_MAX) return send(target, frame);
      frames = [];
      queues.set(target, frames);
    }
    frames.push(frame);
    queued++;
    stats.heartbeatsQueued++;
    if (frames.length >= batchMax) flushTarget(target);
    else timer ??= clock.setTimer(0, flush);
    return RESOLVED;
  };

  const ordered = (target: NodeId, message: AnyReplicationMessage): Promise<void> => {
    // Anything else to this peer goes after the heartbeats queued before it, as it did unbatched.
    flushTarget(target);
    let frame: Uint8Array;
    try {
      frame = encodeMessage(message);
    } catch (error) {
      return Promise.reject(error);
    }
    return send(target, frame);
  };

  return {
    stats,
    get queued() {
      return queued;
    },
    flush,
    beat() {
      if (closed || nodeBeatPeers === undefined) return;
      beatDue = true;
      timer ??= clock.setTimer(0, flush);
    },
    close() {
      closed = true;
      beatDue = false;
      timer?.cancel();
      timer = null;
      queued = 0;
      queues.clear();
    },
    sendHeartbeat,
    sendSyncRequest: ordered,
    sendSyncResponse: ordered,
    sendSyncNack: ordered,
    sendQuorum: ordered,
  };
}
