// Leadership transfer over HTTP: `POST /channels/{name}/leadership[?to=NODE]` on the channel's
// leader hands the channel to member NODE (a name or hex NodeId; by default the member furthest
// along). 200 with who leads now; 421 NOT_LEADER (with the leader) on another node; 503
// TRANSFER_FAILED when the target did not take over (the old leader then leads again).

import { LeadershipQuery } from './api-schemas.js';
import { type RequestContext, sendJson } from './context.js';
import { queryReader } from './query.js';

const leadershipQuery = queryReader<{ to?: string }>(LeadershipQuery);

/** POST /channels/{name}/leadership */
export async function transferLeadership(ctx: RequestContext): Promise<void> {
  const { to } = leadershipQuery.read(ctx.url.searchParams);
  sendJson(ctx.res, 200, await ctx.state.service.transferLeadership(ctx.channel, to ?? null));
}
