// GET /: the dashboard page. Public: it holds no data; its script asks the API (with the token).

import { DASHBOARD_CSP, DASHBOARD_HTML } from '../dashboard/page.js';
import type { RequestContext } from './context.js';

const BODY = Buffer.from(DASHBOARD_HTML, 'utf8');

export async function serveDashboard(ctx: RequestContext): Promise<void> {
  ctx.res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(BODY.byteLength),
    'content-security-policy': DASHBOARD_CSP,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  ctx.res.end(BODY);
}
