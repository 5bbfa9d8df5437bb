// The persistent log's in-memory index: one row per retained event (data offset, payload length,
// timestamp: 20 bytes) in typed-array columns. Shared by the log and its read and compaction helpers.

import type { ColumnDeque } from '../column-deque.js';

export const makeRowColumns = (capacity: number) => ({
  offset: new Float64Array(capacity),
  length: new Uint32Array(capacity),
  timestamp: new BigInt64Array(capacity),
});

export type DiskRows = ColumnDeque<ReturnType<typeof makeRowColumns>>;
