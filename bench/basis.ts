// What makes two benchmark figures comparable: the same entry point (how the writer reaches the
// system) and the same guarantee (what a write has become when it counts). The summary puts a
// ratio only between figures whose basis is equal; every row of docs/BENCHMARKS.md shows it.
//
// Figures that carry `entry` and `guarantee` (bench:daemon) are taken as they are. The suites
// written before those fields (bench:peers, bench:replication, bench:jetstream) are described
// here from their ids and systems, which those suites fix.

import type { Figure } from './report.js';

export interface Basis {
  readonly entry: string;
  readonly guarantee: string;
}

const IN_PROCESS = 'in-process library call';
const REDEX_LEADER = 'in-process append on the leader node (no client hop)';
/**
 * bench:quorum's rows: the same entry point as bench:replication's (the harness commands the
 * leader's process over IPC; the time is taken inside it).
 */
export const QUORUM_ENTRY = REDEX_LEADER;
export const FIRST_WRITE_ACCEPTED =
  "first write accepted (acks 'quorum') by the new leader, on disk, not fsynced";
const NATS_CLIENT = 'NATS client over TCP (a network hop to the server)';
const OWN_REPLICATION = "the system's own replication, process to process";
const MEMORY = 'in process memory, not durable';
const DISK_NO_FSYNC = 'on disk, not fsynced';

export function basisOf(figure: Figure): Basis | null {
  if (figure.entry !== undefined && figure.guarantee !== undefined) {
    return { entry: figure.entry, guarantee: figure.guarantee };
  }
  const { id, kind, system } = figure;
  if (id.startsWith('append.')) {
    return { entry: IN_PROCESS, guarantee: localGuarantee(figure) };
  }
  if (id.startsWith('catchup.')) {
    return { entry: OWN_REPLICATION, guarantee: id === 'catchup.disk' ? DISK_NO_FSYNC : MEMORY };
  }
  if (id.startsWith('replication.') || id === 'failover') {
    const memory = id.includes('memory') || system.includes('in-memory');
    const entry = kind === 'jetstream' ? NATS_CLIENT : REDEX_LEADER;
    const stored = kind === 'jetstream' ? 'file stream, not fsynced per message' : DISK_NO_FSYNC;
    const where = memory ? MEMORY : stored;
    if (id.startsWith('replication.throughput'))
      return { entry, guarantee: `held by all 3, ${where}` };
    if (id.startsWith('replication.visible')) {
      const seen = kind === 'jetstream' ? 'delivered to a consumer' : 'readable on a replica';
      return { entry, guarantee: `${seen}, ${where}` };
    }
    if (id.startsWith('replication.acked')) return { entry, guarantee: `held by 2 of 3, ${where}` };
    return { entry, guarantee: `first write accepted, ${where}` };
  }
  return null;
}

function localGuarantee(figure: Figure): string {
  const s = figure.system;
  if (s.includes('in-memory') || s.includes('random-access-memory')) return MEMORY;
  if (s.includes('tmpfs')) return 'tmpfs file (survives the process, not a reboot), not fsynced';
  if (figure.kind === 'hypercore' || s.includes("fsync 'never'")) return DISK_NO_FSYNC;
  const policy = /fsync (.+)$/.exec(s)?.[1] ?? '?';
  return `on disk, fsync ${policy}`;
}

/** Why two figures get no ratio, or null when they are comparable. */
export function incomparable(a: Figure, b: Figure): string | null {
  const x = basisOf(a);
  const y = basisOf(b);
  if (x === null || y === null) return 'basis not recorded';
  if (x.entry !== y.entry) return 'different entry point';
  if (x.guarantee !== y.guarantee) return 'different guarantee';
  return null;
}
