// The public mesh API: the `Transport` contract, the mutual-TLS `MeshTransport`, the simulated
// `SimTransport`, certificates and identity, `MeshNode` (the replication host over a transport,
// with chain tags). `startMeshNode`, which composes a node, lives above this layer in
// src/cluster/. Layers above import from here.

export { backoffDelayMs, RECONNECT_DELAY_MS_MAX } from './backoff.js';
export {
  CA_CERT_FILE,
  CA_KEY_FILE,
  CA_VALIDITY_DAYS_DEFAULT,
  type CaOptions,
  CERT_HOSTS_MAX,
  type CertificateMaterial,
  CLOCK_SKEW_ALLOWANCE_MS,
  createCa,
  createNodeCert,
  initCa,
  issueNodeCert,
  loadCa,
  loadNodeCredentials,
  NODE_NAME_BYTES_MAX,
  NODE_VALIDITY_DAYS_DEFAULT,
  type NodeCertificateMaterial,
  type NodeCertOptions,
  nodeIdOfCertFile,
  VALIDITY_DAYS_MAX,
  type ValidityOptions,
  validateNodeName,
  type WriteOptions,
  type WrittenFiles,
} from './certs.js';
export {
  CHAIN_TAG_DISPATCH,
  CHAIN_TAG_HOLDERS_PER_ORIGIN_MAX,
  CHAIN_TAG_ORIGINS_MAX,
  type ChainHolder,
  ChainHolderTable,
  type ChainTag,
  ChainTagError,
  ChainTagErrorKind,
  type ChainTagKind,
  ChainTagKindByte,
  ChainTagLayout,
  compareHolders,
  decodeChainTag,
  encodeChainTag,
  type HolderUpdate,
  isChainTagFrame,
} from './chain-tag.js';
export type { ConnectionDirection, ConnectionState } from './connection.js';
export {
  CONTROL_FRAME_BYTES,
  classifyFrame,
  encodeControl,
  type FrameKind,
  isReplicationFrame,
  MeshControl,
  SUBPROTOCOL_MESH,
} from './control.js';
export { MeshError, MeshErrorReason } from './errors.js';
export {
  encodeFrame,
  encodeFrameHeader,
  FRAME_BODY_BYTES_MAX,
  FRAME_COPY_BYTES_MAX,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  type FrameFailure,
  packFrames,
  SYNC_CHUNK_BYTES_MAX,
} from './framing.js';
export {
  checkCredentials,
  ed25519PublicKeyFromCertificate,
  ed25519RawPublicKey,
  type MeshCredentials,
  type NodeIdentity,
  nodeIdFromCertificate,
} from './identity.js';
export { MESH_METRIC_NAMES, type MeshMetricsSource, registerMeshMetrics } from './mesh-metrics.js';
export {
  LOCAL_HOLDINGS_MAX,
  MEMBERS_MAX,
  type MeshAddresses,
  MeshDrop,
  type MeshMembers,
  MeshNode,
  type MeshNodeOptions,
  type MeshNodeStats,
  memberPredicate,
} from './mesh-node.js';
export {
  SIM_DELAY_MS_MAX,
  SIM_FAULTS_DEFAULT,
  SIM_IN_FLIGHT_MAX,
  SIM_NODES_MAX,
  SIM_TRACE_ENTRIES_MAX,
  type SimFaults,
  SimNetwork,
  type SimNetworkOptions,
  type SimTraceEntry,
  type SimTraceEvent,
  SimTransport,
} from './sim-transport.js';
export {
  type ConnectionInfo,
  DIAL_TARGETS_MAX,
  MESH_DEFAULTS,
  type MeshAddress,
  MeshTransport,
  type MeshTransportOptions,
  PEERS_MAX,
  PENDING_WRITE_BYTES_MAX,
  type PeerAddress,
  SERVER_CONNECTIONS_MAX,
} from './transport.js';
export {
  type DropCounts,
  DropReason,
  type FrameHandler,
  type PeerEvent,
  type PeerHandler,
  type PeerSnapshot,
  type PeerStats,
  RTT_SMOOTHING,
  type Transport,
  type TransportStats,
} from './types.js';
