// Decoded SyncResponses keep their events as one `WireEventRun` (columns over the frame) and build
// the `events` array only when something asks for it, so the replica's apply path handles a chunk
// with a few typed arrays instead of an object and a view per event. The helpers below answer
// what the replication step needs (count, payload bytes, cutting off a prefix) from either form.

import type { SyncResponse, WireEvent, WireEventRun } from './types.js';

type ResponseFields = Omit<SyncResponse, 'events' | 'run'>;

/** A response whose `events` are built from `run` on first read; `run` is not enumerable. */
export function responseFromRun(fields: ResponseFields, run: WireEventRun): SyncResponse {
  const message = { ...fields } as { events?: readonly WireEvent[] };
  Object.defineProperty(message, 'events', {
    enumerable: true,
    configurable: true,
    get(): readonly WireEvent[] {
      const events = eventsOf(run);
      Object.defineProperty(message, 'events', { value: events, enumerable: true });
      return events;
    },
  });
  Object.defineProperty(message, 'run', { value: run });
  return message as SyncResponse;
}

function eventsOf(run: WireEventRun): WireEvent[] {
  const { bytes, seqs, offsets, lengths, count } = run;
  const buffer = bytes.buffer;
  const base = bytes.byteOffset;
  const events: WireEvent[] = new Array(count);
  for (let i = 0; i < count; i++) {
    // A view, not a copy: same ArrayBuffer as the frame.
    events[i] = { seq: seqs[i]!, payload: new Uint8Array(buffer, base + offsets[i]!, lengths[i]!) };
  }
  return events;
}

export function responseEventCount(response: SyncResponse): number {
  return response.run?.count ?? response.events.length;
}

export function responsePayloadBytes(response: SyncResponse): number {
  const run = response.run;
  if (run !== undefined) return run.payloadBytes;
  let bytes = 0;
  for (const event of response.events) bytes += event.payload.byteLength;
  return bytes;
}

/** `response` without its first `skip` events, starting at `firstSeq` (views, no copy). */
export function skipResponseEvents(
  response: SyncResponse,
  skip: number,
  firstSeq: number,
): SyncResponse {
  const run = response.run;
  if (run === undefined) return { ...response, firstSeq, events: response.events.slice(skip) };
  // Fields one by one: reading `events` here would build the array this avoids.
  const fields: ResponseFields = {
    kind: 'response',
    channelId: response.channelId,
    firstSeq,
    leaderFirstRetainedSeq: response.leaderFirstRetainedSeq,
    requestId: response.requestId,
    ...(response.quorum === undefined ? {} : { quorum: response.quorum }),
  };
  skip = Math.min(skip, run.count);
  let skipped = 0;
  for (let i = 0; i < skip; i++) skipped += run.lengths[i]!;
  const rest: WireEventRun = {
    bytes: run.bytes,
    seqs: run.seqs.subarray(skip, run.count),
    offsets: run.offsets.subarray(skip, run.count),
    lengths: run.lengths.subarray(skip, run.count),
    count: run.count - skip,
    payloadBytes: run.payloadBytes - skipped,
  };
  return responseFromRun(fields, rest);
}
