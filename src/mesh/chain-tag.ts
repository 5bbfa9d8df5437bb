// ChainTag (0x24), the first of the project's extension messages in the reserved RedEX dispatch
// range (docs/PROTOCOL.md#chaintag-0x24). DEV DOCS:
//
// A node tells its cluster peers which channels it holds, in which role and at which tip seq
// (docs/DESIGN.md#chain-tags: the coordinator's `ChainTagSink` made real). The message is 21 bytes:
//   header(3) · origin_hash u64 · tip_seq u64 · role u8 · kind u8 (1 Announce, 2 Withdraw)
// `origin_hash` is the channel's chain identifier (`originHashOf`: the first 8 bytes, LE, of its
// ChannelId), which is all the coordinator hands its sink.
//
// This file owns the codec and `ChainHolderTable`, the pure record of what peers announced.
// `MeshNode` sends tags on announce/withdraw and when a peer comes up, feeds inbound tags and
// heartbeats into the table, and drops a peer's entries when its connection goes down. Like the
// wire decoders, `decodeChainTag` ignores trailing bytes (later versions append fields), never
// reads past the frame and throws nothing but `ChainTagError`.

import { type NodeId, Role, SUBPROTOCOL_REDEX } from '../wire/types.js';
import { MeshError, MeshErrorReason } from './errors.js';

/** Dispatch code of ChainTag: the first code of the reserved extension range 0x24–0x2F. */
export const CHAIN_TAG_DISPATCH = 0x24;

/** Byte offsets of the ChainTag fields (docs/PROTOCOL.md checks its table against these). */
export const ChainTagLayout = {
  originHash: 3,
  tipSeq: 11,
  role: 19,
  kind: 20,
  /** Encoded length, and the minimum a decoder accepts. */
  bytes: 21,
} as const;

/** Wire values of the kind byte. */
export const ChainTagKindByte = {
  Announce: 1,
  Withdraw: 2,
} as const;

export type ChainTagKind = 'announce' | 'withdraw';

export interface ChainTag {
  readonly kind: ChainTagKind;
  /** The channel's chain identifier (`originHashOf(channelId)`), a u64. */
  readonly originHash: bigint;
  /** The holder's tail (next seq) when it sent the tag; on a withdraw, its last known tail. */
  readonly tipSeq: number;
  /** The holder's role; a withdraw carries Idle. */
  readonly role: Role;
}

export const ChainTagErrorKind = {
  BadInput: 'BadInput',
  Truncated: 'Truncated',
  SubprotocolMismatch: 'SubprotocolMismatch',
  DispatchMismatch: 'DispatchMismatch',
  BadRole: 'BadRole',
  BadKind: 'BadKind',
  SeqOutOfRange: 'SeqOutOfRange',
} as const;
export type ChainTagErrorKind = (typeof ChainTagErrorKind)[keyof typeof ChainTagErrorKind];

/** A ChainTag frame from a peer that does not decode. The decoder throws nothing else. */
export class ChainTagError extends Error {
  readonly kind: ChainTagErrorKind;

  constructor(kind: ChainTagErrorKind, detail: string) {
    super(`redex: chain tag: ${detail}`);
    this.name = 'ChainTagError';
    this.kind = kind;
  }
}

/** The high u32 of Number.MAX_SAFE_INTEGER: a u64 seq above it does not fit a JS number. */
const SAFE_HIGH_MAX = 0x1f_ffff;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** True when the frame carries the ChainTag dispatch code (it may still fail to decode). */
export function isChainTagFrame(frame: Uint8Array): boolean {
  return (
    frame.length >= 3 &&
    frame[0] === (SUBPROTOCOL_REDEX & 0xff) &&
    frame[1] === SUBPROTOCOL_REDEX >> 8 &&
    frame[2] === CHAIN_TAG_DISPATCH
  );
}

function badArgument(field: string, expected: string, value: unknown): MeshError {
  return new MeshError(
    MeshErrorReason.BadFrame,
    `ChainTag: ${field} must be ${expected}, got ${String(value)}`,
  );
}

/** Encodes a tag; a bad field is a `BAD_FRAME` MeshError naming it. */
export function encodeChainTag(tag: ChainTag): Uint8Array {
  if (tag.kind !== 'announce' && tag.kind !== 'withdraw') {
    throw badArgument('kind', "'announce' or 'withdraw'", tag.kind);
  }
  if (typeof tag.originHash !== 'bigint' || tag.originHash < 0n || tag.originHash > U64_MAX) {
    throw badArgument('originHash', 'a u64 bigint', tag.originHash);
  }
  if (!Number.isSafeInteger(tag.tipSeq) || tag.tipSeq < 0) {
    throw badArgument('tipSeq', 'a safe integer ≥ 0', tag.tipSeq);
  }
  if (!Number.isInteger(tag.role) || tag.role < Role.Leader || tag.role > Role.Idle) {
    throw badArgument('role', 'a Role (0..3)', tag.role);
  }
  const out = new Uint8Array(ChainTagLayout.bytes);
  const view = new DataView(out.buffer);
  view.setUint16(0, SUBPROTOCOL_REDEX, true);
  out[2] = CHAIN_TAG_DISPATCH;
  view.setBigUint64(ChainTagLayout.originHash, tag.originHash, true);
  view.setUint32(ChainTagLayout.tipSeq, tag.tipSeq % 0x1_0000_0000, true);
  view.setUint32(ChainTagLayout.tipSeq + 4, Math.floor(tag.tipSeq / 0x1_0000_0000), true);
  out[ChainTagLayout.role] = tag.role;
  out[ChainTagLayout.kind] =
    tag.kind === 'announce' ? ChainTagKindByte.Announce : ChainTagKindByte.Withdraw;
  return out;
}

/** Decodes a ChainTag frame; trailing bytes are ignored. Throws `ChainTagError` only. */
export function decodeChainTag(frame: Uint8Array): ChainTag {
  if (!(frame instanceof Uint8Array)) {
    throw new ChainTagError('BadInput', `expected a Uint8Array, got ${typeof frame}`);
  }
  if (frame.length < 3)
    throw new ChainTagError('Truncated', `needed 3 bytes, have ${frame.length}`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const subprotocol = view.getUint16(0, true);
  if (subprotocol !== SUBPROTOCOL_REDEX) {
    throw new ChainTagError(
      'SubprotocolMismatch',
      `subprotocol 0x${subprotocol.toString(16).padStart(4, '0')} is not RedEX (0x0e00)`,
    );
  }
  if (frame[2] !== CHAIN_TAG_DISPATCH) {
    throw new ChainTagError(
      'DispatchMismatch',
      `dispatch code 0x${frame[2]!.toString(16)}, expected 0x24`,
    );
  }
  if (frame.length < ChainTagLayout.bytes) {
    throw new ChainTagError(
      'Truncated',
      `needed ${ChainTagLayout.bytes} bytes, have ${frame.length}`,
    );
  }
  const originHash = view.getBigUint64(ChainTagLayout.originHash, true);
  const low = view.getUint32(ChainTagLayout.tipSeq, true);
  const high = view.getUint32(ChainTagLayout.tipSeq + 4, true);
  if (high > SAFE_HIGH_MAX) {
    throw new ChainTagError('SeqOutOfRange', 'tip_seq exceeds Number.MAX_SAFE_INTEGER');
  }
  const role = frame[ChainTagLayout.role]!;
  if (role > Role.Idle) throw new ChainTagError('BadRole', `role byte ${role} is not 0..3`);
  const kindByte = frame[ChainTagLayout.kind]!;
  let kind: ChainTagKind;
  if (kindByte === ChainTagKindByte.Announce) kind = 'announce';
  else if (kindByte === ChainTagKindByte.Withdraw) kind = 'withdraw';
  else
    throw new ChainTagError('BadKind', `kind byte ${kindByte} is not 1 (announce) or 2 (withdraw)`);
  return { kind, originHash, tipSeq: high * 0x1_0000_0000 + low, role: role as Role };
}

// ─── the holder table ──────────────────────────────────────────────────────────────────────

/** Channels (origin hashes) the table tracks; past it, announces of new channels are dropped. */
export const CHAIN_TAG_ORIGINS_MAX = 65_536;
/** Holders per channel (replica sets are ≤ 16; headroom for placement churn). */
export const CHAIN_TAG_HOLDERS_PER_ORIGIN_MAX = 64;

/** One holder of a channel, as `findChainHolders` reports it. */
export interface ChainHolder {
  readonly nodeId: NodeId;
  readonly role: Role;
  /** The holder's tail (next seq) as last announced or heard in a heartbeat. */
  readonly tipSeq: number;
  /** When this node last heard about it (the mesh node's clock, ms). */
  readonly seenAtMs: number;
  /** True for this node's own holding. */
  readonly local: boolean;
}

interface HolderEntry {
  role: Role;
  tipSeq: number;
  seenAtMs: number;
}

/** What an `apply` did, so the caller can count refusals. */
export type HolderUpdate = 'added' | 'updated' | 'removed' | 'unchanged' | 'table-full';

/**
 * What the peers announced. Invariants: at most `CHAIN_TAG_ORIGINS_MAX` origins, each with
 * 1..`CHAIN_TAG_HOLDERS_PER_ORIGIN_MAX` holders (an origin with none is deleted).
 */
export class ChainHolderTable {
  readonly #origins = new Map<bigint, Map<NodeId, HolderEntry>>();

  /** Applies an announce (upsert) or a withdraw (delete) from `from`. */
  apply(from: NodeId, tag: ChainTag, nowMs: number): HolderUpdate {
    if (tag.kind === 'withdraw') {
      const holders = this.#origins.get(tag.originHash);
      if (holders === undefined || !holders.delete(from)) return 'unchanged';
      if (holders.size === 0) this.#origins.delete(tag.originHash);
      return 'removed';
    }
    let holders = this.#origins.get(tag.originHash);
    if (holders === undefined) {
      if (this.#origins.size >= CHAIN_TAG_ORIGINS_MAX) return 'table-full';
      holders = new Map();
      this.#origins.set(tag.originHash, holders);
    }
    const entry = holders.get(from);
    if (entry === undefined) {
      if (holders.size >= CHAIN_TAG_HOLDERS_PER_ORIGIN_MAX) return 'table-full';
      holders.set(from, { role: tag.role, tipSeq: tag.tipSeq, seenAtMs: nowMs });
      return 'added';
    }
    entry.role = tag.role;
    entry.tipSeq = tag.tipSeq;
    entry.seenAtMs = nowMs;
    return 'updated';
  }

  /**
   * Refreshes an announced holder from one of its heartbeats. Never creates an entry: only a
   * tag says "I hold this", so a heartbeat cannot resurrect a holder that withdrew.
   */
  refresh(from: NodeId, originHash: bigint, role: Role, tipSeq: number, nowMs: number): boolean {
    const entry = this.#origins.get(originHash)?.get(from);
    if (entry === undefined) return false;
    entry.role = role;
    entry.tipSeq = tipSeq;
    entry.seenAtMs = nowMs;
    return true;
  }

  /** Forgets everything `peer` announced (its connection went down). */
  forgetPeer(peer: NodeId): number {
    let removed = 0;
    for (const [origin, holders] of this.#origins) {
      if (holders.delete(peer)) removed++;
      if (holders.size === 0) this.#origins.delete(origin);
    }
    return removed;
  }

  /** The peers holding `originHash`, unsorted. */
  holders(originHash: bigint): ChainHolder[] {
    const holders = this.#origins.get(originHash);
    if (holders === undefined) return [];
    return [...holders].map(([nodeId, entry]) => ({ nodeId, ...entry, local: false }));
  }

  /** Origins with at least one holder. */
  get size(): number {
    return this.#origins.size;
  }

  clear(): void {
    this.#origins.clear();
  }

  assertInvariants(): void {
    if (this.#origins.size > CHAIN_TAG_ORIGINS_MAX) throw new Error('chain tags: too many origins');
    for (const holders of this.#origins.values()) {
      if (holders.size === 0) throw new Error('chain tags: an origin with no holder');
      if (holders.size > CHAIN_TAG_HOLDERS_PER_ORIGIN_MAX) {
        throw new Error('chain tags: too many holders for one origin');
      }
    }
  }
}

/** Freshest first: highest tip, then most recently heard, then lowest NodeId (deterministic). */
export function compareHolders(a: ChainHolder, b: ChainHolder): number {
  if (a.tipSeq !== b.tipSeq) return b.tipSeq - a.tipSeq;
  if (a.seenAtMs !== b.seenAtMs) return b.seenAtMs - a.seenAtMs;
  return a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0;
}
