// The public face of the codec: one encoder and one decoder per message, `encodeMessage` that
// dispatches on the message kind, and three decoders that dispatch on the code: `decodeAny` (the
// four replication messages, 0x20–0x23), `decodeQuorumMessage` (the election messages,
// 0x25–0x27) and `decodeAnyMessage` (all seven). Called by the mesh (frames in and out) and by
// the replication runtime (response sizing).
//
// Decoders are the first code a hostile peer reaches, so each one promises: it throws nothing
// but WireError, it accepts trailing bytes (later versions append fields), and it never sizes
// anything from a length field before the bytes are there. Decoded channel ids are copies;
// response payloads are views into the frame, so do not reuse a frame's buffer while they live.

import { asWireError, WireEncodeError, WireError } from './errors.js';
import { encodeHeartbeat, readHeartbeat } from './heartbeat.js';
import { encodeHeartbeatBatch, readHeartbeatBatch } from './heartbeat-batch.js';
import { encodeNack, readNack } from './nack.js';
import { readHeader, viewOf } from './read.js';
import { encodeRequest, readRequest } from './request.js';
import { encodeResponse, readResponse } from './response.js';
import {
  type AnyReplicationMessage,
  DispatchCode,
  type QuorumMessage,
  type ReplicationMessage,
  type StandNow,
  type SyncHeartbeat,
  type SyncNack,
  type SyncRequest,
  type SyncResponse,
  type VoteRequest,
  type VoteResponse,
} from './types.js';
import {
  encodeStandNow,
  encodeVoteRequest,
  encodeVoteResponse,
  readStandNow,
  readVoteRequest,
  readVoteResponse,
} from './vote.js';

export { batchFromHeartbeatFrames, isHeartbeatBatch } from './heartbeat-batch.js';
export { responseEncodedBytes } from './response.js';
export {
  encodeHeartbeat,
  encodeHeartbeatBatch,
  encodeNack,
  encodeRequest,
  encodeResponse,
  encodeStandNow,
  encodeVoteRequest,
  encodeVoteResponse,
};

export function decodeHeartbeat(bytes: Uint8Array): SyncHeartbeat {
  try {
    return readHeartbeat(bytes, viewOf(bytes));
  } catch (error) {
    throw asWireError(error);
  }
}

/** Decodes a HeartbeatBatch (0x28) into the single heartbeats it carries, in order. */
export function decodeHeartbeatBatch(bytes: Uint8Array): SyncHeartbeat[] {
  try {
    return readHeartbeatBatch(bytes, viewOf(bytes));
  } catch (error) {
    throw asWireError(error);
  }
}

export function decodeRequest(bytes: Uint8Array): SyncRequest {
  try {
    return readRequest(bytes, viewOf(bytes));
  } catch (error) {
    throw asWireError(error);
  }
}

export function decodeResponse(bytes: Uint8Array): SyncResponse {
  try {
    return readResponse(bytes, viewOf(bytes));
  } catch (error) {
    throw asWireError(error);
  }
}

export function decodeNack(bytes: Uint8Array): SyncNack {
  try {
    return readNack(bytes, viewOf(bytes));
  } catch (error) {
    throw asWireError(error);
  }
}

export function decodeVoteRequest(bytes: Uint8Array): VoteRequest {
  try {
    return readVoteRequest(bytes, viewOf(bytes));
  } catch (error) {
    throw asWireError(error);
  }
}

export function decodeVoteResponse(bytes: Uint8Array): VoteResponse {
  try {
    return readVoteResponse(bytes, viewOf(bytes));
  } catch (error) {
    throw asWireError(error);
  }
}

export function decodeStandNow(bytes: Uint8Array): StandNow {
  try {
    return readStandNow(bytes, viewOf(bytes));
  } catch (error) {
    throw asWireError(error);
  }
}

/** Whether `code` (a frame's third byte) is one of the election messages, 0x25–0x27. */
export function isQuorumDispatch(code: number | undefined): boolean {
  return (
    code === DispatchCode.VoteRequest ||
    code === DispatchCode.VoteResponse ||
    code === DispatchCode.StandNow
  );
}

function readReplication(bytes: Uint8Array, view: DataView, code: number): ReplicationMessage {
  switch (code) {
    case DispatchCode.SyncRequest:
      return readRequest(bytes, view);
    case DispatchCode.SyncResponse:
      return readResponse(bytes, view);
    case DispatchCode.SyncHeartbeat:
      return readHeartbeat(bytes, view);
    case DispatchCode.SyncNack:
      return readNack(bytes, view);
    default:
      throw new WireError({ kind: 'UnknownDispatch', code });
  }
}

function readQuorum(bytes: Uint8Array, view: DataView, code: number): QuorumMessage {
  switch (code) {
    case DispatchCode.VoteRequest:
      return readVoteRequest(bytes, view);
    case DispatchCode.VoteResponse:
      return readVoteResponse(bytes, view);
    case DispatchCode.StandNow:
      return readStandNow(bytes, view);
    default:
      throw new WireError({ kind: 'UnknownDispatch', code });
  }
}

/**
 * Decodes one of the four replication messages (0x20–0x23) by its dispatch code; any other
 * code, the election messages included, is UnknownDispatch. Check `.kind` on the result.
 */
export function decodeAny(bytes: Uint8Array): ReplicationMessage {
  try {
    const view = viewOf(bytes);
    return readReplication(bytes, view, readHeader(view));
  } catch (error) {
    throw asWireError(error);
  }
}

/** Decodes one of the election messages (0x25–0x27); any other code is UnknownDispatch. */
export function decodeQuorumMessage(bytes: Uint8Array): QuorumMessage {
  try {
    const view = viewOf(bytes);
    return readQuorum(bytes, view, readHeader(view));
  } catch (error) {
    throw asWireError(error);
  }
}

/** Decodes any of the seven messages (0x20–0x23, 0x25–0x27); check `.kind` on the result. */
export function decodeAnyMessage(bytes: Uint8Array): AnyReplicationMessage {
  try {
    const view = viewOf(bytes);
    const code = readHeader(view);
    return isQuorumDispatch(code)
      ? readQuorum(bytes, view, code)
      : readReplication(bytes, view, code);
  } catch (error) {
    throw asWireError(error);
  }
}

/** Encodes any message, election ones included; throws WireEncodeError naming a bad field. */
export function encodeMessage(message: AnyReplicationMessage): Uint8Array {
  switch (message.kind) {
    case 'heartbeat':
      return encodeHeartbeat(message);
    case 'request':
      return encodeRequest(message);
    case 'response':
      return encodeResponse(message);
    case 'nack':
      return encodeNack(message);
    case 'vote-request':
      return encodeVoteRequest(message);
    case 'vote-response':
      return encodeVoteResponse(message);
    case 'stand-now':
      return encodeStandNow(message);
    default:
      throw new WireEncodeError(
        'ReplicationMessage',
        'kind',
        'a known message kind',
        (message as { kind: unknown }).kind,
      );
  }
}
