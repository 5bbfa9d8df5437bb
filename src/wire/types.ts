// The replication messages of docs/PROTOCOL.md as plain values. The codec (`codec.ts`) turns them into
// bytes and back; everything above the wire layer (replication, mesh) speaks these types only.

/** A node's identity: first 8 bytes (LE) of keyed BLAKE2s over its ed25519 public key. Never 0. */
export type NodeId = bigint;

/** 32-byte keyed BLAKE2s of the channel name. */
export type ChannelId = Uint8Array;

export const SUBPROTOCOL_REDEX = 0x0e00;

export const DispatchCode = {
  SyncRequest: 0x20,
  SyncResponse: 0x21,
  SyncHeartbeat: 0x22,
  SyncNack: 0x23,
  // 0x24 is ChainTag (src/mesh/chain-tag.ts). The three below carry elections; they are not in
  // `ReplicationMessage` (see `QuorumMessage`).
  VoteRequest: 0x25,
  VoteResponse: 0x26,
  StandNow: 0x27,
  /** Many channels' heartbeats to one peer in one frame (src/wire/heartbeat-batch.ts). */
  HeartbeatBatch: 0x28,
  /** A node's liveness beat to one peer, no body (src/wire/node-beat.ts). */
  NodeBeat: 0x29,
} as const;
export type DispatchCode = (typeof DispatchCode)[keyof typeof DispatchCode];

/** Wire values of the role byte in a heartbeat. */
export const Role = {
  Leader: 0,
  Replica: 1,
  Candidate: 2,
  Idle: 3,
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** Wire values of the class byte in a SyncRequest; unknown values decode as Foreground. */
export const SyncClass = {
  Foreground: 0,
  Background: 1,
  Realtime: 2,
} as const;
export type SyncClass = (typeof SyncClass)[keyof typeof SyncClass];

/** Wire values of the error code byte in a SyncNack. */
export const NackCode = {
  NotLeader: 1,
  BadRange: 2,
  Backpressure: 3,
  ChannelClosed: 4,
  /** The requester's history diverges from the leader's; the NACK carries `diverged`. */
  Diverged: 5,
} as const;
export type NackCode = (typeof NackCode)[keyof typeof NackCode];

export interface SyncHeartbeat {
  readonly kind: 'heartbeat';
  readonly channelId: ChannelId;
  readonly tailSeq: number;
  readonly role: Role;
  readonly wallClockMs: number;
  /** Epoch fields; absent when the sender speaks the original protocol. */
  readonly quorum?: HeartbeatQuorum;
}

export interface HeartbeatQuorum {
  /** The highest epoch the sender has seen. */
  readonly epoch: number;
  /** The epoch of the sender's last event. */
  readonly lastEpoch: number;
  /** Every event below this seq is committed, as far as the sender knows. */
  readonly commitSeq: number;
}

export interface SyncRequest {
  readonly kind: 'request';
  readonly channelId: ChannelId;
  /** Inclusive. */
  readonly sinceSeq: number;
  /** Response byte budget; 0 means the leader's maximum. */
  readonly chunkMax: number;
  readonly requestId: bigint;
  readonly syncClass: SyncClass;
  /** Epoch fields; absent when the sender speaks the original protocol. */
  readonly quorum?: RequestQuorum;
}

export interface RequestQuorum {
  readonly epoch: number;
  /** The epoch of the requester's event at `sinceSeq - 1` (0 when it holds none). */
  readonly lastFetchedEpoch: number;
}

/** One event inside a SyncResponse; `payload` is a view into the frame when decoded. */
export interface WireEvent {
  readonly seq: number;
  readonly payload: Uint8Array;
}

/**
 * The events of a decoded SyncResponse as columns over its frame: event i has seq `seqs[i]` and
 * payload `bytes[offsets[i], offsets[i] + lengths[i])`. No object per event.
 */
export interface WireEventRun {
  readonly bytes: Uint8Array;
  readonly seqs: Float64Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly count: number;
  /** Σ lengths. */
  readonly payloadBytes: number;
}

export interface SyncResponse {
  readonly kind: 'response';
  readonly channelId: ChannelId;
  readonly firstSeq: number;
  readonly leaderFirstRetainedSeq: number;
  readonly requestId: bigint;
  /** On a decoded response, built from `run` on first use. */
  readonly events: readonly WireEvent[];
  /**
   * Set by the decoder: the same events as `run` columns, so the apply path needs no object per
   * event. Not enumerable, so a copy made by spreading (which may change `events`) drops it.
   */
  readonly run?: WireEventRun;
  /** Epoch fields; absent when the sender speaks the original protocol. */
  readonly quorum?: ResponseQuorum;
}

/** From `startSeq` on (until the next run's start), events belong to `epoch`. */
export interface EpochRun {
  readonly startSeq: number;
  readonly epoch: number;
}

export interface ResponseQuorum {
  readonly epoch: number;
  readonly commitSeq: number;
  /** Strictly increasing in both `startSeq` and `epoch`; at most EPOCH_RUNS_MAX. */
  readonly runs: readonly EpochRun[];
}

export interface SyncNack {
  readonly kind: 'nack';
  readonly channelId: ChannelId;
  readonly sinceSeq: number;
  readonly errorCode: NackCode;
  readonly leaderFirstRetainedSeq: number;
  readonly requestId: bigint;
  readonly detail: string;
  /** Present exactly when `errorCode` is Diverged. */
  readonly diverged?: NackDiverged;
}

export interface NackDiverged {
  /** The leader's largest epoch at or below the requester's `lastFetchedEpoch`. */
  readonly divergingEpoch: number;
  /** Where `divergingEpoch` ends in the leader's log (the first seq after its last event). */
  readonly endSeq: number;
}

export type ReplicationMessage = SyncHeartbeat | SyncRequest | SyncResponse | SyncNack;

/** A candidate asks for a vote (or, with `preVote`, whether it would get one). */
export interface VoteRequest {
  readonly kind: 'vote-request';
  readonly channelId: ChannelId;
  readonly epoch: number;
  /** The epoch of the candidate's last event. */
  readonly lastEpoch: number;
  /** The candidate's tail: the seq its next event would get. */
  readonly nextSeq: number;
  readonly preVote: boolean;
  /** A leadership transfer: voters grant despite having heard the old leader recently. */
  readonly transfer: boolean;
}

export interface VoteResponse {
  readonly kind: 'vote-response';
  readonly channelId: ChannelId;
  readonly epoch: number;
  readonly granted: boolean;
  readonly preVote: boolean;
}

/** The leader hands over: the receiver starts a real election at once (no pre-vote). */
export interface StandNow {
  readonly kind: 'stand-now';
  readonly channelId: ChannelId;
  readonly epoch: number;
}

/** Election messages (dispatch 0x25–0x27); kept out of `ReplicationMessage` on purpose. */
export type QuorumMessage = VoteRequest | VoteResponse | StandNow;

export type AnyReplicationMessage = ReplicationMessage | QuorumMessage;
