// What a frame body is, judged by its first bytes (docs/MESH.md, "Frame kinds"):
// - `00 0e` (u16 LE 0x0E00): a RedEX replication message (docs/PROTOCOL.md), handed to the runtime as is;
// - `00 fe` (u16 LE 0xFE00): the mesh's own control frames, never handed up:
//     Ping  `00 fe 01` token u64 LE   (11 bytes)
//     Pong  `00 fe 02` token u64 LE   (11 bytes, echoes the ping's token)
// - anything else is dropped and counted. Like the wire decoders, control decoders ignore trailing
//   bytes so later versions can append fields.

import { SUBPROTOCOL_REDEX } from '../wire/types.js';
import { MeshError, MeshErrorReason } from './errors.js';

export const SUBPROTOCOL_MESH = 0xfe00;
export const MeshControl = {
  Ping: 0x01,
  Pong: 0x02,
} as const;
export type MeshControl = (typeof MeshControl)[keyof typeof MeshControl];

/** subprotocol u16 + type u8 + token u64. */
export const CONTROL_FRAME_BYTES = 11;
/** Shortest body either subprotocol can carry (a RedEX header is 3 bytes). */
export const FRAME_KIND_BYTES_MIN = 3;

export type FrameKind =
  | { readonly kind: 'replication' }
  | { readonly kind: 'ping'; readonly token: bigint }
  | { readonly kind: 'pong'; readonly token: bigint }
  | {
      readonly kind: 'drop';
      readonly reason: 'short-frame' | 'unknown-subprotocol' | 'bad-control';
    };

function subprotocolOf(body: Uint8Array): number {
  return body[0]! | (body[1]! << 8);
}

/** True when `body` starts with the RedEX subprotocol header. */
export function isReplicationFrame(body: Uint8Array): boolean {
  return body.length >= FRAME_KIND_BYTES_MIN && subprotocolOf(body) === SUBPROTOCOL_REDEX;
}

export function classifyFrame(body: Uint8Array): FrameKind {
  if (body.length < FRAME_KIND_BYTES_MIN) return { kind: 'drop', reason: 'short-frame' };
  const subprotocol = subprotocolOf(body);
  if (subprotocol === SUBPROTOCOL_REDEX) return { kind: 'replication' };
  if (subprotocol !== SUBPROTOCOL_MESH) return { kind: 'drop', reason: 'unknown-subprotocol' };
  if (body.length < CONTROL_FRAME_BYTES) return { kind: 'drop', reason: 'bad-control' };
  const token = new DataView(body.buffer, body.byteOffset + 3, 8).getBigUint64(0, true);
  switch (body[2]) {
    case MeshControl.Ping:
      return { kind: 'ping', token };
    case MeshControl.Pong:
      return { kind: 'pong', token };
    default:
      return { kind: 'drop', reason: 'bad-control' };
  }
}

export function encodeControl(type: MeshControl, token: bigint): Uint8Array {
  const body = new Uint8Array(CONTROL_FRAME_BYTES);
  const view = new DataView(body.buffer);
  view.setUint16(0, SUBPROTOCOL_MESH, true);
  body[2] = type;
  view.setBigUint64(3, BigInt.asUintN(64, token), true);
  return body;
}

/** What `Transport.send` accepts: a RedEX message within the frame limit; else `BAD_FRAME`. */
export function checkSendableFrame(frame: Uint8Array, bodyBytesLimit: number): void {
  if (!(frame instanceof Uint8Array)) {
    throw new MeshError(MeshErrorReason.BadFrame, 'send: frame must be a Uint8Array');
  }
  if (!isReplicationFrame(frame)) {
    throw new MeshError(
      MeshErrorReason.BadFrame,
      'send: frame must be a RedEX message (starting 00 0e, at least 3 bytes)',
    );
  }
  if (frame.length > bodyBytesLimit) {
    throw new MeshError(
      MeshErrorReason.BadFrame,
      `send: frame of ${frame.length} bytes exceeds the ${bodyBytesLimit}-byte limit`,
    );
  }
}
