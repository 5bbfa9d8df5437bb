// How the simulation's client appends and learns its outcome — the one place that decides what
// "quorum-acknowledged" means. Today an append resolves once stored on the leader, and a quorum
// acknowledgement is `waitForReplicas` with count = majority − 1 (the leader is the rest of the
// majority). When the runtime grows `append(payload, { acks: 'quorum' })`, `appendWithAcks` becomes
// that one call and LEADERSHIP_LOST joins the unknown outcomes below; nothing else changes.

import type { RedexFile } from '../../src/log/redex-file.js';
import type { AcksMode, AppendOutcome } from './recorder.js';

/** Errors that prove nothing was stored: the file refused the append before writing. */
const DEFINITELY_NOT_WRITTEN = new Set(['NOT_LEADER', 'PAYLOAD_TOO_LARGE', 'INVALID_ARGUMENT']);

export interface QuorumOptions {
  /** Members of the channel's replica set. */
  readonly replicaSet: number;
  readonly timeoutMs: number;
}

export function majorityOf(replicaSet: number): number {
  return Math.floor(replicaSet / 2) + 1;
}

/**
 * Appends `payload` and resolves to its outcome (never rejects). `onStored` hears the seq as soon
 * as the leader stored it, before any quorum wait.
 */
export async function appendWithAcks(
  file: RedexFile,
  payload: Uint8Array,
  acks: AcksMode,
  quorum: QuorumOptions,
  onStored: (seq: number) => void,
): Promise<AppendOutcome> {
  let seq: number;
  try {
    seq = await file.append(payload);
  } catch (error) {
    const code = codeOf(error);
    return DEFINITELY_NOT_WRITTEN.has(code)
      ? { kind: 'failed', code }
      : { kind: 'unknown', reason: code };
  }
  onStored(seq);
  if (acks === 'leader') return { kind: 'ok', seq };
  try {
    await file.waitForReplicas(seq, {
      count: majorityOf(quorum.replicaSet) - 1,
      timeoutMs: quorum.timeoutMs,
    });
    return { kind: 'ok', seq };
  } catch (error) {
    // Stored on the leader, not confirmed by a majority: it may survive or vanish.
    return { kind: 'unknown', reason: codeOf(error), seq };
  }
}

export function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(error);
}
