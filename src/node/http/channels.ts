// Channel admin routes: list, create, describe, delete.

import { parseChannelSpec } from '../channel-spec.js';
import { FORWARDED_BY_HEADER } from '../forward.js';
import { parseJson, readBody, requireMediaType } from './body.js';
import { type RequestContext, sendJson } from './context.js';
import {
  CHANNEL_SPEC_DEPTH_MAX,
  CHANNEL_SPEC_VALUES_MAX,
  CREATE_BODY_BYTES_MAX,
} from './limits.js';
import { noQuery } from './query.js';

/** On a 204 of a cluster-wide delete: the members that did not confirm it. */
export const DELETE_PENDING_HEADER = 'x-redex-delete-pending';

/** GET /channels */
export async function listChannels(ctx: RequestContext): Promise<void> {
  noQuery.read(ctx.url.searchParams);
  const status = await ctx.state.service.status();
  sendJson(ctx.res, 200, { channels: status.channels });
}

/** POST /channels with `{ name, file?, replication? }` */
export async function createChannel(ctx: RequestContext): Promise<void> {
  noQuery.read(ctx.url.searchParams);
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
  noQuery.read(ctx.url.searchParams);
  sendJson(ctx.res, 200, await ctx.state.service.channel(ctx.channel));
}

/**
 * DELETE /channels/{name}: 204 once it is closed, forgotten and its files are gone (cluster: a
 * client's delete of a replicated channel is sent on to the rest of its replica set).
 */
export async function deleteChannel(ctx: RequestContext): Promise<void> {
  noQuery.read(ctx.url.searchParams);
  const origin = ctx.req.headers[FORWARDED_BY_HEADER] === undefined ? 'api' : 'peer';
  const result = await ctx.state.service.deleteChannel(ctx.channel, { origin });
  const failed = (result.members ?? []).filter((member) => member.error !== undefined);
  if (failed.length > 0) {
    ctx.state.logger.warn(
      { channel: ctx.channel, members: failed },
      'channel deleted here; some replica-set members did not delete it',
    );
  }
  ctx.res.writeHead(204, {
    'cache-control': 'no-store',
    // The members that still hold it (unreachable, or refused): the operator deletes it there.
    ...(failed.length === 0
      ? {}
      : { [DELETE_PENDING_HEADER]: failed.map((member) => member.name).join(', ') }),
  });
  ctx.res.end();
}
