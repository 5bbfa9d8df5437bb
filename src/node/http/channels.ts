// Channel admin routes: list, create, describe.

import { parseChannelSpec } from '../channel-spec.js';
import { parseJson, readBody, requireMediaType } from './body.js';
import { type RequestContext, sendJson } from './context.js';
import { CREATE_BODY_BYTES_MAX } from './limits.js';
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
  const body = parseJson(await readBody(ctx.req, CREATE_BODY_BYTES_MAX, 'a channel spec'));
  const { service } = ctx.state;
  const spec = parseChannelSpec(body, {
    source: 'channel spec',
    prefix: '',
    ...service.specDefaults,
  });
  const { created, channel } = await service.createChannel(spec);
  sendJson(ctx.res, created ? 201 : 200, { created, channel });
}

/** GET /channels/{name} */
export async function describeChannel(ctx: RequestContext): Promise<void> {
  checkParams(ctx.url.searchParams, []);
  sendJson(ctx.res, 200, await ctx.state.service.channel(ctx.channel));
}
