// Leadership transfer over HTTP: `POST /channels/{name}/leadership[?to=NODE]` on the channel's
// leader hands the channel to member NODE (a name or hex NodeId; by default the member furthest
// along). 200 with who leads now; 421 NOT_LEADER (with the leader) on another node; 503
// TRANSFER_FAILED when the target did not take over (the old leader then leads again).

import { type RequestContext, sendJson } from './context.js';
import { badRequest } from './errors.js';
import { checkParams } from './query.js';

/** A member name or a hex NodeId; longer is a typo or an attack, not a member. */
const TARGET_CHARS_MAX = 128;

/** POST /channels/{name}/leadership */
export async function transferLeadership(ctx: RequestContext): Promise<void> {
  const params = ctx.url.searchParams;
  checkParams(params, ['to']);
  const to = params.get('to');
  if (to !== null && (to === '' || to.length > TARGET_CHARS_MAX)) {
    throw badRequest(
      `query parameter 'to' must name a member (1..${TARGET_CHARS_MAX} characters), got ${JSON.stringify(to.slice(0, 40))}`,
    );
  }
  sendJson(ctx.res, 200, await ctx.state.service.transferLeadership(ctx.channel, to));
}
