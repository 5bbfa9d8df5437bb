// The package root (`redex-log`): the library a user needs, chosen name by name. Simulation and
// test support is in `redex-log/testing` (src/testing.ts); everything else is internal. The list
// is pinned by test/public-surface.test.ts, so it cannot grow by accident.
//
// Layers, lowest first; each imports only from the layers before it:
//   time, errors  →  wire, log  →  replication  →  mesh  →  cluster (composition: startMeshNode)
//   →  node (the daemon)  →  cli
// wire and log are siblings (neither imports the other). The mesh is the replication host, so it
// sits above replication and may use the log's channel-name rules (a downward import).

export {
  formatMeshAddress,
  type MeshMemberSpec,
  type MeshNodeSpec,
  type MeshTransportTuning,
  parseMeshAddress,
  type ResolvedMeshMember,
  type StartedMeshNode,
  startMeshNode,
} from './cluster/start-node.js';
export { RedexError, RedexErrorCode } from './errors/redex-error.js';

export { CHANNEL_NAME_BYTES_MAX, validateChannelName } from './log/channel-name.js';
export type { FsyncPolicy, RedexFileConfig, RetentionPolicy } from './log/config.js';
export {
  ChannelNameError,
  type ChannelNameRule,
  ClosedError,
  CorruptError,
  IoError,
  LaggedError,
  NotLeaderError,
  ReplicationTimeoutError,
  SeqMismatchError,
} from './log/errors.js';
export type { RedexEvent } from './log/event.js';
export { Redex, type RedexOptions } from './log/redex.js';
export { RedexFile, type TailOptions, type WaitForReplicasOptions } from './log/redex-file.js';
export { RedexTail } from './log/tail.js';
export {
  type CaOptions,
  type CertificateMaterial,
  createCa,
  createNodeCert,
  initCa,
  issueNodeCert,
  loadCa,
  loadNodeCredentials,
  type NodeCertificateMaterial,
  type NodeCertOptions,
  nodeIdOfCertFile,
  type ValidityOptions,
  type WriteOptions,
  type WrittenFiles,
} from './mesh/certs.js';
export { MeshError, MeshErrorReason } from './mesh/errors.js';
export { type MeshCredentials, nodeIdFromCertificate } from './mesh/identity.js';
export { MeshNode, type MeshNodeOptions } from './mesh/mesh-node.js';
export {
  type MeshAddress,
  MeshTransport,
  type MeshTransportOptions,
  type PeerAddress,
} from './mesh/transport.js';
export type { Transport } from './mesh/types.js';
export {
  DEFAULT_REPLICATION_CONFIG,
  FACTOR_MAX,
  FACTOR_MIN,
  HEARTBEAT_MS_MAX,
  HEARTBEAT_MS_MIN,
  PINNED_NODES_MAX,
  PINNED_NODES_MIN,
  type PlacementConfig,
  type ReplicationConfig,
  ReplicationConfigError,
  type ReplicationConfigInput,
  type ReplicationConfigOptions,
  type SyncClassName,
  type UnderCapacityPolicy,
} from './replication/config.js';
export { enableReplication, replicatorOf } from './replication/enable.js';
export type { ReplicationHost } from './replication/host.js';
export { ReplicationMetrics } from './replication/metrics.js';
export type { ReplicatedChannel, Replicator } from './replication/replicator.js';

export type { Clock, TimerHandle } from './time/clock.js';
export { type Random, SystemRandom, systemRandom } from './time/random.js';
export { SystemClock, systemClock } from './time/system-clock.js';
export { VirtualClock } from './time/virtual-clock.js';

export { isNodeId, nodeIdToHex } from './wire/ids.js';
export { type ChannelId, type NodeId, Role } from './wire/types.js';
