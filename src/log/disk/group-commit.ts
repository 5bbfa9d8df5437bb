// The state-free steps of group commit: which appends of a group may take seqs (their
// precondition, expected seq and the seq range decide), and the sealed records and index entries
// of the accepted ones, ready for one data write and one index write. Writing them, and the
// rollback when that fails, stay in `DiskLog` (src/log/disk/disk-log.ts).

import { LeadershipLostError, RedexError, RedexErrorCode, SeqMismatchError } from '../errors.js';
import type { CheckedRun } from '../payload-run.js';
import { INDEX_ENTRY_BYTES, sealRecords } from './format.js';

export interface PendingAppend {
  /** Encoded by `encodeUnsealedRecords`; sealed when the group is written. */
  readonly records: Buffer;
  /**
   * Set for a replicated chunk (`DiskLog.appendRun`): the records were encoded from it into a
   * pooled buffer, and the cache keeps the chunk's payloads from here instead.
   */
  readonly run?: CheckedRun;
  readonly count: number;
  readonly timestampNs: bigint;
  readonly expected: number | null;
  /** Checked when the group is written, just before the append takes its seqs. */
  readonly precondition: (() => boolean) | null;
  /**
   * A leader's append: its group may be shipped to replicas once written, while it is fsynced
   * (see `DiskLog.setWrittenListener`).
   */
  readonly shipEarly?: boolean;
  firstSeq: number;
  resolve(firstSeq: number | null): void;
  reject(error: unknown): void;
}

export interface AdmittedGroup {
  readonly accepted: PendingAppend[];
  readonly events: number;
  readonly dataBytes: number;
}

/**
 * Settles the appends of `group` that cannot be written (rejected, or empty) and gives the others
 * their first seqs from `next` on.
 */
export function admitGroup(group: PendingAppend[], next: number, channel: string): AdmittedGroup {
  let dataBytes = 0;
  let events = 0;
  const accepted: PendingAppend[] = [];
  for (const item of group) {
    const lost = item.precondition === null ? null : checkPrecondition(item.precondition);
    if (lost !== null) {
      item.reject(lost === true ? new LeadershipLostError(channel) : lost);
      continue;
    }
    if (item.expected !== null && item.expected !== next) {
      item.reject(new SeqMismatchError(channel, item.expected, next));
      continue;
    }
    if (item.count === 0) {
      item.resolve(null);
      continue;
    }
    if (item.count - 1 > Number.MAX_SAFE_INTEGER - next) {
      item.reject(
        new RedexError(
          RedexErrorCode.SeqRange,
          `appending ${item.count} events to ${JSON.stringify(channel)} would pass seq ${Number.MAX_SAFE_INTEGER}`,
        ),
      );
      continue;
    }
    item.firstSeq = next;
    next += item.count;
    events += item.count;
    dataBytes += item.records.byteLength;
    accepted.push(item);
  }
  return { accepted, events, dataBytes };
}

/**
 * Seals the accepted records in place (the data starts at `dataOffset`) and builds their index
 * entries, in a buffer of `allocate` (every byte of it is written).
 */
export function sealGroup(
  accepted: readonly PendingAppend[],
  events: number,
  dataOffset: number,
  allocate: (bytes: number) => Buffer = Buffer.allocUnsafe,
): { index: Buffer; buffers: Buffer[] } {
  const index = allocate(events * INDEX_ENTRY_BYTES);
  const indexView = new DataView(index.buffer, index.byteOffset, index.byteLength);
  const buffers: Buffer[] = [];
  let itemOffset = dataOffset;
  let entry = 0;
  for (const item of accepted) {
    sealRecords(item.records, item.firstSeq, itemOffset, index, entry, indexView);
    buffers.push(item.records);
    itemOffset += item.records.byteLength;
    entry += item.count * INDEX_ENTRY_BYTES;
  }
  return { index, buffers };
}

/** Null when the precondition holds; true when it is false; what it threw, if it threw. */
function checkPrecondition(precondition: () => boolean): unknown {
  try {
    return precondition() ? null : true;
  } catch (error) {
    return error ?? true;
  }
}
