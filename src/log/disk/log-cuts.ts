// DEV DOCS — the operations that cut a channel's persistent log rather than append to it:
// recording a retention floor (compacting when most of the data file is dead), truncating a
// suffix (replication), skipping to a later seq, and the generation switch the last two use.
// Each runs inside the log's promise chain (disk-log.ts), after the fsyncs in flight.

import { IoError, RedexError, RedexErrorCode } from '../errors.js';
import { buildCompactedIndex, COMPACT_DEAD_BYTES_MIN, copyLiveRecords } from './compaction.js';
import type { DiskState } from './disk-state.js';
import { FILE_HEADER_BYTES, INDEX_ENTRY_BYTES } from './format.js';
import { type Generation, writeManifest } from './generation.js';
import { settleAll } from './settle.js';
import { writeNextGeneration } from './store-files.js';
import { ZeroedTail } from './zero-fill.js';

/** Records the retention floor in the manifest, or compacts when most of the data file is dead. */
export async function persistFloor(s: DiskState): Promise<void> {
  if (s.readOnly !== null) throw s.readOnly;
  const deadEnd = s.rows.count > 0 ? s.rows.offsetOf(0) : s.dataSize;
  const deadBytes = deadEnd - FILE_HEADER_BYTES;
  const liveBytes = s.dataSize - deadEnd;
  const minimum = s.options.compactDeadBytesMin ?? COMPACT_DEAD_BYTES_MIN;
  if (deadBytes >= minimum && deadBytes >= liveBytes) {
    await compact(s);
    return;
  }
  const { fs, dir } = s.options;
  try {
    // The manifest is about to become durable: so must the files it names.
    await s.ensureStoreDurable({ data: false, index: false });
    await writeManifest(fs, dir, {
      generation: s.generation.number,
      baseSeq: s.generation.baseSeq,
      firstSeq: s.rows.firstSeq,
    });
  } catch (error) {
    // Either manifest (old floor or new) describes a valid log; only the floor's durability is lost.
    throw new IoError(
      `recording the retention floor of channel ${JSON.stringify(s.options.channel)} failed`,
      error,
    );
  }
}

/** Copies the live records into a new generation and switches to it. */
async function compact(s: DiskState): Promise<void> {
  const old = s.generation;
  const rows = s.rows;
  const startOffset = rows.count > 0 ? rows.offsetOf(0) : s.dataSize;
  const endOffset = s.dataSize;
  const baseSeq = rows.firstSeq;
  const shift = startOffset - FILE_HEADER_BYTES;
  // The index of the copy is built now: evictions may drop rows while the copy runs.
  const entries = rows.count;
  const index = buildCompactedIndex(rows.deque, shift);
  await switchGeneration(
    s,
    baseSeq,
    (next) => copyLiveRecords(old, next, startOffset, endOffset, shift, index),
    () => {
      s.rows.shiftOffsets(shift);
      s.dataSize = endOffset - shift;
      s.indexSize = FILE_HEADER_BYTES + entries * INDEX_ENTRY_BYTES;
    },
  );
}

/** Removes the events from `seq` on, durably; resolves to how many (see DiskLog.truncateFrom). */
export async function truncateNow(
  s: DiskState,
  seq: number,
  onCut: (nextSeq: number) => void,
): Promise<number> {
  if (seq >= s.rows.nextSeq) return 0;
  if (s.readOnly !== null) throw s.readOnly;
  const channel = JSON.stringify(s.options.channel);
  if (seq < s.rows.firstSeq) {
    throw new RedexError(
      RedexErrorCode.SeqRange,
      `cannot truncate channel ${channel} from seq ${seq}: its retained events start at ${s.rows.firstSeq}`,
    );
  }
  const rows = s.rows;
  const keep = seq - rows.firstSeq;
  const removed = rows.count - keep;
  const dataEnd = rows.offsetOf(keep);
  const indexEnd = FILE_HEADER_BYTES + (seq - s.generation.baseSeq) * INDEX_ENTRY_BYTES;
  // The cut is visible at once: from here no read plans on the removed records.
  rows.dropAfter(keep);
  if (seq >= s.cache.firstSeq) s.cache.truncateFrom(seq);
  else s.cache.resetTo(seq);
  s.dataSize = dataEnd;
  s.indexSize = indexEnd;
  s.truncations++;
  try {
    onCut(seq);
  } catch {
    // A listener must not throw; one that does cannot stop the cut.
  }
  s.options.onChange();
  const generation = s.generation;
  try {
    // Either order recovers to a prefix; data first makes an interrupted cut land on `seq`
    // more often (recovery drops index entries that point past the data).
    await generation.data.truncate(dataEnd);
    s.zeroedTail.cut(dataEnd);
    await generation.index.truncate(indexEnd);
    await settleAll([
      generation.data.sync(),
      generation.index.sync(),
      s.ensureStoreDurable({ data: true, index: true }),
    ]);
  } catch (error) {
    s.readOnly = new IoError(
      `channel ${channel} refuses writes: truncating it from seq ${seq} failed, so what its files hold is unknown`,
      error,
      true,
    );
    throw s.readOnly;
  }
  // Everything kept was fsynced with the cut.
  s.clearUnsynced();
  s.indexLagBytes = 0;
  return removed;
}

/** Continues at `seq` in a fresh empty generation (a no-op when seq ≤ the next seq). */
export async function skipNow(s: DiskState, seq: number): Promise<void> {
  if (seq <= s.rows.nextSeq) return;
  if (s.readOnly !== null) throw s.readOnly;
  await switchGeneration(
    s,
    seq,
    async () => {},
    () => {
      s.rows.dropFront(s.rows.count);
      s.rows.firstSeq = seq;
      s.cache.resetTo(seq);
      s.dataSize = FILE_HEADER_BYTES;
      s.indexSize = FILE_HEADER_BYTES;
    },
  );
  s.options.onChange();
}

/**
 * Writes a new generation with `fill`, makes it durable, points the manifest at it
 * (temp → fsync → rename → fsync dir) and then `apply`s the switch in memory. A failure before
 * the rename leaves the old generation in force and removes the new files; a failure after it
 * switches anyway (the manifest already names the new files) and turns the file read-only,
 * because whether the switch survives a crash is unknown.
 */
async function switchGeneration(
  s: DiskState,

  baseSeq: number,
  fill: (next: Generation) => Promise<void>,
  apply: () => void,
): Promise<void> {
  const { fs, dir, channel } = s.options;
  const number = ++s.highestGeneration;
  const next = await writeNextGeneration(fs, dir, channel, number, baseSeq, fill);
  const old = s.generation;
  s.generation = next;
  // Both new files were fsynced above, and the manifest naming them.
  s.indexLagBytes = 0;
  s.storePending = false;
  apply();
  s.zeroedTail = new ZeroedTail(s.dataSize);
  try {
    await fs.syncDir(dir);
  } catch (error) {
    s.readOnly = new IoError(
      `channel ${JSON.stringify(channel)} refuses writes: the switch to generation ${number} may not be durable`,
      error,
      true,
    );
    throw s.readOnly;
  } finally {
    await old.retire();
  }
  // The old files are dead now; if removing them fails, the next open removes them.
  await Promise.allSettled([fs.unlink(old.dataPath), fs.unlink(old.indexPath)]);
}
