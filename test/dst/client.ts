// How the simulation's client appends and learns its outcome — the one place that decides what
// "quorum-acknowledged" means. Today an append resolves once stored on the leader, and a quorum
// acknowledgement is `waitForReplicas` with count = majority − 1 (the leader is the rest of the
// majority): `append(payload, { acks })`; LEADERSHIP_LOST after the write is an unknown outcome.

import { LeadershipLostError } from '../../src/log/errors.js';
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
  void quorum;
  try {
    const seq = await file.append(payload, { acks });
    onStored(seq);
    return { kind: 'ok', seq };
  } catch (error) {
    const code = codeOf(error);
    if (error instanceof LeadershipLostError && error.outcome === 'not-written') {
      return { kind: 'failed', code };
    }
    if (DEFINITELY_NOT_WRITTEN.has(code)) return { kind: 'failed', code };
    // Stored on the leader, not acknowledged: it may survive or vanish.
    const seq = error instanceof LeadershipLostError ? error.seq : null;
    if (seq !== null) onStored(seq);
    return seq === null
      ? { kind: 'unknown', reason: code }
      : { kind: 'unknown', reason: code, seq };
  }
}

export function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(error);
}
