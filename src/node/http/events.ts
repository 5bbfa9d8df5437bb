// Appending and reading events. An append is one event (`{ "payload" }` in JSON, or the raw
// body as application/octet-stream) or a batch (`{ "events": [...] }`, or length-prefixed binary
// as application/vnd.redex.batch; all or nothing). A read is one page of a range, bounded in
// events and bytes; `next` says where the following page starts, so a client can walk a long
// range without the server holding anything between pages. Queries and JSON bodies are checked
// against their schemas (api-schemas.ts); what a schema cannot say (exactly one of payload and
// events, valid base64, the decoded size) is checked here.

import type { Static } from 'typebox';
import type { Acks } from '../../log/redex-file.js';
import { describe } from '../validate.js';
import { AppendBody, AppendQuery, ReadQuery } from './api-schemas.js';
import { BATCH_MEDIA_TYPE, parseBatchBody } from './batch-body.js';
import { prefersBinary, sendBinaryRead } from './binary-read.js';
import { parseJson, readBody, requireMediaType } from './body.js';
import { type RequestContext, sendJson } from './context.js';
import { badRequest } from './errors.js';
import {
  APPEND_BATCH_BODY_BYTES_MAX,
  APPEND_JSON_BODY_BYTES_MAX,
  APPEND_JSON_DEPTH_MAX,
  APPEND_JSON_VALUES_MAX,
  RAW_EVENT_BYTES_MAX,
} from './limits.js';
import { decodePayload, encodeEvent } from './payload.js';
import { queryReader } from './query.js';
import { compileCheck } from './schema-check.js';

type AppendParams = Static<typeof AppendQuery>;
type ReadParams = Static<typeof ReadQuery>;
type AppendJson = Static<typeof AppendBody>;

const appendQuery = queryReader<AppendParams>(AppendQuery);
const readQuery = queryReader<ReadParams>(ReadQuery);
const checkAppendBody = compileCheck(AppendBody);

/** POST /channels/{name}/events */
export async function appendEvents(ctx: RequestContext): Promise<void> {
  const params = appendQuery.read(ctx.url.searchParams);
  const acks = acksParam(params);
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
    timeoutMs: params.timeoutMs!,
    ...(params.ifNextSeq === undefined ? {} : { ifNextSeq: params.ifNextSeq }),
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
function acksParam(params: AppendParams): Acks | undefined {
  if (params.acks !== undefined && params.replicas !== undefined) {
    throw badRequest('give acks or replicas, not both (replicas=N means acks=N)');
  }
  return params.replicas ?? params.acks;
}

function parseAppendJson(body: unknown): Uint8Array[] {
  const failure = checkAppendBody(body);
  if (failure !== null) {
    throw badRequest(
      failure.field === ''
        ? `an append body must be an object: { "payload": ... } or { "events": [...] }, got ${describe(body)}`
        : failure.message.startsWith('is not a known field')
          ? `unknown field ${JSON.stringify(failure.field.slice(0, 40))} (known: ${Object.keys(AppendBody.properties).join(', ')})`
          : `${failure.field} ${failure.message}`,
    );
  }
  const fields = body as AppendJson;
  const encoding = fields.encoding ?? 'base64';
  if ((fields.payload === undefined) === (fields.events === undefined)) {
    throw badRequest(
      'an append body needs exactly one of "payload" (one event) or "events" (a batch)',
    );
  }
  if (fields.payload !== undefined) return [decodePayload(fields.payload, encoding, 'payload')];
  return fields.events!.map((event, index) => decodePayload(event, encoding, `events[${index}]`));
}

/**
 * GET /channels/{name}/events?from=&to=&limit=&maxBytes=&encoding=; JSON, or with
 * `Accept: application/octet-stream` the raw payloads in the binary read format (binary-read.ts).
 */
export async function readEvents(ctx: RequestContext): Promise<void> {
  const params = readQuery.read(ctx.url.searchParams);
  const fromSeq = params.from!;
  const toSeq = params.to ?? null;
  if (toSeq !== null && toSeq < fromSeq) {
    throw badRequest(`query parameter 'to' (${toSeq}) is below 'from' (${fromSeq})`);
  }
  const result = await ctx.state.service.read(ctx.channel, {
    fromSeq,
    toSeq,
    maxEvents: params.limit!,
    maxBytes: params.maxBytes!,
  });
  if (prefersBinary(ctx.req.headers.accept)) {
    sendBinaryRead(ctx.res, result);
    return;
  }
  const encoding = params.encoding!;
  sendJson(ctx.res, 200, {
    channel: ctx.channel,
    encoding,
    events: result.events.map((event) => encodeEvent(event, encoding)),
    next: result.nextFromSeq,
    firstSeq: result.firstSeq,
    nextSeq: result.nextSeq,
  });
}
