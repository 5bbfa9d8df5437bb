// The mesh's Prometheus series, registered on a node's `ReplicationMetrics` registry by `MeshNode`.
// They read the transport's and the mesh node's own counters at scrape time (prom-client
// `collect`), so the hot paths keep incrementing plain numbers and nothing is double-counted.
// Connected peers and RTT go through the existing `redex_mesh_connected_peers` and
// `redex_mesh_peer_rtt_seconds` gauges of metrics.ts instead (see `MeshNode`).
//
// Label cardinality: `direction` 2, `reason` and `event` fixed sets, `peer` (a member's name
// where the source knows one, else the NodeId in hex) at most
// `PEER_LABELS_MAX` (the transport remembers at most that many peers; any beyond share
// `__overflow__`). Per-peer drops are exported only for reasons that happened.

import { Counter, type Registry } from 'prom-client';
import { OVERFLOW_LABEL, PEER_LABELS_MAX } from '../replication/metrics.js';
import { nodeIdToHex } from '../wire/ids.js';
import type { NodeId } from '../wire/types.js';
import { MeshError, MeshErrorReason } from './errors.js';
import type { PeerSnapshot, TransportStats } from './types.js';

/** What the series read when scraped. */
export interface MeshMetricsSource {
  transportStats(): TransportStats;
  peers(): PeerSnapshot[];
  /** Inbound frames the mesh node dropped before or at routing, by reason. */
  inboundDrops(): Readonly<Record<string, number>>;
  /** Inbound replication frames handed to a channel's runtime. */
  routed(): number;
  chainTagsIn(): number;
  chainTagsOut(): number;
  /** The `peer` label of a NodeId (a member name when known); default: the NodeId in hex. */
  peerLabel?(nodeId: NodeId): string;
}

/** Transport-wide connection counters exported as `redex_mesh_connection_events_total{event}`. */
const CONNECTION_EVENTS = {
  accepted: 'connectionsAccepted',
  dialed: 'connectionsDialed',
  dial_failure: 'dialFailures',
  handshake_failure: 'handshakeFailures',
  handshake_timeout: 'handshakeTimeouts',
  bad_peer_key: 'badPeerKeys',
  duplicate_closed: 'duplicatesClosed',
  self_connection: 'selfConnections',
  unexpected_peer: 'unexpectedPeers',
  peer_refused: 'peersRefused',
  idle_timeout: 'idleTimeouts',
  handshake_evicted: 'handshakesEvicted',
  duplicate_identity: 'duplicateIdentities',
} as const satisfies Record<string, keyof TransportStats>;

/** Names this module registers (a registry holds one mesh node's series at a time). */
export const MESH_METRIC_NAMES = [
  'redex_mesh_frames_total',
  'redex_mesh_bytes_total',
  'redex_mesh_write_batches_total',
  'redex_mesh_dropped_frames_total',
  'redex_mesh_connection_events_total',
  'redex_mesh_peer_frames_total',
  'redex_mesh_peer_bytes_total',
  'redex_mesh_peer_dropped_frames_total',
  'redex_mesh_inbound_dropped_total',
  'redex_mesh_frames_routed_total',
  'redex_mesh_chain_tags_total',
] as const;

function peerLabels(
  peers: readonly PeerSnapshot[],
  labelOf: (nodeId: NodeId) => string,
): Map<string, PeerSnapshot[]> {
  const byLabel = new Map<string, PeerSnapshot[]>();
  for (const peer of peers) {
    let label = labelOf(peer.nodeId);
    if (!byLabel.has(label) && byLabel.size >= PEER_LABELS_MAX) label = OVERFLOW_LABEL;
    const list = byLabel.get(label);
    if (list === undefined) byLabel.set(label, [peer]);
    else list.push(peer);
  }
  return byLabel;
}

/**
 * Registers the mesh series on `registry`, reading `source` at scrape time. Returns the function
 * that removes them. A registry that already has them (another mesh node) is a MESH_CONFIG error.
 */
export function registerMeshMetrics(registry: Registry, source: MeshMetricsSource): () => void {
  for (const name of MESH_METRIC_NAMES) {
    if (registry.getSingleMetric(name) !== undefined) {
      throw new MeshError(
        MeshErrorReason.Config,
        `metrics registry already has ${name}: one mesh node per ReplicationMetrics`,
      );
    }
  }
  const registers = [registry];
  const labelOf = (nodeId: NodeId) => source.peerLabel?.(nodeId) ?? nodeIdToHex(nodeId);
  // Each collect rebuilds its series from the source's totals: reset, then add the current value.
  // A series counted in and out: `read` gives [in, out] at scrape time.
  const byDirection = (name: string, help: string, read: () => readonly [number, number]) =>
    new Counter({
      name,
      help,
      labelNames: ['direction'] as const,
      registers,
      collect() {
        const [countIn, countOut] = read();
        this.reset();
        this.inc({ direction: 'in' }, countIn);
        this.inc({ direction: 'out' }, countOut);
      },
    });
  // The same per peer: `pick` gives [in, out] of one peer's snapshot.
  const byPeerAndDirection = (
    name: string,
    help: string,
    pick: (snapshot: PeerSnapshot) => readonly [number, number],
  ) =>
    new Counter({
      name,
      help,
      labelNames: ['peer', 'direction'] as const,
      registers,
      collect() {
        this.reset();
        for (const [peer, snapshots] of peerLabels(source.peers(), labelOf)) {
          for (const snapshot of snapshots) {
            const [countIn, countOut] = pick(snapshot);
            this.inc({ peer, direction: 'in' }, countIn);
            this.inc({ peer, direction: 'out' }, countOut);
          }
        }
      },
    });
  byDirection(
    'redex_mesh_frames_total',
    'Frames through the mesh transport (replication and control), by direction.',
    () => {
      const stats = source.transportStats();
      return [stats.framesIn, stats.framesOut];
    },
  );
  byDirection(
    'redex_mesh_bytes_total',
    'Frame body bytes through the mesh transport, by direction.',
    () => {
      const stats = source.transportStats();
      return [stats.bytesIn, stats.bytesOut];
    },
  );
  new Counter({
    name: 'redex_mesh_write_batches_total',
    help: 'Socket writes, each carrying every frame queued to one connection in one turn.',
    registers,
    collect() {
      this.reset();
      this.inc(source.transportStats().writeBatches);
    },
  });
  new Counter({
    name: 'redex_mesh_dropped_frames_total',
    help: 'Frames the mesh transport dropped, by reason (docs/MESH.md "Counters").',
    labelNames: ['reason'] as const,
    registers,
    collect() {
      const drops = source.transportStats().drops;
      this.reset();
      for (const [reason, count] of Object.entries(drops)) this.inc({ reason }, count);
    },
  });
  new Counter({
    name: 'redex_mesh_connection_events_total',
    help: 'Mesh connection outcomes: accepted, dialed, and every kind of refusal or failure.',
    labelNames: ['event'] as const,
    registers,
    collect() {
      const stats = source.transportStats();
      this.reset();
      for (const [event, field] of Object.entries(CONNECTION_EVENTS)) {
        this.inc({ event }, stats[field]);
      }
    },
  });
  byPeerAndDirection(
    'redex_mesh_peer_frames_total',
    'Frames exchanged with each peer, by direction.',
    ({ stats }) => [stats.framesIn, stats.framesOut],
  );
  byPeerAndDirection(
    'redex_mesh_peer_bytes_total',
    'Frame body bytes exchanged with each peer, by direction.',
    ({ stats }) => [stats.bytesIn, stats.bytesOut],
  );
  new Counter({
    name: 'redex_mesh_peer_dropped_frames_total',
    help: 'Frames to or from each peer that the transport dropped, by reason (only reasons seen).',
    labelNames: ['peer', 'reason'] as const,
    registers,
    collect() {
      this.reset();
      for (const [peer, snapshots] of peerLabels(source.peers(), labelOf)) {
        for (const snapshot of snapshots) {
          for (const [reason, count] of Object.entries(snapshot.stats.drops)) {
            if (count > 0) this.inc({ peer, reason }, count);
          }
        }
      }
    },
  });
  new Counter({
    name: 'redex_mesh_inbound_dropped_total',
    help: 'Inbound RedEX frames the mesh node dropped, by reason (malformed, unknown-channel, inbox-full, not-replica, non-member, bad-chain-tag, chain-tag-table-full).',
    labelNames: ['reason'] as const,
    registers,
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(source.inboundDrops())) {
        this.inc({ reason }, count);
      }
    },
  });
  new Counter({
    name: 'redex_mesh_frames_routed_total',
    help: "Inbound replication frames handed to a channel's runtime.",
    registers,
    collect() {
      this.reset();
      this.inc(source.routed());
    },
  });
  byDirection(
    'redex_mesh_chain_tags_total',
    'ChainTag (0x24) messages received and queued, by direction.',
    () => [source.chainTagsIn(), source.chainTagsOut()],
  );
  return () => {
    for (const name of MESH_METRIC_NAMES) registry.removeSingleMetric(name);
  };
}
