// `redex-log/testing`: simulation and test support for code built on RedEX, kept out of the package
// root. A simulated network with fault hooks, virtual time, seeded randomness and an in-memory
// file system that can lose unsynced bytes, so a user's tests can run a cluster deterministically.
// The list is pinned by test/public-surface.test.ts.

export type { FileSystem, FsFile } from './log/disk/fs.js';
export { MemoryFileSystem } from './log/disk/memory-fs.js';
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
} from './mesh/sim-transport.js';
export { SeededRandom } from './time/random.js';
export { settle, VirtualClock } from './time/virtual-clock.js';
