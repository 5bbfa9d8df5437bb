// What a node provides to replicate its channels (`enableReplication(redex, host)`). The mesh
// implements it (issue 7, `MeshNode`); tests build one over an in-process cluster. The log
// supplies the clock and the randomness; the host supplies identity, membership and transport.

import type { NodeId } from '../wire/types.js';
import type { ChainTagSink } from './coordinator.js';
import type { ReplicationDispatcher } from './dispatcher.js';
import type { ReplicationMetrics } from './metrics.js';
import type { NodeBeatsView } from './node-beats.js';
import type { ReplicationRouter } from './router.js';
import type { TickScheduler } from './tick-scheduler.js';

/** 1 Gbit/s: the NIC peak assumed when the host does not measure one. */
export const NIC_PEAK_BPS_DEFAULT = 125_000_000;

export interface ReplicationHost {
  /** This node's NodeId (from its certificate). */
  readonly selfId: NodeId;
  /**
   * The cluster members standard placement chooses from (this node is always counted). Read when
   * a replicated file opens; every node must see the same set for placement to agree.
   */
  members(): Iterable<NodeId>;
  /** Ships the runtimes' outbound messages. */
  readonly dispatcher: ReplicationDispatcher;
  /** Where runtimes register; the host feeds its inbound RedEX frames to it. */
  readonly router: ReplicationRouter;
  /** Where clients reach `node` (for NOT_LEADER errors); null or absent when unknown. */
  addressOf?(node: NodeId): string | null | undefined;
  /** Chain-tag advertisement (docs/DESIGN.md#chain-tags); default: none. */
  readonly chainTags?: ChainTagSink;
  /** Metrics registry of this node; default: a private one per `Redex`. */
  readonly metrics?: ReplicationMetrics;
  /** Measured NIC peak in bytes per second; default `NIC_PEAK_BPS_DEFAULT`. */
  readonly nicPeakBps?: number;
  /** One tick grid for every channel of the node; absent: each runtime keeps its own timer. */
  readonly ticks?: TickScheduler;
  /**
   * The node's beat table (docs/DESIGN.md#node-beats), when it sends a NodeBeat to each peer at
   * every beat of `ticks`: its channels then leave out unchanged heartbeats. Needs `ticks`.
   */
  readonly beats?: NodeBeatsView;
}
