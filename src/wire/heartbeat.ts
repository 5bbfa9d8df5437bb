// SyncHeartbeat (0x22), 52 bytes: header · channel_id[32] · tail_seq u64 · role u8 ·
// wall_clock_ms u64, then optionally the epoch group: epoch u64 · last_epoch u64 ·
// commit_seq u64 (76 bytes). Sent both ways every heartbeat period; carries the sender's role and
// tail, and with the group its epoch, the epoch of its last event and its commit point.

import { WireError } from './errors.js';
import { Heartbeat } from './layout.js';
import { expectFrame, hasGroup, readChannelId, readSafeU64 } from './read.js';
import { DispatchCode, type HeartbeatQuorum, Role, type SyncHeartbeat } from './types.js';
import { checkByte, checkChannelId, checkGroup, checkSeq, writeHead, writeU64 } from './write.js';

const NAME = 'SyncHeartbeat';

export function encodeHeartbeat(message: SyncHeartbeat): Uint8Array {
  checkChannelId(NAME, message.channelId);
  checkSeq(NAME, 'tailSeq', message.tailSeq);
  checkByte(NAME, 'role', message.role, Role.Leader, Role.Idle);
  checkSeq(NAME, 'wallClockMs', message.wallClockMs);
  const quorum = message.quorum;
  if (quorum !== undefined) {
    checkGroup(NAME, 'quorum', quorum);
    checkSeq(NAME, 'quorum.epoch', quorum.epoch);
    checkSeq(NAME, 'quorum.lastEpoch', quorum.lastEpoch);
    checkSeq(NAME, 'quorum.commitSeq', quorum.commitSeq);
  }
  const out = new Uint8Array(quorum === undefined ? Heartbeat.bytes : Heartbeat.quorumBytes);
  const view = new DataView(out.buffer);
  writeHead(out, view, DispatchCode.SyncHeartbeat, message.channelId);
  writeU64(view, Heartbeat.tailSeq, message.tailSeq);
  view.setUint8(Heartbeat.role, message.role);
  writeU64(view, Heartbeat.wallClockMs, message.wallClockMs);
  if (quorum !== undefined) {
    writeU64(view, Heartbeat.epoch, quorum.epoch);
    writeU64(view, Heartbeat.lastEpoch, quorum.lastEpoch);
    writeU64(view, Heartbeat.commitSeq, quorum.commitSeq);
  }
  return out;
}

/** The body of `decodeHeartbeat`, without the catch-all (decodeAny shares one). */
export function readHeartbeat(bytes: Uint8Array, view: DataView): SyncHeartbeat {
  expectFrame(view, DispatchCode.SyncHeartbeat, Heartbeat.bytes);
  const tailSeq = readSafeU64(view, Heartbeat.tailSeq, 'tail_seq');
  const role = view.getUint8(Heartbeat.role);
  if (role > Role.Idle) throw new WireError({ kind: 'BadRole', role });
  const wallClockMs = readSafeU64(view, Heartbeat.wallClockMs, 'wall_clock_ms');
  const base = {
    kind: 'heartbeat' as const,
    channelId: readChannelId(bytes),
    tailSeq,
    role: role as Role,
    wallClockMs,
  };
  if (!hasGroup(view, Heartbeat.epoch, Heartbeat.quorumBytes - Heartbeat.epoch)) return base;
  const quorum: HeartbeatQuorum = {
    epoch: readSafeU64(view, Heartbeat.epoch, 'epoch'),
    lastEpoch: readSafeU64(view, Heartbeat.lastEpoch, 'last_epoch'),
    commitSeq: readSafeU64(view, Heartbeat.commitSeq, 'commit_seq'),
  };
  return { ...base, quorum };
}
