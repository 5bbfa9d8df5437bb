// Identities on the wire (docs/PROTOCOL.md#identities). Both are keyed BLAKE2s-256 (BLAKE2s's own key mode, not
// HMAC; node:crypto has no keyed BLAKE2, hence blake2s.ts), so every node derives the same id
// from the same input with no coordination:
// - NodeId: first 8 bytes, little-endian, of the hash of the node's ed25519 public key. 0 is
//   reserved as "no node", so a key hashing to 0 is refused.
// - ChannelId: the 32-byte hash of the channel name's UTF-8 bytes.

import { blake2s } from './blake2s.js';
import { NodeIdError, WireEncodeError } from './errors.js';
import { bytesToHex, hexToBytes } from './hex.js';
import { CHANNEL_ID_BYTES } from './layout.js';
import type { ChannelId, NodeId } from './types.js';

export const ED25519_PUBLIC_KEY_BYTES = 32;
const utf8 = new TextEncoder();
const NODE_ID_KEY = utf8.encode('net-node-id-v1');
const CHANNEL_ID_KEY = utf8.encode('redex-channel-id-v1');
const U64_MAX = 0xffff_ffff_ffff_ffffn;

export function nodeIdFromPublicKey(publicKey: Uint8Array): NodeId {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    const got = publicKey instanceof Uint8Array ? `${publicKey.length} bytes` : typeof publicKey;
    throw new NodeIdError(
      'public-key-length',
      `an ed25519 public key is ${ED25519_PUBLIC_KEY_BYTES} bytes, got ${got}`,
    );
  }
  return nodeIdFromDigest(blake2s(publicKey, NODE_ID_KEY, 32));
}

/** The NodeId rule on a digest: its first 8 bytes LE, refusing 0. Separate so tests can hit 0. */
export function nodeIdFromDigest(digest: Uint8Array): NodeId {
  const id = new DataView(digest.buffer, digest.byteOffset, 8).getBigUint64(0, true);
  if (id === 0n) throw new NodeIdError('zero', 'public key hashes to NodeId 0, which is reserved');
  return id;
}

/** True for a usable NodeId: a u64 other than 0. */
export function isNodeId(value: unknown): value is NodeId {
  return typeof value === 'bigint' && value > 0n && value <= U64_MAX;
}

/** Fixed-width (16 digits) lowercase hex of a NodeId, as in logs and the docs. */
export function nodeIdToHex(id: NodeId): string {
  if (!isNodeId(id)) throw new WireEncodeError('NodeId', 'value', 'a u64 bigint other than 0', id);
  return id.toString(16).padStart(16, '0');
}

/** Hashes the name as given; validating it against the channel-name rules is the log's job. */
export function channelIdFromName(name: string): ChannelId {
  if (typeof name !== 'string') {
    throw new WireEncodeError('ChannelId', 'name', 'a string', name);
  }
  return blake2s(utf8.encode(name), CHANNEL_ID_KEY, CHANNEL_ID_BYTES);
}

export function channelIdToHex(id: ChannelId): string {
  if (!(id instanceof Uint8Array) || id.length !== CHANNEL_ID_BYTES) {
    throw new WireEncodeError(
      'ChannelId',
      'value',
      `a Uint8Array of ${CHANNEL_ID_BYTES} bytes`,
      id,
    );
  }
  return bytesToHex(id);
}

export function channelIdFromHex(hex: string): ChannelId {
  const id = hexToBytes(hex);
  if (id.length !== CHANNEL_ID_BYTES) {
    throw new WireEncodeError('ChannelId', 'hex', `${CHANNEL_ID_BYTES * 2} hex digits`, hex);
  }
  return id;
}

/** Byte equality of two channel ids (the runtime checks every inbound frame against its own). */
export function channelIdEquals(a: ChannelId, b: ChannelId): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
