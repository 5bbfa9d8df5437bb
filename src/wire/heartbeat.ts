// SyncHeartbeat (0x22), 52 bytes: header · channel_id[32] · tail_seq u64 · role u8 ·
// wall_clock_ms u64. Sent both ways every heartbeat period; carries the sender's role and tail.

import { WireError } from './errors.js';
import { Heartbeat } from './layout.js';
import { expectFrame, readChannelId, readSafeU64 } from './read.js';
import { DispatchCode, Role, type SyncHeartbeat } from './types.js';
import { checkByte, checkChannelId, checkSeq, writeHead, writeU64 } from './write.js';

const NAME = 'SyncHeartbeat';

export function encodeHeartbeat(message: SyncHeartbeat): Uint8Array {
  checkChannelId(NAME, message.channelId);
  checkSeq(NAME, 'tailSeq', message.tailSeq);
  checkByte(NAME, 'role', message.role, Role.Leader, Role.Idle);
  checkSeq(NAME, 'wallClockMs', message.wallClockMs);
  const out = new Uint8Array(Heartbeat.bytes);
  const view = new DataView(out.buffer);
  writeHead(out, view, DispatchCode.SyncHeartbeat, message.channelId);
  writeU64(view, Heartbeat.tailSeq, message.tailSeq);
  view.setUint8(Heartbeat.role, message.role);
  writeU64(view, Heartbeat.wallClockMs, message.wallClockMs);
  return out;
}

/** The body of `decodeHeartbeat`, without the catch-all (decodeAny shares one). */
export function readHeartbeat(bytes: Uint8Array, view: DataView): SyncHeartbeat {
  expectFrame(view, DispatchCode.SyncHeartbeat, Heartbeat.bytes);
  const tailSeq = readSafeU64(view, Heartbeat.tailSeq, 'tail_seq');
  const role = view.getUint8(Heartbeat.role);
  if (role > Role.Idle) throw new WireError({ kind: 'BadRole', role });
  const wallClockMs = readSafeU64(view, Heartbeat.wallClockMs, 'wall_clock_ms');
  return {
    kind: 'heartbeat',
    channelId: readChannelId(bytes),
    tailSeq,
    role: role as Role,
    wallClockMs,
  };
}
