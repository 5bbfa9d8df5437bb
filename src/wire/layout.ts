// Byte offsets and sizes of the replication messages (docs/PROTOCOL.md), in one place so the codec and
// the docs table can be checked against the same numbers. All integers are little-endian.

/** Subprotocol u16 (bytes `00 0E`) followed by the dispatch code u8. */
export const HEADER_BYTES = 3;
export const CHANNEL_ID_BYTES = 32;
/** Every message puts the channel id right after the header. */
export const CHANNEL_ID_OFFSET = HEADER_BYTES;
/** First byte after the channel id: where each message's own fields begin. */
export const BODY_OFFSET = HEADER_BYTES + CHANNEL_ID_BYTES;

export const Heartbeat = {
  tailSeq: BODY_OFFSET, // u64
  role: BODY_OFFSET + 8, // u8
  wallClockMs: BODY_OFFSET + 9, // u64
  /** The original message; also the minimum length. */
  bytes: BODY_OFFSET + 17, // 52
  // Trailing epoch group, all or nothing.
  epoch: BODY_OFFSET + 17, // u64
  lastEpoch: BODY_OFFSET + 25, // u64
  commitSeq: BODY_OFFSET + 33, // u64
  quorumBytes: BODY_OFFSET + 41, // 76
} as const;

export const Request = {
  sinceSeq: BODY_OFFSET, // u64
  chunkMax: BODY_OFFSET + 8, // u32
  requestId: BODY_OFFSET + 12, // u64
  syncClass: BODY_OFFSET + 20, // u8, optional on the wire
  /** Upstream's older senders stop before the class byte. */
  minBytes: BODY_OFFSET + 20, // 55
  bytes: BODY_OFFSET + 21, // 56
  // Trailing epoch group, all or nothing; only after the class byte.
  epoch: BODY_OFFSET + 21, // u64
  lastFetchedEpoch: BODY_OFFSET + 29, // u64
  quorumBytes: BODY_OFFSET + 37, // 72
} as const;

export const Response = {
  firstSeq: BODY_OFFSET, // u64
  leaderFirstRetainedSeq: BODY_OFFSET + 8, // u64
  requestId: BODY_OFFSET + 16, // u64
  eventCount: BODY_OFFSET + 24, // u32
  events: BODY_OFFSET + 28, // 63
  minBytes: BODY_OFFSET + 28, // 63
} as const;

/** Each event in a response: seq u64 · payload_len u32 · payload. */
export const EVENT_HEADER_BYTES = 12;
export const EVENT_COUNT_MAX = 0xffff_ffff;
export const PAYLOAD_BYTES_MAX = 0xffff_ffff;

/** The response's trailing epoch group, at offsets from the end of the last event. */
export const ResponseQuorum = {
  epoch: 0, // u64
  commitSeq: 8, // u64
  runCount: 16, // u16
  runs: 18, // runCount × (start_seq u64 · epoch u64)
} as const;
export const EPOCH_RUN_BYTES = 16;
/**
 * Epoch runs in one response. A run needs at least one event, so a leader whose chunk would span
 * more epochs cuts the chunk; the bound keeps what a replica adds to its history per response small.
 */
export const EPOCH_RUNS_MAX = 1024;

export const Nack = {
  sinceSeq: BODY_OFFSET, // u64
  errorCode: BODY_OFFSET + 8, // u8
  leaderFirstRetainedSeq: BODY_OFFSET + 9, // u64
  requestId: BODY_OFFSET + 17, // u64
  detailLen: BODY_OFFSET + 25, // u16
  detail: BODY_OFFSET + 27, // 62
  minBytes: BODY_OFFSET + 27, // 62
} as const;

/** detail_len is a u16. */
export const NACK_DETAIL_BYTES_MAX = 0xffff;

/** A Diverged NACK's trailing group, at offsets from the end of the detail. */
export const NackDiverged = {
  divergingEpoch: 0, // u64
  endSeq: 8, // u64
  bytes: 16,
} as const;

export const VoteRequest = {
  epoch: BODY_OFFSET, // u64
  lastEpoch: BODY_OFFSET + 8, // u64
  nextSeq: BODY_OFFSET + 16, // u64
  flags: BODY_OFFSET + 24, // u8: VoteRequestFlag bits
  bytes: BODY_OFFSET + 25, // 60
} as const;

export const VoteRequestFlag = { PreVote: 0b01, Transfer: 0b10 } as const;

export const VoteResponse = {
  epoch: BODY_OFFSET, // u64
  flags: BODY_OFFSET + 8, // u8: VoteResponseFlag bits
  bytes: BODY_OFFSET + 9, // 44
} as const;

export const VoteResponseFlag = { PreVote: 0b01, Granted: 0b10 } as const;

export const StandNow = {
  epoch: BODY_OFFSET, // u64
  bytes: BODY_OFFSET + 8, // 43
} as const;

/**
 * HeartbeatBatch (0x28): header · count u16 · count entries. Each entry is one channel's
 * heartbeat: channel_id[32] · tail_seq u64 · role u8 · wall_clock_ms u64 · flags u8, then the
 * epoch group (epoch u64 · last_epoch u64 · commit_seq u64) when flags bit 0 is set.
 */
export const HeartbeatBatch = {
  count: HEADER_BYTES, // u16
  entries: HEADER_BYTES + 2, // 5
  /** Offsets inside one entry. */
  channelId: 0,
  tailSeq: CHANNEL_ID_BYTES, // u64
  role: CHANNEL_ID_BYTES + 8, // u8
  wallClockMs: CHANNEL_ID_BYTES + 9, // u64
  flags: CHANNEL_ID_BYTES + 17, // u8: HeartbeatBatchFlag bits
  entryBytes: CHANNEL_ID_BYTES + 18, // 50
  epoch: CHANNEL_ID_BYTES + 18, // u64
  lastEpoch: CHANNEL_ID_BYTES + 26, // u64
  commitSeq: CHANNEL_ID_BYTES + 34, // u64
  quorumEntryBytes: CHANNEL_ID_BYTES + 42, // 74
} as const;

export const HeartbeatBatchFlag = { Quorum: 0b01 } as const;

/**
 * Heartbeats one batch may carry. A u16 could count more; this keeps one frame under ~1.2 MB
 * (16,384 × 74 bytes) and bounds the work one frame can ask of the receiver.
 */
export const HEARTBEAT_BATCH_MAX = 16_384;
