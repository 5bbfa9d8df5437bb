// How many of the oldest events a retention sweep drops: one count per policy, the largest wins
// (docs/DESIGN.md#the-local-log). Pure: it reads the store through accessors and never mutates it.

import type { RetentionPolicy } from './config.js';

/** Bytes a retained event counts for under `maxBytes`, beyond its payload (upstream's figure). */
export const RETENTION_EVENT_OVERHEAD_BYTES = 20;

export interface RetentionView {
  readonly firstSeq: number;
  readonly count: number;
  readonly payloadBytes: number;
  lengthAt(seq: number): number;
  timestampAt(seq: number): bigint;
}

export function retentionDropCount(
  view: RetentionView,
  policy: RetentionPolicy,
  nowNs: bigint,
): number {
  let drop = 0;
  if (policy.maxEvents !== undefined) drop = Math.max(drop, view.count - policy.maxEvents);
  if (policy.maxBytes !== undefined) {
    let accounted = view.payloadBytes + RETENTION_EVENT_OVERHEAD_BYTES * view.count;
    let dropped = 0;
    while (accounted > policy.maxBytes && dropped < view.count) {
      accounted -= view.lengthAt(view.firstSeq + dropped) + RETENTION_EVENT_OVERHEAD_BYTES;
      dropped++;
    }
    drop = Math.max(drop, dropped);
  }
  if (policy.maxAgeMs !== undefined) {
    // An event exactly at the cutoff is kept.
    const cutoffNs = nowNs - BigInt(policy.maxAgeMs) * 1_000_000n;
    let dropped = 0;
    while (dropped < view.count && view.timestampAt(view.firstSeq + dropped) < cutoffNs) dropped++;
    drop = Math.max(drop, dropped);
  }
  return Math.max(0, Math.min(drop, view.count));
}
