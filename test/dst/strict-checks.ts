// The history checker wired to a running simulation: per step it shows the StepChecker every
// node's view, now and then the events each node gained (validity against the recorded appends,
// and the committed map / log-matching rules), and at the end it reads every final log for
// checkHistory. Everything it finds is a plain message naming node, seq and payload.

import type { RedexEvent } from '../../src/log/event.js';
import { checkHistory, type FinalLog, quorumAcknowledged, show } from './check-history.js';
import { StepChecker } from './check-steps.js';
import { majorityOf } from './client.js';
import { viewOf } from './node-view.js';
import type { AppendOp, Recorder } from './recorder.js';
import type { FinalFindings, RunChecks } from './run-checks.js';
import type { SimCluster, SimNode } from './sim-cluster.js';
import type { Trace } from './trace.js';

const decoder = new TextDecoder();

export class StrictChecks implements RunChecks {
  readonly steps = new StepChecker();
  readonly #recorder: Recorder;
  readonly #byPayload = new Map<string, AppendOp>();
  readonly #trace: Trace;
  /** Findings already copied into the trace. */
  #traced = 0;
  /** Per node: the life and the seq up to which its events were scanned. */
  readonly #scanned = new Map<SimNode, { life: number; seq: number }>();

  constructor(recorder: Recorder, trace: Trace) {
    this.#recorder = recorder;
    this.#trace = trace;
  }

  stored(): void {}

  /** Seqs at which the leaders of the run stored different payloads. */
  conflicts(): number {
    const stored = new Map<number, string>();
    const conflicting = new Set<number>();
    for (const op of this.#recorder.appends) {
      const seq = op.outcome?.kind === 'failed' ? undefined : op.outcome?.seq;
      if (seq === undefined) continue;
      const other = stored.get(seq);
      if (other === undefined) stored.set(seq, op.payload);
      else if (other !== op.payload) conflicting.add(seq);
    }
    return conflicting.size;
  }

  quorumAcknowledged(op: AppendOp, seq: number, atMs: number): void {
    this.steps.commit(seq, op.payload, `quorum-acknowledged #${op.id} on ${op.node}`, atMs);
    this.#traceFindings();
  }

  observe(cluster: SimCluster): void {
    this.steps.observe(cluster.nodes.map(viewOf), cluster.clock.nowMs());
    this.#traceFindings();
  }

  /** Findings go into the trace as well, so a verbose replay shows them where they happened. */
  #traceFindings(): void {
    const violations = this.steps.violations;
    for (; this.#traced < violations.length; this.#traced++)
      this.#trace.add(`VIOLATION ${violations[this.#traced]}`);
  }

  /**
   * Reads what each node gained since the last scan (from its commitSeq when it has one, since
   * the uncommitted suffix may have been rewritten) and judges it.
   */
  async scan(cluster: SimCluster): Promise<string[]> {
    const atMs = cluster.clock.nowMs();
    for (const node of cluster.upNodes()) {
      const file = node.file!;
      const view = viewOf(node);
      const mark = this.#scanned.get(node);
      let from = mark !== undefined && mark.life === node.starts ? mark.seq : 0;
      from = Math.min(from, file.nextSeq, view.commitSeq ?? from);
      from = Math.max(from, file.firstSeq ?? file.nextSeq);
      const to = file.nextSeq; // appends during the read are for the next scan
      if (from >= to) continue;
      const events = toDelivered(await file.readRange(from, to));
      for (const event of events) {
        const invalid = this.#judge(event.seq, event.payload);
        if (invalid !== null)
          this.steps.report(
            '1-valid',
            `at ${atMs} ms ${node.name} holds ${show(event.payload)}@${event.seq}: ${invalid}`,
          );
      }
      this.steps.entries(view, events, atMs);
      this.#scanned.set(node, { life: node.starts, seq: to });
    }
    this.#traceFindings();
    return []; // findings do not end the fault phase: the whole run gets judged
  }

  /**
   * After heal: every node's log against the whole history. Runs even after other failures (a
   * run that did not converge is judged too), as long as every node is up to be read.
   */
  async final(cluster: SimCluster): Promise<FinalFindings> {
    if (cluster.upNodes().length !== cluster.nodes.length)
      return {
        violations: [],
        notes: [],
        quorumAcknowledged: 0,
        quorumLost: 0,
        quorumLostOnMajority: 0,
      };
    const logs: FinalLog[] = [];
    for (const node of cluster.nodes) {
      const file = node.file!;
      logs.push({
        node: node.name,
        firstSeq: file.firstSeq ?? file.nextSeq,
        events: toDelivered(await file.readRange(0, file.nextSeq, { isolation: 'uncommitted' })),
      });
    }
    const report = checkHistory(this.#recorder, logs);
    const acked = quorumAcknowledged(this.#recorder);
    const maps = logs.map((log) => new Map(log.events.map((event) => [event.seq, event.payload])));
    const missingOn = (op: { seq: number; payload: string }) =>
      maps.filter((map, index) => op.seq >= logs[index]!.firstSeq && map.get(op.seq) !== op.payload)
        .length;
    const lost = acked.filter((op) => missingOn(op) > 0).length;
    const lostOnMajority = acked.filter((op) => missingOn(op) >= majorityOf(logs.length)).length;
    return {
      violations: [...this.steps.violations, ...report.violations],
      notes: [
        ...this.steps.notes(),
        ...report.notes,
        ...(this.#recorder.droppedDeliveries > 0
          ? [
              `reads/tails: ${this.#recorder.droppedDeliveries} deliveries past the recording limit not checked`,
            ]
          : []),
      ],
      quorumAcknowledged: acked.length,
      quorumLost: lost,
      quorumLostOnMajority: lostOnMajority,
    };
  }

  /** Why a stored (seq, payload) is impossible, or null when some client could have put it there. */
  #judge(seq: number, payload: string): string | null {
    const appends = this.#recorder.appends;
    for (let i = this.#byPayload.size; i < appends.length; i++)
      this.#byPayload.set(appends[i]!.payload, appends[i]!);
    const op = this.#byPayload.get(payload);
    if (op === undefined) return 'no client appended it';
    const outcome = op.outcome;
    if (outcome === null) return null;
    if (outcome.kind === 'failed') return `append #${op.id} failed (${outcome.code})`;
    if (outcome.seq !== undefined && outcome.seq !== seq)
      return `append #${op.id} was stored at seq ${outcome.seq}`;
    return null;
  }
}

function toDelivered(events: readonly RedexEvent[]): { seq: number; payload: string }[] {
  return events.map((event) => ({ seq: event.seq, payload: decoder.decode(event.payload) }));
}

/** The last client operations, one a line, for a failure report. */
export function historyTail(recorder: Recorder, lines = 15): string {
  return recorder.appends
    .slice(-lines)
    .map((op) => {
      const outcome = op.outcome;
      const result =
        outcome === null
          ? 'pending'
          : outcome.kind === 'ok'
            ? `ok(${outcome.seq})`
            : outcome.kind === 'failed'
              ? `failed(${outcome.code})`
              : `unknown(${outcome.reason}${outcome.seq === undefined ? '' : ` @${outcome.seq}`})`;
      return `#${op.id} ${op.node} ${op.acks} ${show(op.payload)} ${op.invokeMs}→${op.completeMs ?? '?'} ${result}`;
    })
    .join('\n');
}
