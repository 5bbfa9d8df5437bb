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
} as const;
export type NackCode = (typeof NackCode)[keyof typeof NackCode];

export interface SyncHeartbeat {
  readonly kind: 'heartbeat';
  readonly channelId: ChannelId;
  readonly tailSeq: number;
  readonly role: Role;
  readonly wallClockMs: number;
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
}

/** One event inside a SyncResponse; `payload` is a view into the frame when decoded. */
export interface WireEvent {
  readonly seq: number;
  readonly payload: Uint8Array;
}

export interface SyncResponse {
  readonly kind: 'response';
  readonly channelId: ChannelId;
  readonly firstSeq: number;
  readonly leaderFirstRetainedSeq: number;
  readonly requestId: bigint;
  readonly events: readonly WireEvent[];
}

export interface SyncNack {
  readonly kind: 'nack';
  readonly channelId: ChannelId;
  readonly sinceSeq: number;
  readonly errorCode: NackCode;
  readonly leaderFirstRetainedSeq: number;
  readonly requestId: bigint;
  readonly detail: string;
}

export type ReplicationMessage = SyncHeartbeat | SyncRequest | SyncResponse | SyncNack;
