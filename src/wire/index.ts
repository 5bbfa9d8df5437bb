// The public wire API: message types, the codec, ids and their errors. Everything above the wire
// layer imports from here, not from the individual files.

export {
  decodeAny,
  decodeAnyMessage,
  decodeHeartbeat,
  decodeHeartbeatBatch,
  decodeNack,
  decodeQuorumMessage,
  decodeRequest,
  decodeResponse,
  decodeStandNow,
  decodeVoteRequest,
  decodeVoteResponse,
  encodeHeartbeat,
  encodeHeartbeatBatch,
  encodeMessage,
  encodeNack,
  encodeRequest,
  encodeResponse,
  encodeStandNow,
  encodeVoteRequest,
  encodeVoteResponse,
  isHeartbeatBatch,
  isQuorumDispatch,
  responseEncodedBytes,
} from './codec.js';
export {
  NodeIdError,
  type NodeIdProblem,
  WireEncodeError,
  WireError,
  type WireErrorDetail,
  WireErrorKind,
} from './errors.js';
export { responseEventCount, responsePayloadBytes, skipResponseEvents } from './event-run.js';
export { bytesToHex, hexToBytes } from './hex.js';
export {
  channelIdEquals,
  channelIdFromHex,
  channelIdFromName,
  channelIdToHex,
  ED25519_PUBLIC_KEY_BYTES,
  isNodeId,
  nodeIdFromPublicKey,
  nodeIdToHex,
} from './ids.js';
export {
  CHANNEL_ID_BYTES,
  EPOCH_RUN_BYTES,
  EPOCH_RUNS_MAX,
  EVENT_HEADER_BYTES,
  HEARTBEAT_BATCH_MAX,
  Heartbeat as HeartbeatLayout,
  HeartbeatBatch as HeartbeatBatchLayout,
  HeartbeatBatchFlag,
  NACK_DETAIL_BYTES_MAX,
  Nack as NackLayout,
  NackDiverged as NackDivergedLayout,
  Request as RequestLayout,
  Response as ResponseLayout,
  ResponseQuorum as ResponseQuorumLayout,
  StandNow as StandNowLayout,
  VoteRequest as VoteRequestLayout,
  VoteRequestFlag,
  VoteResponse as VoteResponseLayout,
  VoteResponseFlag,
} from './layout.js';
export { decodeNodeBeat, encodeNodeBeat, isNodeBeat } from './node-beat.js';
export * from './types.js';
