// The dashboard: one self-contained HTML page (inline CSS and JS, no external requests, no build
// step). It loads with no data and no secrets in it; everything comes from `events/status`.

import { createHash } from 'node:crypto';
import { DASHBOARD_JS } from './script.js';
import { DASHBOARD_CSS } from './style.js';

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>RedEX node</title>
<link rel="icon" href="data:,">
<style>${DASHBOARD_CSS}</style>
</head>
<body>
<header>
  <h1>RedEX</h1>
  <strong id="node-name" data-testid="node-name">…</strong>
  <span id="node-meta" class="muted"></span>
  <span id="conn" class="pill" data-state="connecting">connecting</span>
  <span id="message"></span>
</header>
<main>
  <section>
    <h2>Nodes</h2>
    <table id="nodes"><thead><tr><th>Node</th><th>NodeId</th><th>HTTP</th><th>Mesh</th><th>State</th><th>RTT</th><th>Leads</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Channels</h2>
    <table id="channels"><thead><tr><th>Channel</th><th>Role here</th><th>Leader</th><th>Epoch</th><th>Committed</th><th>First seq</th><th>Tail</th><th>Events/s</th><th>Tails</th><th>Replicas</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Throughput (events/s) <span id="chart-max" class="muted"></span> <span id="chart-span" class="muted"></span></h2>
    <svg id="chart" viewBox="0 0 600 160" preserveAspectRatio="none" role="img" aria-label="events per second per channel"></svg>
    <div id="legend"></div>
  </section>
</main>
<footer class="muted"><span id="updated"></span></footer>
<script>${DASHBOARD_JS}</script>
</body>
</html>
`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** Allows exactly the page's own inline style and script, and requests to this origin only. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256(DASHBOARD_JS)}`,
  `style-src ${sha256(DASHBOARD_CSS)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
