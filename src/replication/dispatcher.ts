// The runtime's outbound side (the seed's `ReplicationDispatcher` trait): four sends to a NodeId.
// The mesh implements it (issue 7); tests use a recorder. "Resolved" means queued to the
// transport, not delivered: a transport that drops a frame after resolving must surface the loss
// some other way (heartbeat lag, the replica's confirmed tail), and the leader's bandwidth budget
// is only refunded on a rejected send.

import { encodeMessage } from '../wire/codec.js';
import type {
  AnyReplicationMessage,
  NodeId,
  QuorumMessage,
  SyncHeartbeat,
  SyncNack,
  SyncRequest,
  SyncResponse,
} from '../wire/types.js';

export interface ReplicationDispatcher {
  sendHeartbeat(target: NodeId, message: SyncHeartbeat): Promise<void>;
  sendSyncRequest(target: NodeId, message: SyncRequest): Promise<void>;
  sendSyncResponse(target: NodeId, message: SyncResponse): Promise<void>;
  sendSyncNack(target: NodeId, message: SyncNack): Promise<void>;
  /** Election messages: vote requests and answers, and a leadership transfer's "stand now". */
  sendQuorum(target: NodeId, message: QuorumMessage): Promise<void>;
}

/** Sends one encoded RedEX frame (it starts `00 0e`) to `target`; resolves once queued. */
export type FrameSender = (target: NodeId, frame: Uint8Array) => Promise<void>;

/** A dispatcher that encodes each message with the wire codec and hands the bytes to `send`. */
export function frameDispatcher(send: FrameSender): ReplicationDispatcher {
  const encoded = (target: NodeId, message: AnyReplicationMessage): Promise<void> => {
    let frame: Uint8Array;
    try {
      frame = encodeMessage(message);
    } catch (error) {
      return Promise.reject(error);
    }
    return send(target, frame);
  };
  return {
    sendHeartbeat: encoded,
    sendSyncRequest: encoded,
    sendSyncResponse: encoded,
    sendSyncNack: encoded,
    sendQuorum: encoded,
  };
}
