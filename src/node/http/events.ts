// Appending and reading events. An append is one event (`{ "payload" }` in JSON, or the raw
// body as application/octet-stream) or a batch (`{ "events": [...] }`, or length-prefixed binary
// as application/vnd.redex.batch; all or nothing). A read is one page of a range, bounded in
// events and bytes; `next` says where the following page starts, so a client can walk a long
// range without the server holding anything between pages.

import type { Acks } from '../../log/redex-file.js';
import { BATCH_MEDIA_TYPE, parseBatchBody } from './batch-body.js';
import { parseJson, readBody, requireMediaType } from './body.js';
import { type RequestContext, sendJson } from './context.js';
import { badRequest } from './errors.js';
import {
  APPEND_BATCH_BODY_BYTES_MAX,
  APPEND_JSON_BODY_BYTES_MAX,
  APPEND_JSON_DEPTH_MAX,
  APPEND_JSON_VALUES_MAX,
  APPEND_REPLICAS_MAX,
  APPEND_TIMEOUT_MS_DEFAULT,
  APPEND_TIMEOUT_MS_MAX,
  BATCH_EVENTS_MAX,
  RAW_EVENT_BYTES_MAX,
  READ_BYTES_DEFAULT,
  READ_BYTES_MAX,
  READ_EVENTS_DEFAULT,
  READ_EVENTS_MAX,
} from './limits.js';
import { decodePayload, encodeEvent, parseEncoding } from './payload.js';
import { checkParams, intParam } from './query.js';

const SEQ_MAX = Number.MAX_SAFE_INTEGER;
const APPEND_FIELDS = ['payload', 'events', 'encoding'];

/** POST /channels/{name}/events */
export async function appendEvents(ctx: RequestContext): Promise<void> {
  const params = ctx.url.searchParams;
  checkParams(params, ['acks', 'replicas', 'timeoutMs']);
  const acks = acksParam(params);
  const timeoutMs = intParam(params, 'timeoutMs', {
    min: 1,
    max: APPEND_TIMEOUT_MS_MAX,
    fallback: APPEND_TIMEOUT_MS_DEFAULT,
  })!;
  const type = requireMediaType(ctx.req, [
    'application/json',
    'application/octet-stream',
    BATCH_MEDIA_TYPE,
  ]);
  const payloads =
    type === 'application/octet-stream'
      ? [await readBody(ctx.req, RAW_EVENT_BYTES_MAX, 'a raw event')]
      : type === BATCH_MEDIA_TYPE
        ? parseBatchBody(await readBody(ctx.req, APPEND_BATCH_BODY_BYTES_MAX, 'a batch'))
        : parseAppendJson(
            parseJson(
              await readBody(ctx.req, APPEND_JSON_BODY_BYTES_MAX, 'an append'),
              { depthMax: APPEND_JSON_DEPTH_MAX, valuesMax: APPEND_JSON_VALUES_MAX },
              'an append',
            ),
          );
  const { firstSeq, count } = await ctx.state.service.append(ctx.channel, payloads, {
    ...(acks === undefined ? {} : { acks }),
    timeoutMs,
  });
  sendJson(ctx.res, count === 0 ? 200 : 201, {
    firstSeq,
    lastSeq: firstSeq === null ? null : firstSeq + count - 1,
    count,
  });
}

/**
 * `acks=quorum|leader|all|N` (default quorum on a replicated channel); `replicas=N` is the older
 * spelling of `acks=N`.
 */
function acksParam(params: URLSearchParams): Acks | undefined {
  const acks = params.get('acks');
  const replicas = intParam(params, 'replicas', {
    min: 0,
    max: APPEND_REPLICAS_MAX,
    fallback: null,
  });
  if (acks !== null && replicas !== null) {
    throw badRequest('give acks or replicas, not both (replicas=N means acks=N)');
  }
  if (replicas !== null) return replicas;
  if (acks === null) return undefined;
  if (acks === 'quorum' || acks === 'leader' || acks === 'all') return acks;
  if (/^\d{1,2}$/.test(acks) && Number(acks) <= APPEND_REPLICAS_MAX) return Number(acks);
  throw badRequest(
    `acks must be quorum, leader, all or a number of replicas 0..${APPEND_REPLICAS_MAX}, got ${JSON.stringify(acks.slice(0, 20))}`,
  );
}

function parseAppendJson(body: unknown): Uint8Array[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('an append body must be an object: { "payload": ... } or { "events": [...] }');
  }
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!APPEND_FIELDS.includes(key)) {
      throw badRequest(
        `unknown field ${JSON.stringify(key.slice(0, 40))} (known: ${APPEND_FIELDS.join(', ')})`,
      );
    }
  }
  const encoding = parseEncoding(fields.encoding, 'encoding');
  if ((fields.payload === undefined) === (fields.events === undefined)) {
    throw badRequest(
      'an append body needs exactly one of "payload" (one event) or "events" (a batch)',
    );
  }
  if (fields.payload !== undefined) return [decodePayload(fields.payload, encoding, 'payload')];
  const events = fields.events;
  if (!Array.isArray(events)) throw badRequest('"events" must be an array of payload strings');
  if (events.length > BATCH_EVENTS_MAX) {
    throw badRequest(
      `"events" has ${events.length} entries; a batch holds at most ${BATCH_EVENTS_MAX}`,
    );
  }
  return events.map((event, index) => decodePayload(event, encoding, `events[${index}]`));
}

/** GET /channels/{name}/events?from=&to=&limit=&maxBytes=&encoding= */
export async function readEvents(ctx: RequestContext): Promise<void> {
  const params = ctx.url.searchParams;
  checkParams(params, ['from', 'to', 'limit', 'maxBytes', 'encoding']);
  const fromSeq = intParam(params, 'from', { min: 0, max: SEQ_MAX, fallback: 0 })!;
  const toSeq = intParam(params, 'to', { min: 0, max: SEQ_MAX, fallback: null });
  const maxEvents = intParam(params, 'limit', {
    min: 1,
    max: READ_EVENTS_MAX,
    fallback: READ_EVENTS_DEFAULT,
  })!;
  const maxBytes = intParam(params, 'maxBytes', {
    min: 1,
    max: READ_BYTES_MAX,
    fallback: READ_BYTES_DEFAULT,
  })!;
  const encoding = parseEncoding(params.get('encoding') ?? undefined, "query parameter 'encoding'");
  if (toSeq !== null && toSeq < fromSeq) {
    throw badRequest(`query parameter 'to' (${toSeq}) is below 'from' (${fromSeq})`);
  }
  const result = await ctx.state.service.read(ctx.channel, { fromSeq, toSeq, maxEvents, maxBytes });
  sendJson(ctx.res, 200, {
    channel: ctx.channel,
    encoding,
    events: result.events.map((event) => encodeEvent(event, encoding)),
    next: result.nextFromSeq,
    firstSeq: result.firstSeq,
    nextSeq: result.nextSeq,
  });
}
