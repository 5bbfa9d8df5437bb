// What the simulation asks of a checker while a run goes on and when it ends; `StrictChecks` (the
// history checker) implements it.

import type { AppendOp } from './recorder.js';
import type { SimCluster } from './sim-cluster.js';

export interface FinalFindings {
  readonly violations: string[];
  readonly notes: string[];
  readonly quorumAcknowledged: number;
  readonly quorumLost: number;
  readonly quorumLostOnMajority: number;
}

export interface RunChecks {
  /** The leader stored an append at `seq` (before any quorum wait). */
  stored(writer: string, seq: number, payload: string, atMs: number): void;
  quorumAcknowledged(op: AppendOp, seq: number, atMs: number): void;
  /** After every step. */
  observe(cluster: SimCluster): void;
  /** Now and then during the fault phase; what it returns ends the phase as a failure. */
  scan(cluster: SimCluster): Promise<string[]>;
  /** After heal and convergence; `failures` are what the run found before. */
  final(cluster: SimCluster, failures: readonly string[]): Promise<FinalFindings>;
  /** Seqs two leaders wrote with different payloads (a statistic). */
  conflicts(): number;
}
