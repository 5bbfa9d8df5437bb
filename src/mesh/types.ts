// The contract between the replication runtime and whatever moves its frames: `MeshTransport`
// (mutual TLS over TCP) in production, `SimTransport` (virtual time, injected faults) in the
// simulation. The runtime sees NodeIds and opaque RedEX frames only; connections, certificates
// and addresses stay below this line.

import type { NodeId } from '../wire/types.js';

/** Why a frame (or a connection) was dropped. Every reason is counted; none is thrown. */
export const DropReason = {
  /** `send` to a peer with no open connection (or to self). */
  NoConnection: 'no-connection',
  /** `send` when the peer's pending write bytes would pass the limit. */
  Backpressure: 'backpressure',
  /** `send` after `close()`. */
  Closed: 'closed',
  /** Frames queued on a connection that closed before they were written. */
  ConnectionLost: 'connection-lost',
  /** Inbound body shorter than a subprotocol header. */
  ShortFrame: 'short-frame',
  /** Inbound body that is neither RedEX (0x0E00) nor mesh control (0xFE00). */
  UnknownSubprotocol: 'unknown-subprotocol',
  /** Mesh control frame too short or of an unknown type. */
  BadControl: 'bad-control',
  /** A pong whose token matches no outstanding ping. */
  UnexpectedPong: 'unexpected-pong',
  /** Inbound length prefix above the frame limit (the connection is destroyed). */
  FrameTooLarge: 'frame-too-large',
  /** The connection ended in the middle of a frame. */
  TruncatedFrame: 'truncated-frame',
  /** A replication frame arrived while no frame handler was registered. */
  NoHandler: 'no-handler',
  /** A frame handler threw (a bug above the mesh; reported through `onHandlerError`). */
  HandlerError: 'handler-error',
  /** Simulation only: an injected loss or partition ate the frame. */
  Fault: 'fault',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

export type DropCounts = Record<DropReason, number>;

export function emptyDropCounts(): DropCounts {
  const counts = {} as DropCounts;
  for (const reason of Object.values(DropReason)) counts[reason] = 0;
  return counts;
}

/** Per-peer counters; they survive reconnects (keyed by NodeId, not by connection). */
export interface PeerStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  pingsOut: number;
  pongsIn: number;
  /** Times the peer came up (connections adopted as the peer's connection after none). */
  ups: number;
  /** Times the peer went down. */
  downs: number;
  readonly drops: DropCounts;
}

export function emptyPeerStats(): PeerStats {
  return {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    pingsOut: 0,
    pongsIn: 0,
    ups: 0,
    downs: 0,
    drops: emptyDropCounts(),
  };
}

/** Transport-wide counters. Frame and byte totals count replication frames and control frames. */
export interface TransportStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Socket writes (each carries every frame queued for that connection in one turn). */
  writeBatches: number;
  /** Inbound connections that completed the TLS handshake. */
  connectionsAccepted: number;
  /** Outbound connections that completed the TLS handshake and were confirmed by the peer. */
  connectionsDialed: number;
  /** Outbound attempts that failed before the peer confirmed (refused, TLS, timeout, rejected). */
  dialFailures: number;
  /** Inbound TLS handshakes that failed: garbage, a foreign or expired certificate, no cert. */
  handshakeFailures: number;
  /** Handshakes (either side) that did not finish within the handshake timeout. */
  handshakeTimeouts: number;
  /** Certificates that chained to the CA but hold no usable Ed25519 key. */
  badPeerKeys: number;
  /** Connections closed because the other end of the same pair won (simultaneous dial). */
  duplicatesClosed: number;
  /** Connections to ourselves (dialing our own address). */
  selfConnections: number;
  /** Dialed an address pinned to one NodeId and found another. */
  unexpectedPeers: number;
  /** Peers refused by `acceptPeer` or because the peer table was full. */
  peersRefused: number;
  /** Connections destroyed because the peer sent nothing for the idle timeout. */
  idleTimeouts: number;
  /** Inbound handshakes closed to make room for newer ones (per-address or total limit). */
  handshakesEvicted: number;
  /** Connections refused because another address already holds a live one for that NodeId. */
  duplicateIdentities: number;
  readonly drops: DropCounts;
}

export function emptyTransportStats(): TransportStats {
  return {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    writeBatches: 0,
    connectionsAccepted: 0,
    connectionsDialed: 0,
    dialFailures: 0,
    handshakeFailures: 0,
    handshakeTimeouts: 0,
    badPeerKeys: 0,
    duplicatesClosed: 0,
    selfConnections: 0,
    unexpectedPeers: 0,
    peersRefused: 0,
    idleTimeouts: 0,
    handshakesEvicted: 0,
    duplicateIdentities: 0,
    drops: emptyDropCounts(),
  };
}

export interface PeerEvent {
  readonly kind: 'up' | 'down';
  readonly nodeId: NodeId;
}

/** A replication frame from `from` (whose id its certificate proved). `frame` starts `00 0e`. */
export type FrameHandler = (from: NodeId, frame: Uint8Array) => void;
export type PeerHandler = (event: PeerEvent) => void;

/** What the transport knows about one peer right now. */
export interface PeerSnapshot {
  readonly nodeId: NodeId;
  readonly connected: boolean;
  /** Last measured ping round trip, or null before the first pong. */
  readonly rttMs: number | null;
  /** Exponentially smoothed round trip (weight 1/8 per sample, like TCP's SRTT), or null. */
  readonly rttSmoothedMs: number | null;
  /** A `host:port` this peer was reached at by dialing, if any. */
  readonly address: string | undefined;
  /** A copy of the counters. */
  readonly stats: PeerStats;
}

/**
 * Moves RedEX frames between nodes. Guarantees: frames to one peer over one connection arrive in
 * order; nothing is retried (the replication protocol tolerates loss, as upstream's UDP did);
 * handlers never run inside the caller's own call; nothing from a peer ever throws at the caller.
 */
export interface Transport {
  readonly localId: NodeId;
  readonly closed: boolean;
  /**
   * Queues one RedEX frame (it must start with the 0x0E00 header) for `to`. Returns false when it
   * was dropped (no connection, backpressure, closed), counted under the reason. The transport
   * owns a queued `frame` from here on: do not modify it afterwards, and do not keep or resend
   * one encoded with headroom (src/wire/headroom.ts), whose memory is reused once written. Throws
   * `BAD_FRAME` for a frame that is not a RedEX message or is larger than the frame limit.
   */
  send(to: NodeId, frame: Uint8Array): boolean;
  /**
   * Registers a handler for inbound replication frames; returns its unsubscribe function. A large
   * frame that arrived in pieces may be lent by the receive pool (src/wire/receive-pool.ts) and
   * reused once the catch-up apply released it: a handler that keeps a frame must copy it.
   */
  onFrame(handler: FrameHandler): () => void;
  /** Registers a handler for peer up/down; returns its unsubscribe function. */
  onPeer(handler: PeerHandler): () => void;
  isConnected(peer: NodeId): boolean;
  /** Connected peers, ascending NodeId. */
  connectedPeers(): NodeId[];
  peer(nodeId: NodeId): PeerSnapshot | undefined;
  /** Every peer ever seen (bounded by the peer table limit), ascending NodeId. */
  peers(): PeerSnapshot[];
  /** A copy of the transport-wide counters. */
  stats(): TransportStats;
  /** Stops everything; idempotent (the same promise). No handler runs after it is called. */
  close(): Promise<void>;
}

/** Weight of a new RTT sample in the smoothed value (TCP's alpha, RFC 6298). */
export const RTT_SMOOTHING = 1 / 8;

export function smoothRtt(previous: number | null, sample: number): number {
  return previous === null ? sample : previous + (sample - previous) * RTT_SMOOTHING;
}

export function copyPeerStats(stats: PeerStats): PeerStats {
  return { ...stats, drops: { ...stats.drops } };
}

export function copyTransportStats(stats: TransportStats): TransportStats {
  return { ...stats, drops: { ...stats.drops } };
}
