// The history checker: judges what clients saw (recorder.ts) against the nodes' final logs after
// heal and convergence. Pure: no clock, no cluster, so hand-built histories test it. It has no
// excuses — two leaders writing one seq is a finding, not a reason to skip that seq.
//
// 1. A quorum-acknowledged append (s, p) is at s in every final log and p appears nowhere else; an
//    append acknowledged by the leader only may be lost but never moved; one with an unknown
//    outcome appears at most once (and at its seq, if the client learned one); a failed one
//    appears nowhere; nothing appears that no client wrote.
// 2. The final logs of the replica set are byte-identical, and no two quorum-acknowledged appends
//    share a seq (the per-step half of this rule is in check-steps.ts).
// 3. Every committed read or tail delivery is a contiguous slice of the final log.
// 4. If quorum-acknowledged A completed before B was invoked, seq(A) < seq(B).

import type { AppendOp, DeliveredEvent, ReadOp, TailSession } from './recorder.js';

export interface HistoryView {
  readonly appends: readonly AppendOp[];
  readonly reads: readonly ReadOp[];
  readonly tails: readonly TailSession[];
}

/** One replica-set member's log after heal and convergence. */
export interface FinalLog {
  readonly node: string;
  /** Lowest retained seq (events below it were evicted by retention or a skip). */
  readonly firstSeq: number;
  readonly events: readonly DeliveredEvent[];
}

export interface CheckReport {
  readonly violations: string[];
  /** Rules that ran in a weaker form, or not at all, and why — never a silent pass. */
  readonly notes: string[];
}

/** Violations reported per rule; the rest are counted (one bug tends to repeat a thousand times). */
export const VIOLATIONS_PER_RULE_MAX = 5;

/** A payload in a message: its head (the simulation's payloads start with seed:counter). */
export function show(payload: string): string {
  return payload.length > 16
    ? `${JSON.stringify(payload.slice(0, 12))}…(${payload.length} B)`
    : JSON.stringify(payload);
}

/** Quorum-acknowledged appends: requested with `acks: 'quorum'` and resolved with a seq. */
export function quorumAcknowledged(history: HistoryView): (AppendOp & { seq: number })[] {
  const acked: (AppendOp & { seq: number })[] = [];
  for (const op of history.appends) {
    if (op.acks === 'quorum' && op.outcome?.kind === 'ok')
      acked.push({ ...op, seq: op.outcome.seq });
  }
  return acked;
}

class Findings {
  readonly violations: string[] = [];
  readonly #perRule = new Map<string, number>();

  add(rule: string, message: string): void {
    const count = (this.#perRule.get(rule) ?? 0) + 1;
    this.#perRule.set(rule, count);
    if (count <= VIOLATIONS_PER_RULE_MAX) this.violations.push(`[${rule}] ${message}`);
  }

  summarize(): void {
    for (const [rule, count] of this.#perRule) {
      if (count > VIOLATIONS_PER_RULE_MAX)
        this.violations.push(`[${rule}] … and ${count - VIOLATIONS_PER_RULE_MAX} more`);
    }
  }
}

export function checkHistory(history: HistoryView, logs: readonly FinalLog[]): CheckReport {
  const findings = new Findings();
  const notes: string[] = [];
  const byPayload = new Map<string, AppendOp>();
  for (const op of history.appends) {
    if (byPayload.has(op.payload))
      findings.add('history', `payload ${show(op.payload)} was appended twice (#${op.id})`);
    byPayload.set(op.payload, op);
  }
  const logMaps = logs.map((log) => new Map(log.events.map((event) => [event.seq, event.payload])));
  checkAppends(history, logs, logMaps, byPayload, findings);
  checkIdentical(logs, findings);
  checkDeliveries(history, logs, logMaps, byPayload, findings, notes);
  checkRealTimeOrder(history, findings);
  findings.summarize();
  return { violations: findings.violations, notes };
}

/** Where each payload sits in the final logs: node and seq. */
function placesOf(logs: readonly FinalLog[]): Map<string, { node: string; seq: number }[]> {
  const places = new Map<string, { node: string; seq: number }[]>();
  for (const log of logs) {
    for (const event of log.events) {
      const at = places.get(event.payload);
      if (at === undefined) places.set(event.payload, [{ node: log.node, seq: event.seq }]);
      else at.push({ node: log.node, seq: event.seq });
    }
  }
  return places;
}

function checkAppends(
  history: HistoryView,
  logs: readonly FinalLog[],
  logMaps: readonly Map<number, string>[],
  byPayload: ReadonlyMap<string, AppendOp>,
  findings: Findings,
): void {
  const places = placesOf(logs);
  const where = (at: readonly { node: string; seq: number }[]) =>
    at.map((place) => `${place.node}@${place.seq}`).join(', ');
  for (const [payload, at] of places) {
    const op = byPayload.get(payload);
    if (op === undefined) {
      findings.add('1-invented', `${where(at)} hold ${show(payload)}, which no client appended`);
      continue;
    }
    const outcome = op.outcome;
    const label = `append #${op.id} ${show(payload)} on ${op.node}`;
    if (outcome?.kind === 'failed') {
      findings.add('1-failed', `${label} failed (${outcome.code}) but is at ${where(at)}`);
      continue;
    }
    const known = outcome?.kind === 'ok' ? outcome.seq : outcome?.seq;
    const elsewhere = at.filter((place) => known !== undefined && place.seq !== known);
    if (elsewhere.length > 0) {
      findings.add('1-moved', `${label} was stored at seq ${known} but is at ${where(elsewhere)}`);
      continue;
    }
    const seqs = new Set(at.map((place) => place.seq));
    if (seqs.size > 1)
      findings.add('1-duplicated', `${label} appears more than once: ${where(at)}`);
  }
  const claimed = new Map<number, AppendOp>();
  for (const op of quorumAcknowledged(history)) {
    const other = claimed.get(op.seq);
    if (other !== undefined) {
      findings.add(
        '2-committed-twice',
        `seq ${op.seq} was quorum-acknowledged twice: #${other.id} ${show(other.payload)} on ${other.node} and #${op.id} ${show(op.payload)} on ${op.node}`,
      );
    }
    claimed.set(op.seq, op);
    for (const [index, log] of logs.entries()) {
      if (op.seq < log.firstSeq) continue; // evicted by retention: absent, not lost
      const held = logMaps[index]!.get(op.seq);
      if (held !== op.payload) {
        findings.add(
          '1-lost',
          `quorum-acknowledged append #${op.id} ${show(op.payload)} (seq ${op.seq}, on ${op.node}, completed at ${op.completeMs} ms) is not on ${log.node}: it holds ${held === undefined ? 'nothing' : show(held)} at ${op.seq}`,
        );
      }
    }
  }
}

function checkIdentical(logs: readonly FinalLog[], findings: Findings): void {
  const [first, ...rest] = logs;
  if (first === undefined) return;
  for (const log of rest) {
    const length = Math.max(first.events.length, log.events.length);
    if (first.firstSeq !== log.firstSeq) {
      findings.add(
        '2-identical',
        `final logs start apart: ${first.node} at ${first.firstSeq}, ${log.node} at ${log.firstSeq}`,
      );
      continue;
    }
    for (let i = 0; i < length; i++) {
      const a = first.events[i];
      const b = log.events[i];
      if (a?.seq !== b?.seq || a?.payload !== b?.payload) {
        const describe = (node: string, event: DeliveredEvent | undefined) =>
          event === undefined
            ? `${node} ends`
            : `${node} holds ${show(event.payload)}@${event.seq}`;
        findings.add(
          '2-identical',
          `final logs differ at index ${i} (seq ${first.firstSeq + i}): ${describe(first.node, a)}, ${describe(log.node, b)}`,
        );
        break;
      }
    }
  }
}

function checkDeliveries(
  history: HistoryView,
  logs: readonly FinalLog[],
  logMaps: readonly Map<number, string>[],
  byPayload: ReadonlyMap<string, AppendOp>,
  findings: Findings,
  notes: string[],
): void {
  const final = logMaps[0];
  const finalFirst = logs[0]?.firstSeq ?? 0;
  // Without a node commitSeq, a seq counts as committed once a quorum-acknowledged append at or
  // above it had completed: a quorum commit covers the whole prefix.
  const knownCommitted = committedBoundOverTime(history);
  let fallback = false;
  const committedAt = (committedBelow: number | undefined, atMs: number) => {
    if (committedBelow !== undefined) return committedBelow;
    fallback = true;
    return knownCommitted(atMs);
  };
  const judge = (source: string, event: DeliveredEvent, committedBelow: number) => {
    const op = byPayload.get(event.payload);
    if (op === undefined) {
      findings.add(
        '3-invented',
        `${source} delivered ${show(event.payload)}@${event.seq}, which no client appended`,
      );
      return;
    }
    if (op.outcome?.kind === 'failed') {
      findings.add(
        '3-failed',
        `${source} delivered failed append #${op.id} ${show(event.payload)}@${event.seq}`,
      );
      return;
    }
    // Where the leader stored it, when its client learned that (acknowledged or not).
    const stored = op.outcome?.seq;
    if (stored !== undefined && stored !== event.seq) {
      findings.add(
        '3-moved',
        `${source} delivered append #${op.id} ${show(event.payload)} at ${event.seq}, stored at ${stored}`,
      );
      return;
    }
    if (final === undefined || event.seq >= committedBelow || event.seq < finalFirst) return;
    const held = final.get(event.seq);
    if (held !== event.payload) {
      findings.add(
        '3-committed-read',
        `${source} delivered committed ${show(event.payload)}@${event.seq} (committed below ${committedBelow}) but the final log of ${logs[0]!.node} holds ${held === undefined ? 'nothing' : show(held)} there`,
      );
    }
  };
  for (const read of history.reads) {
    const source = `read [${read.from}, ${read.to}) on ${read.node} at ${read.invokeMs} ms`;
    if (!contiguous(read.events, read.events[0]?.seq ?? read.from)) {
      findings.add(
        '3-contiguous',
        `${source} returned a gap: seqs ${read.events.map((e) => e.seq).join(',')}`,
      );
      continue;
    }
    const committedBelow = committedAt(read.committedBelow, read.invokeMs);
    for (const event of read.events) judge(source, event, committedBelow);
  }
  for (const tail of history.tails) {
    const source = `tail #${tail.id} on ${tail.node} (from ${tail.fromSeq}, started at ${tail.startMs} ms)`;
    if (!contiguous(tail.deliveries, tail.fromSeq)) {
      findings.add(
        '3-contiguous',
        `${source} skipped or repeated: seqs ${tail.deliveries
          .map((e) => e.seq)
          .slice(0, 20)
          .join(',')}`,
      );
      continue;
    }
    for (const delivery of tail.deliveries)
      judge(
        `${source} at ${delivery.atMs} ms`,
        delivery,
        committedAt(delivery.committedBelow, delivery.atMs),
      );
  }
  if (fallback) {
    notes.push(
      'reads/tails: no commitSeq yet, so "committed" means below a quorum-acknowledged append completed before the read',
    );
  }
}

function contiguous(events: readonly DeliveredEvent[], from: number): boolean {
  return events.every((event, index) => event.seq === from + index);
}

/** t → the lowest seq not known committed at t (exclusive bound), from completed quorum appends. */
function committedBoundOverTime(history: HistoryView): (atMs: number) => number {
  const points = quorumAcknowledged(history)
    .map((op) => ({ atMs: op.completeMs ?? Number.POSITIVE_INFINITY, seq: op.seq }))
    .sort((a, b) => a.atMs - b.atMs);
  const times: number[] = [];
  const bounds: number[] = [];
  let bound = 0;
  for (const point of points) {
    bound = Math.max(bound, point.seq + 1);
    times.push(point.atMs);
    bounds.push(bound);
  }
  return (atMs) => {
    // Last completion strictly before `atMs` (binary search).
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid]! < atMs) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : bounds[lo - 1]!;
  };
}

function checkRealTimeOrder(history: HistoryView, findings: Findings): void {
  const acked = quorumAcknowledged(history);
  const byCompletion = [...acked].sort((a, b) => a.completeMs! - b.completeMs!);
  const byInvoke = [...acked].sort((a, b) => a.invokeMs - b.invokeMs);
  let next = 0;
  let highest: (AppendOp & { seq: number }) | null = null;
  for (const op of byInvoke) {
    while (next < byCompletion.length && byCompletion[next]!.completeMs! < op.invokeMs) {
      const done = byCompletion[next++]!;
      if (highest === null || done.seq > highest.seq) highest = done;
    }
    if (highest !== null && highest.seq >= op.seq) {
      findings.add(
        '4-order',
        `quorum-acknowledged #${highest.id} ${show(highest.payload)} (seq ${highest.seq}) completed at ${highest.completeMs} ms, before #${op.id} ${show(op.payload)} was invoked at ${op.invokeMs} ms, yet #${op.id} got seq ${op.seq}`,
      );
    }
  }
}
