// The public face of the codec: one encoder and one decoder per message, `encodeMessage` and
// `decodeAny` that dispatch on the message kind / dispatch code. Called by the mesh (frames in
// and out) and by the replication runtime (response sizing).
//
// Decoders are the first code a hostile peer reaches, so each one promises: it throws nothing
// but WireError, it accepts trailing bytes (later versions append fields), and it never sizes
// anything from a length field before the bytes are there. Decoded channel ids are copies;
// response payloads are views into the frame, so do not reuse a frame's buffer while they live.

import { asWireError, WireEncodeError, WireError } from './errors.js';
import { encodeHeartbeat, readHeartbeat } from './heartbeat.js';
import { encodeNack, readNack } from './nack.js';
import { readHeader, viewOf } from './read.js';
import { encodeRequest, readRequest } from './request.js';
import { encodeResponse, readResponse } from './response.js';
import {
  DispatchCode,
  type ReplicationMessage,
  type SyncHeartbeat,
  type SyncNack,
  type SyncRequest,
  type SyncResponse,
} from './types.js';

export { responseEncodedBytes } from './response.js';
export { encodeHeartbeat, encodeNack, encodeRequest, encodeResponse };

export function decodeHeartbeat(bytes: Uint8Array): SyncHeartbeat {
  try {
    return readHeartbeat(bytes, viewOf(bytes));
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

/** Decodes any replication message by its dispatch code; check `.kind` on the result. */
export function decodeAny(bytes: Uint8Array): ReplicationMessage {
  try {
    const view = viewOf(bytes);
    const code = readHeader(view);
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
  } catch (error) {
    throw asWireError(error);
  }
}

/** Encodes any replication message; throws WireEncodeError naming the field on a bad value. */
export function encodeMessage(message: ReplicationMessage): Uint8Array {
  switch (message.kind) {
    case 'heartbeat':
      return encodeHeartbeat(message);
    case 'request':
      return encodeRequest(message);
    case 'response':
      return encodeResponse(message);
    case 'nack':
      return encodeNack(message);
    default:
      throw new WireEncodeError(
        'ReplicationMessage',
        'kind',
        'a known message kind',
        (message as { kind: unknown }).kind,
      );
  }
}
