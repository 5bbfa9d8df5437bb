// SyncResponse (0x21): header · channel_id[32] · first_seq u64 · leader_first_retained_seq u64 ·
// request_id u64 · event_count u32 · events, each `event_seq u64 · payload_len u32 · payload`.
// The bulk carrier of replication, so both directions are written for speed: the encoder sizes
// the frame once and writes into a single buffer; the decoder returns payloads as views into the
// frame (no copy, and no object per event until `events` is read: event-run.ts) and never
// trusts event_count or payload_len before the bytes are there.
// After the events comes, optionally, the epoch group: epoch u64 · commit_seq u64 ·
// run_count u16 · run_count × (run_start_seq u64 · run_epoch u64): the epochs of its events.

import { WireEncodeError, WireError } from './errors.js';
import { responseFromRun } from './event-run.js';
import { allocateWithHeadroom } from './headroom.js';
import {
  EPOCH_RUN_BYTES,
  EPOCH_RUNS_MAX,
  EVENT_COUNT_MAX,
  EVENT_HEADER_BYTES,
  PAYLOAD_BYTES_MAX,
  Response,
  ResponseQuorum,
} from './layout.js';
import { expectFrame, hasGroup, readChannelId, readSafeU64, truncated } from './read.js';
import {
  DispatchCode,
  type EpochRun,
  type ResponseQuorum as Quorum,
  type SyncResponse,
  type WireEvent,
} from './types.js';
import { checkChannelId, checkGroup, checkSeq, checkU64, writeHead, writeU64 } from './write.js';

const NAME = 'SyncResponse';

/**
 * The encoded size of a response carrying `events` (and `quorum`, when given); the bandwidth
 * budget charges this much.
 */
export function responseEncodedBytes(events: readonly WireEvent[], quorum?: Quorum): number {
  let total = Response.events + quorumBytes(quorum);
  for (let i = 0; i < events.length; i++) {
    total += EVENT_HEADER_BYTES + events[i]!.payload.byteLength;
  }
  return total;
}

function quorumBytes(quorum: Quorum | undefined): number {
  return quorum === undefined ? 0 : ResponseQuorum.runs + quorum.runs.length * EPOCH_RUN_BYTES;
}

/** Checks the group before anything is allocated; runs must increase as the decoder demands. */
function checkQuorum(quorum: Quorum): void {
  checkGroup(NAME, 'quorum', quorum);
  checkSeq(NAME, 'quorum.epoch', quorum.epoch);
  checkSeq(NAME, 'quorum.commitSeq', quorum.commitSeq);
  const runs = quorum.runs;
  if (!Array.isArray(runs) || runs.length > EPOCH_RUNS_MAX) {
    throw new WireEncodeError(NAME, 'quorum.runs', `an array of at most ${EPOCH_RUNS_MAX}`, runs);
  }
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i] as EpochRun;
    checkGroup(NAME, `quorum.runs[${i}]`, run);
    checkSeq(NAME, `quorum.runs[${i}].startSeq`, run.startSeq);
    checkSeq(NAME, `quorum.runs[${i}].epoch`, run.epoch);
    if (i === 0) continue;
    const previous = runs[i - 1] as EpochRun;
    if (run.startSeq <= previous.startSeq) {
      throw new WireEncodeError(
        NAME,
        `quorum.runs[${i}].startSeq`,
        `above ${previous.startSeq} (runs[${i - 1}])`,
        run.startSeq,
      );
    }
    if (run.epoch <= previous.epoch) {
      throw new WireEncodeError(
        NAME,
        `quorum.runs[${i}].epoch`,
        `above ${previous.epoch} (runs[${i - 1}])`,
        run.epoch,
      );
    }
  }
}

export function encodeResponse(message: SyncResponse): Uint8Array {
  checkChannelId(NAME, message.channelId);
  checkSeq(NAME, 'firstSeq', message.firstSeq);
  checkSeq(NAME, 'leaderFirstRetainedSeq', message.leaderFirstRetainedSeq);
  checkU64(NAME, 'requestId', message.requestId);
  const events = message.events;
  if (!Array.isArray(events) || events.length > EVENT_COUNT_MAX) {
    throw new WireEncodeError(NAME, 'events', `an array of at most ${EVENT_COUNT_MAX}`, events);
  }
  // One pass validates and sizes, so the frame is allocated once and never half-written.
  let total = Response.events;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as WireEvent;
    // Inline rather than checkSeq: the field name is only built on failure (hot loop).
    if (!Number.isSafeInteger(event.seq) || event.seq < 0) {
      throw new WireEncodeError(NAME, `events[${i}].seq`, 'a safe integer >= 0', event.seq);
    }
    const payload = event.payload;
    if (!(payload instanceof Uint8Array) || payload.byteLength > PAYLOAD_BYTES_MAX) {
      throw new WireEncodeError(NAME, `events[${i}].payload`, 'a Uint8Array under 4 GiB', payload);
    }
    total += EVENT_HEADER_BYTES + payload.byteLength;
  }
  const quorum = message.quorum;
  if (quorum !== undefined) {
    checkQuorum(quorum);
    total += quorumBytes(quorum);
  }
  // Every byte below is written, so skip zero-filling. The buffer is never one of Node's shared
  // slabs, so no other allocation's bytes can leak through `.buffer`; a large one has headroom in
  // front for the length prefix and may be a released frame of ours, reused (headroom.ts).
  const out = allocateWithHeadroom(total);
  const view = new DataView(out.buffer, out.byteOffset, total);
  writeHead(out, view, DispatchCode.SyncResponse, message.channelId);
  writeU64(view, Response.firstSeq, message.firstSeq);
  writeU64(view, Response.leaderFirstRetainedSeq, message.leaderFirstRetainedSeq);
  view.setBigUint64(Response.requestId, message.requestId, true);
  view.setUint32(Response.eventCount, events.length, true);
  let offset = Response.events;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as WireEvent;
    const payload = event.payload;
    writeU64(view, offset, event.seq);
    view.setUint32(offset + 8, payload.byteLength, true);
    offset += EVENT_HEADER_BYTES;
    out.set(payload, offset);
    offset += payload.byteLength;
  }
  if (quorum !== undefined) writeQuorum(view, offset, quorum);
  return out;
}

function writeQuorum(view: DataView, at: number, quorum: Quorum): void {
  writeU64(view, at + ResponseQuorum.epoch, quorum.epoch);
  writeU64(view, at + ResponseQuorum.commitSeq, quorum.commitSeq);
  view.setUint16(at + ResponseQuorum.runCount, quorum.runs.length, true);
  let offset = at + ResponseQuorum.runs;
  for (const run of quorum.runs) {
    writeU64(view, offset, run.startSeq);
    writeU64(view, offset + 8, run.epoch);
    offset += EPOCH_RUN_BYTES;
  }
}

/** Reads the epoch group that starts at `at` (the end of the events), fields in wire order. */
function readQuorum(view: DataView, at: number): Quorum {
  const end = view.byteLength;
  const epoch = readSafeU64(view, at + ResponseQuorum.epoch, 'epoch');
  const commitSeq = readSafeU64(view, at + ResponseQuorum.commitSeq, 'commit_seq');
  const count = view.getUint16(at + ResponseQuorum.runCount, true);
  if (count > EPOCH_RUNS_MAX) {
    throw new WireError({ kind: 'TooManyEpochRuns', count, max: EPOCH_RUNS_MAX });
  }
  const runsEnd = at + ResponseQuorum.runs + count * EPOCH_RUN_BYTES;
  if (runsEnd > end) throw truncated(runsEnd, end);
  const runs: EpochRun[] = new Array(count);
  let offset = at + ResponseQuorum.runs;
  for (let i = 0; i < count; i++) {
    const startSeq = readSafeU64(view, offset, 'run_start_seq');
    const runEpoch = readSafeU64(view, offset + 8, 'run_epoch');
    if (i > 0) {
      const previous = runs[i - 1] as EpochRun;
      if (startSeq <= previous.startSeq) {
        throw new WireError({ kind: 'EpochRunsOutOfOrder', index: i, field: 'run_start_seq' });
      }
      if (runEpoch <= previous.epoch) {
        throw new WireError({ kind: 'EpochRunsOutOfOrder', index: i, field: 'run_epoch' });
      }
    }
    runs[i] = { startSeq, epoch: runEpoch };
    offset += EPOCH_RUN_BYTES;
  }
  return { epoch, commitSeq, runs };
}

export function readResponse(bytes: Uint8Array, view: DataView): SyncResponse {
  expectFrame(view, DispatchCode.SyncResponse, Response.minBytes);
  const end = view.byteLength;
  const firstSeq = readSafeU64(view, Response.firstSeq, 'first_seq');
  const leaderFirstRetainedSeq = readSafeU64(
    view,
    Response.leaderFirstRetainedSeq,
    'leader_first_retained_seq',
  );
  const requestId = view.getBigUint64(Response.requestId, true);
  const count = view.getUint32(Response.eventCount, true);
  // Every event takes at least its 12-byte header, so a count the frame cannot hold is refused
  // before the array is sized from it: pre-allocation stays bounded by the bytes received.
  const minEnd = Response.events + count * EVENT_HEADER_BYTES;
  if (minEnd > end) throw truncated(minEnd, end);
  // Columns, not an object and a view per event (see event-run.ts).
  const seqs = new Float64Array(count);
  const offsets = new Uint32Array(count);
  const lengths = new Uint32Array(count);
  let payloadBytes = 0;
  let offset = Response.events;
  for (let i = 0; i < count; i++) {
    if (end - offset < EVENT_HEADER_BYTES) throw truncated(offset + EVENT_HEADER_BYTES, end);
    seqs[i] = readSafeU64(view, offset, 'event_seq');
    const length = view.getUint32(offset + 8, true);
    offset += EVENT_HEADER_BYTES;
    if (end - offset < length) throw truncated(offset + length, end);
    offsets[i] = offset;
    lengths[i] = length;
    payloadBytes += length;
    offset += length;
  }
  const run = { bytes, seqs, offsets, lengths, count, payloadBytes };
  const fields = {
    kind: 'response',
    channelId: readChannelId(bytes),
    firstSeq,
    leaderFirstRetainedSeq,
    requestId,
  } as const;
  if (!hasGroup(view, offset, ResponseQuorum.runs)) return responseFromRun(fields, run);
  return responseFromRun({ ...fields, quorum: readQuorum(view, offset) }, run);
}
