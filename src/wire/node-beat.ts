// NodeBeat (0x29): a node's beat to one peer, once per heartbeat period, on top of the heartbeats
// it still sends (docs/PROTOCOL.md#nodebeat-0x29). It stands for every channel heartbeat the
// sender left out because it was identical to the last one it sent this peer on the current
// connection. Layout: the header alone (subprotocol u16 · dispatch u8); any other length is
// refused, so a receiver counts it as a malformed drop.

import { WireError } from './errors.js';
import { HEADER_BYTES } from './layout.js';
import { readHeader } from './read.js';
import { DispatchCode, SUBPROTOCOL_REDEX } from './types.js';

/** Encodes a NodeBeat (always the same three bytes; a fresh copy each call). */
export function encodeNodeBeat(): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const view = new DataView(out.buffer);
  view.setUint16(0, SUBPROTOCOL_REDEX, true);
  view.setUint8(2, DispatchCode.NodeBeat);
  return out;
}

/** Whether a frame's third byte names a NodeBeat (decode it to know it is well formed). */
export function isNodeBeat(frame: Uint8Array): boolean {
  return frame.length >= HEADER_BYTES && frame[2] === DispatchCode.NodeBeat;
}

/** Checks a NodeBeat; throws WireError for a wrong header or any byte after it. */
export function decodeNodeBeat(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const code = readHeader(view);
  if (code !== DispatchCode.NodeBeat) {
    throw new WireError({
      kind: 'DispatchMismatch',
      expected: DispatchCode.NodeBeat,
      actual: code,
    });
  }
  if (bytes.length !== HEADER_BYTES) {
    throw new WireError({ kind: 'NodeBeatBody', length: bytes.length });
  }
}
