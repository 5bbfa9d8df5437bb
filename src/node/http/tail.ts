// GET /channels/{name}/tail: a tail as Server-Sent Events. Each event is
// `id: <seq>` + `data: {"seq","timestampNs","payload"}`; a reconnecting EventSource sends
// Last-Event-ID and resumes right after it. The tail is a cursor: it reads any retained history
// page by page (each page bounded by the channel's `tailBufferSize` bytes) as fast as the client
// reads, then live events; the socket's backpressure paces it, and a client that stops reading
// for the write timeout is cut. LAGGED (retention evicted events the client had not read yet;
// `resumeSeq` is the first seq still retained) arrives as `event: error` and ends the stream; a
// channel that closes (node shutdown) ends it with `event: end`. A client that goes away frees
// its tail at once. With `to`, the stream is a bounded read of [from, to): it ends with
// `event: end` `{"reason":"to"}` once seq to − 1 is sent (`redex read` uses this).

import type { Static } from 'typebox';
import { TailQuery } from './api-schemas.js';
import type { RequestContext } from './context.js';
import { badRequest, HttpError, HttpErrorCode, toHttpError } from './errors.js';
import { encodeEvent } from './payload.js';
import { queryReader } from './query.js';
import { SseStream } from './sse.js';

export function tooManyStreams(): HttpError {
  return new HttpError(
    503,
    HttpErrorCode.TooManyStreams,
    'this node serves as many streams as it can (in all, or for this client address); try again later',
  );
}

/** The seq after a Last-Event-ID header, or null when there is none. */
function resumeAfter(header: string | string[] | undefined): number | null {
  if (header === undefined) return null;
  const text = Array.isArray(header) ? header[0]! : header;
  if (!/^\d{1,16}$/.test(text) || Number(text) >= Number.MAX_SAFE_INTEGER) {
    throw badRequest(`Last-Event-ID must be a seq, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return Number(text) + 1;
}

const tailQuery = queryReader<Static<typeof TailQuery>>(TailQuery);

export async function tailEvents(ctx: RequestContext): Promise<void> {
  const params = tailQuery.read(ctx.url.searchParams);
  const fromParam = params.from!;
  const toSeq = params.to ?? null;
  if (toSeq !== null && toSeq < fromParam) {
    throw badRequest(`query parameter 'to' (${toSeq}) is below 'from' (${fromParam})`);
  }
  const fromSeq = resumeAfter(ctx.req.headers['last-event-id']) ?? fromParam;
  const encoding = params.encoding!;
  const { service, clock, heartbeatMs, logger } = ctx.state;
  // Opening the tail may fail (unknown channel, shutting down): still a plain JSON error then.
  const stream = await service.tail(ctx.channel, fromSeq);
  const sse = new SseStream(ctx.res, { clock, heartbeatMs });
  if (!ctx.state.openStream(sse, 'tail')) {
    await stream.return();
    throw tooManyStreams();
  }
  sse.start(`tail ${ctx.channel} from ${fromSeq}`);
  const stop = () => void stream.return();
  if (sse.signal.aborted) stop();
  else sse.signal.addEventListener('abort', stop, { once: true });
  try {
    let reachedTo = toSeq !== null && fromSeq >= toSeq;
    while (!reachedTo) {
      const result = await stream.next();
      if (result.done) break;
      const { seq } = result.value;
      if (!(await sse.send(encodeEvent(result.value, encoding), { id: seq }))) break;
      reachedTo = toSeq !== null && seq + 1 >= toSeq;
    }
    const reason = reachedTo ? 'to' : service.accepting ? 'closed' : 'shutdown';
    await sse.send({ reason }, { event: 'end' });
  } catch (error) {
    const answer = toHttpError(error, (notLeader) => service.resolveLeader(notLeader));
    if (answer.status >= 500) logger.error({ err: error, channel: ctx.channel }, 'tail failed');
    await sse.send(answer.body(), { event: 'error' });
  } finally {
    sse.signal.removeEventListener('abort', stop);
    await stream.return();
    sse.end();
  }
}
