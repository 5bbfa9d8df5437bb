// Channel admin routes: list, create, describe.

import { parseChannelSpec } from '../channel-spec.js';
import { FORWARDED_BY_HEADER } from '../forward.js';
import { parseJson, readBody, requireMediaType } from './body.js';
import { type RequestContext, sendJson } from './context.js';
import {
  CHANNEL_SPEC_DEPTH_MAX,
  CHANNEL_SPEC_VALUES_MAX,
  CREATE_BODY_BYTES_MAX,
} from './limits.js';
import { checkParams } from './query.js';

/** GET /channels */
export async function listChannels(ctx: RequestContext): Promise<void> {
  checkParams(ctx.url.searchParams, []);
  const status = await ctx.state.service.status();
  sendJson(ctx.res, 200, { channels: status.channels });
}

/** POST /channels with `{ name, file?, replication? }` */
export async function createChannel(ctx: RequestContext): Promise<void> {
  checkParams(ctx.url.searchParams, []);
  requireMediaType(ctx.req, ['application/json']);
  const body = parseJson(
    await readBody(ctx.req, CREATE_BODY_BYTES_MAX, 'a channel spec'),
    { depthMax: CHANNEL_SPEC_DEPTH_MAX, valuesMax: CHANNEL_SPEC_VALUES_MAX },
    'a channel spec',
  );
  const { service } = ctx.state;
  const spec = parseChannelSpec(body, {
    source: 'channel spec',
    prefix: '',
    ...service.specDefaults,
  });
  // A create another node forwards (cluster-wide creates) is not sent on again.
  const origin = ctx.req.headers[FORWARDED_BY_HEADER] === undefined ? 'api' : 'peer';
  const result = await service.createChannel(spec, { origin });
  sendJson(ctx.res, result.created ? 201 : 200, result);
}

/** GET /channels/{name} */
export async function describeChannel(ctx: RequestContext): Promise<void> {
  checkParams(ctx.url.searchParams, []);
  sendJson(ctx.res, 200, await ctx.state.service.channel(ctx.channel));
}
