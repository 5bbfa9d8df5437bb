// The election messages, same header and channel id as the others:
// - VoteRequest (0x25), 60 bytes: epoch u64 · last_epoch u64 · next_seq u64 · flags u8
//   (bit 0 pre-vote, bit 1 transfer). A candidate asks for a vote, or with pre-vote whether it
//   would get one.
// - VoteResponse (0x26), 44 bytes: epoch u64 · flags u8 (bit 0 pre-vote, bit 1 granted).
// - StandNow (0x27), 43 bytes: epoch u64. A leader hands its channel to the receiver.
// Undefined flag bits are refused (BadFlags), so a later version can give them a meaning that an
// older peer will not silently misread.

import {
  StandNow as StandNowLayout,
  VoteRequestFlag,
  VoteRequest as VoteRequestLayout,
  VoteResponseFlag,
  VoteResponse as VoteResponseLayout,
} from './layout.js';
import { expectFrame, readChannelId, readFlags, readSafeU64 } from './read.js';
import { DispatchCode, type StandNow, type VoteRequest, type VoteResponse } from './types.js';
import { checkBoolean, checkChannelId, checkSeq, writeHead, writeU64 } from './write.js';

const REQUEST_FLAGS = VoteRequestFlag.PreVote | VoteRequestFlag.Transfer;
const RESPONSE_FLAGS = VoteResponseFlag.PreVote | VoteResponseFlag.Granted;

export function encodeVoteRequest(message: VoteRequest): Uint8Array {
  const name = 'VoteRequest';
  checkChannelId(name, message.channelId);
  checkSeq(name, 'epoch', message.epoch);
  checkSeq(name, 'lastEpoch', message.lastEpoch);
  checkSeq(name, 'nextSeq', message.nextSeq);
  checkBoolean(name, 'preVote', message.preVote);
  checkBoolean(name, 'transfer', message.transfer);
  const out = new Uint8Array(VoteRequestLayout.bytes);
  const view = new DataView(out.buffer);
  writeHead(out, view, DispatchCode.VoteRequest, message.channelId);
  writeU64(view, VoteRequestLayout.epoch, message.epoch);
  writeU64(view, VoteRequestLayout.lastEpoch, message.lastEpoch);
  writeU64(view, VoteRequestLayout.nextSeq, message.nextSeq);
  view.setUint8(
    VoteRequestLayout.flags,
    (message.preVote ? VoteRequestFlag.PreVote : 0) |
      (message.transfer ? VoteRequestFlag.Transfer : 0),
  );
  return out;
}

export function readVoteRequest(bytes: Uint8Array, view: DataView): VoteRequest {
  expectFrame(view, DispatchCode.VoteRequest, VoteRequestLayout.bytes);
  const epoch = readSafeU64(view, VoteRequestLayout.epoch, 'epoch');
  const lastEpoch = readSafeU64(view, VoteRequestLayout.lastEpoch, 'last_epoch');
  const nextSeq = readSafeU64(view, VoteRequestLayout.nextSeq, 'next_seq');
  const flags = readFlags(view, VoteRequestLayout.flags, REQUEST_FLAGS, 'flags');
  return {
    kind: 'vote-request',
    channelId: readChannelId(bytes),
    epoch,
    lastEpoch,
    nextSeq,
    preVote: (flags & VoteRequestFlag.PreVote) !== 0,
    transfer: (flags & VoteRequestFlag.Transfer) !== 0,
  };
}

export function encodeVoteResponse(message: VoteResponse): Uint8Array {
  const name = 'VoteResponse';
  checkChannelId(name, message.channelId);
  checkSeq(name, 'epoch', message.epoch);
  checkBoolean(name, 'granted', message.granted);
  checkBoolean(name, 'preVote', message.preVote);
  const out = new Uint8Array(VoteResponseLayout.bytes);
  const view = new DataView(out.buffer);
  writeHead(out, view, DispatchCode.VoteResponse, message.channelId);
  writeU64(view, VoteResponseLayout.epoch, message.epoch);
  view.setUint8(
    VoteResponseLayout.flags,
    (message.preVote ? VoteResponseFlag.PreVote : 0) |
      (message.granted ? VoteResponseFlag.Granted : 0),
  );
  return out;
}

export function readVoteResponse(bytes: Uint8Array, view: DataView): VoteResponse {
  expectFrame(view, DispatchCode.VoteResponse, VoteResponseLayout.bytes);
  const epoch = readSafeU64(view, VoteResponseLayout.epoch, 'epoch');
  const flags = readFlags(view, VoteResponseLayout.flags, RESPONSE_FLAGS, 'flags');
  return {
    kind: 'vote-response',
    channelId: readChannelId(bytes),
    epoch,
    granted: (flags & VoteResponseFlag.Granted) !== 0,
    preVote: (flags & VoteResponseFlag.PreVote) !== 0,
  };
}

export function encodeStandNow(message: StandNow): Uint8Array {
  checkChannelId('StandNow', message.channelId);
  checkSeq('StandNow', 'epoch', message.epoch);
  const out = new Uint8Array(StandNowLayout.bytes);
  const view = new DataView(out.buffer);
  writeHead(out, view, DispatchCode.StandNow, message.channelId);
  writeU64(view, StandNowLayout.epoch, message.epoch);
  return out;
}

export function readStandNow(bytes: Uint8Array, view: DataView): StandNow {
  expectFrame(view, DispatchCode.StandNow, StandNowLayout.bytes);
  return {
    kind: 'stand-now',
    channelId: readChannelId(bytes),
    epoch: readSafeU64(view, StandNowLayout.epoch, 'epoch'),
  };
}
