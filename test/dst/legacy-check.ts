// The checker the simulation ran before the history checker, still the default until replication
// has leader epochs. Its excuse: a seq that two leaders wrote with different payloads (a
// "conflict", see history.ts) is exempt from agreement and durability. The history checker
// (check-history.ts) has no such excuse; when it becomes the default, this file and history.ts go.

import type { RedexEvent } from '../../src/log/event.js';
import { History } from './history.js';
import type { FinalFindings, RunChecks } from './run-checks.js';
import type { SimCluster, SimNode } from './sim-cluster.js';

export class LegacyChecks implements RunChecks {
  readonly #history = new History();
  /** Per node: the start and the seq up to which its events were checked for validity. */
  readonly #checkedUpTo = new Map<SimNode, { start: number; seq: number }>();

  stored(writer: string, seq: number, payload: string, atMs: number): void {
    this.#history.record({ seq, payload, writer, atMs });
  }

  quorumAcknowledged(op: { payload: string }, seq: number): void {
    this.#history.commit(seq, op.payload);
  }

  observe(): void {}

  /**
   * Validity during the run, not only at the end: each node's new events are checked as they
   * appear. A crash may rewrite a node's tail, so its checked prefix restarts with each start.
   */
  async scan(cluster: SimCluster): Promise<string[]> {
    for (const node of cluster.upNodes()) {
      const file = node.file!;
      const mark = this.#checkedUpTo.get(node);
      const from = mark !== undefined && mark.start === node.starts ? mark.seq : 0;
      if (from >= file.nextSeq) continue;
      const invalid = invalidEvent(node, await file.readRange(from, file.nextSeq), this.#history);
      if (invalid !== null) return [invalid];
      this.#checkedUpTo.set(node, { start: node.starts, seq: file.nextSeq });
    }
    return [];
  }

  async final(cluster: SimCluster, failures: readonly string[]): Promise<FinalFindings> {
    const violations: string[] = [];
    if (failures.length === 0) await checkLogsExcusingConflicts(cluster, this.#history, violations);
    return { violations, notes: [], quorumAcknowledged: 0, quorumLost: 0, quorumLostOnMajority: 0 };
  }

  conflicts(): number {
    return this.#history.conflicts().length;
  }
}

const decoder = new TextDecoder();

/** Validity: nothing is invented, shifted or corrupted. The first event nobody wrote, described. */
function invalidEvent(
  node: SimNode,
  events: readonly RedexEvent[],
  history: History,
): string | null {
  for (const event of events) {
    const payload = decoder.decode(event.payload);
    if (!history.wrote(event.seq, payload)) {
      return `${node.name} holds at seq ${event.seq} a payload nobody wrote there: ${payload.slice(0, 40)}`;
    }
  }
  return null;
}

/** After convergence: agreement with the leader and durability of confirmed writes, conflicts excused. */
async function checkLogsExcusingConflicts(
  cluster: SimCluster,
  history: History,
  failures: string[],
): Promise<void> {
  const leader = cluster.leaders()[0]!;
  const conflicts = new Set(history.conflicts());
  const leaderEvents = await leader.file!.readRange(0, leader.file!.nextSeq);
  const leaderPayload = new Map(
    leaderEvents.map((event) => [event.seq, decoder.decode(event.payload)]),
  );
  for (const node of cluster.nodes) {
    const events = await node.file!.readRange(0, node.file!.nextSeq);
    const invalid = invalidEvent(node, events, history);
    if (invalid !== null) {
      failures.push(invalid);
      return;
    }
    for (const event of events) {
      const payload = decoder.decode(event.payload);
      // Agreement: equal to the leader's bytes except where two leaders wrote different payloads.
      const expected = leaderPayload.get(event.seq);
      if (expected !== undefined && expected !== payload && !conflicts.has(event.seq)) {
        failures.push(
          `${node.name} and leader ${leader.name} differ at seq ${event.seq} with no conflicting write`,
        );
        return;
      }
    }
  }
  // Durability: a write confirmed by waitForReplicas is on every node, unless it was a conflict.
  for (const [seq, payload] of history.committed) {
    if (conflicts.has(seq)) continue;
    for (const node of cluster.nodes) {
      const event = await node.file!.readOne(seq);
      if (event === null && (node.file!.firstSeq ?? node.file!.nextSeq) > seq) continue; // evicted by a skip
      if (event === null || decoder.decode(event.payload) !== payload) {
        failures.push(`${node.name} lost committed seq ${seq}`);
        return;
      }
    }
  }
}
