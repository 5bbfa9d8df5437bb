// The dashboard's browser code (inlined into the page; the CSP allows exactly this text by hash).
// It opens `events/status` (EventSource; the token, if any, goes as `?access_token=` because
// EventSource cannot send headers), renders every `status` event with DOM calls only (never
// innerHTML, so no name from a peer can inject markup), and keeps a short history of each
// channel's tail to draw events/s. Each node's HTTP origin is a link to its own dashboard (only
// http(s) origins: a name from a peer never becomes a javascript: URL). A token is read once from `#token=...` and kept in
// sessionStorage, then removed from the address bar.

export const DASHBOARD_JS = `
'use strict';
(() => {
  const HISTORY_MAX = 120;
  const CHART_SERIES_MAX = 6;
  const COLORS = ['#1d4ed8', '#b54708', '#067647', '#7a5af8', '#c11574', '#0e9384'];
  const $ = (id) => document.getElementById(id);
  const history = [];
  let previous = null;

  function readToken() {
    const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (match) {
      sessionStorage.setItem('redex-token', decodeURIComponent(match[1]));
      history_replace();
    }
    return sessionStorage.getItem('redex-token');
  }
  function history_replace() {
    window.history.replaceState(null, '', location.pathname + location.search);
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function row(cells, attrs) {
    const tr = document.createElement('tr');
    for (const [key, value] of Object.entries(attrs || {})) tr.setAttribute(key, value);
    for (const cell of cells) tr.appendChild(cell);
    return tr;
  }
  function link(origin) {
    const td = el('td', null, 'http');
    if (!origin) { td.textContent = '—'; return td; }
    let url = null;
    try { url = new URL(origin); } catch (error) { url = null; }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) { td.textContent = origin; return td; }
    const a = el('a', origin);
    a.href = url.origin + '/';
    a.rel = 'noopener noreferrer';
    td.appendChild(a);
    return td;
  }
  function fmtNum(n) { return n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US'); }
  function fmtRate(n) { return n === null ? '—' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1); }
  function fmtUptime(ms) {
    const s = Math.floor(ms / 1000);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return h > 0 ? h + 'h ' + m + 'm' : m > 0 ? m + 'm ' + (s % 60) + 's' : s + 's';
  }

  function setConnection(state, text) {
    const pill = $('conn');
    pill.textContent = text;
    pill.className = 'pill ' + state;
    pill.dataset.state = state;
  }

  function rates(status) {
    const out = {};
    for (const channel of status.channels) {
      let rate = null;
      const before = previous && previous.channels.find((c) => c.name === channel.name);
      const dt = previous ? (status.atMs - previous.atMs) / 1000 : 0;
      if (before && dt > 0) rate = Math.max(0, channel.nextSeq - before.nextSeq) / dt;
      out[channel.name] = rate;
    }
    return out;
  }

  function renderNodes(status) {
    const leads = new Map();
    for (const channel of status.channels) {
      const leader = channel.leader && (channel.leader.name || channel.leader.nodeId);
      if (!leader) continue;
      if (!leads.has(leader)) leads.set(leader, []);
      leads.get(leader).push(channel.name);
    }
    const self = status.node;
    const nodes = [
      { name: self.name, nodeId: self.nodeId, http: self.http, mesh: self.mesh, self: true, connected: true, rttMs: null },
    ].concat(status.peers.map((peer) => Object.assign({ self: false }, peer)));
    const body = $('nodes').tBodies[0];
    body.replaceChildren(...nodes.map((node) => {
      const key = node.name || node.nodeId || '?';
      const led = leads.get(node.name) || leads.get(node.nodeId) || [];
      const mark = el('td', led.length ? '★ leader of ' + led.join(', ') : '', 'leader-mark');
      const state = node.self ? el('td', 'this node', 'muted') : el('td', node.connected ? 'connected' : 'down', node.connected ? 'up' : 'down');
      return row([
        el('td', node.name || '—'),
        el('td', node.nodeId || '—'),
        link(node.http),
        el('td', node.mesh || '—'),
        state,
        el('td', node.rttMs === null || node.rttMs === undefined ? '—' : node.rttMs.toFixed(2) + ' ms', 'num'),
        mark,
      ], { 'data-node': key, 'data-leader': led.length ? 'true' : 'false' });
    }));
  }

  function renderChannels(status, channelRates) {
    const body = $('channels').tBodies[0];
    if (status.channels.length === 0) {
      body.replaceChildren(row([el('td', 'no channels yet', 'muted')], {}));
      return;
    }
    body.replaceChildren(...status.channels.map((channel) => {
      const replicas = el('td', null, 'replicas');
      for (const replica of channel.replicas) {
        const who = replica.name || replica.nodeId || '?';
        const lag = replica.lagEvents === null ? 'lag ?' : 'lag ' + fmtNum(replica.lagEvents);
        // On the leader: where the holder's log is known to match the leader's.
        const matched = replica.matchedSeq === undefined ? '' : ' · matched ' + fmtNum(replica.matchedSeq);
        const span = el('span', who + ' ' + (replica.role || '?') + ' · ' + lag + matched, 'replica role-' + (replica.role || 'unknown'));
        span.dataset.replica = who;
        span.dataset.lag = replica.lagEvents === null ? '' : String(replica.lagEvents);
        if (replica.matchedSeq !== undefined) span.dataset.matched = replica.matchedSeq === null ? '' : String(replica.matchedSeq);
        replicas.appendChild(span);
      }
      const leader = channel.leader ? (channel.leader.name || channel.leader.nodeId) : null;
      return row([
        el('td', channel.name, 'name'),
        el('td', channel.role, 'role role-' + channel.role),
        el('td', leader ? '★ ' + leader : 'none known', 'leader'),
        el('td', fmtNum(channel.epoch), 'num epoch'),
        el('td', fmtNum(channel.commitSeq), 'num commit'),
        el('td', fmtNum(channel.firstSeq), 'num first'),
        el('td', fmtNum(channel.nextSeq), 'num tail'),
        el('td', fmtRate(channelRates[channel.name]), 'num rate'),
        el('td', fmtNum(channel.tails), 'num tails'),
        replicas,
      ], { 'data-channel': channel.name, 'data-tail': String(channel.nextSeq), 'data-role': channel.role, 'data-leader': leader || '' });
    }));
  }

  function renderChart(status, channelRates) {
    history.push({ atMs: status.atMs, rates: channelRates });
    if (history.length > HISTORY_MAX) history.shift();
    const svg = $('chart');
    const width = 600, height = 160, left = 0, bottom = 4;
    const names = status.channels
      .map((c) => c.name)
      .sort((a, b) => (channelRates[b] || 0) - (channelRates[a] || 0))
      .slice(0, CHART_SERIES_MAX)
      .sort();
    let max = 1;
    for (const sample of history) for (const name of names) max = Math.max(max, sample.rates[name] || 0);
    const ns = 'http://www.w3.org/2000/svg';
    const parts = [];
    const axis = document.createElementNS(ns, 'line');
    axis.setAttribute('x1', left); axis.setAttribute('x2', width); axis.setAttribute('y1', height - bottom); axis.setAttribute('y2', height - bottom);
    axis.setAttribute('class', 'axis');
    parts.push(axis);
    // Labels live outside the SVG: it stretches to the page width and would stretch text too.
    $('chart-max').textContent = 'max ' + fmtRate(max) + '/s';
    $('chart-span').textContent = history.length > 1 ? 'last ' + Math.round((history[history.length - 1].atMs - history[0].atMs) / 1000) + ' s' : '';
    const step = (width - left) / Math.max(1, HISTORY_MAX - 1);
    const legend = $('legend');
    legend.replaceChildren();
    names.forEach((name, index) => {
      const color = COLORS[index % COLORS.length];
      const points = history.map((sample, i) => {
        const x = left + (HISTORY_MAX - history.length + i) * step;
        const y = height - bottom - ((sample.rates[name] || 0) / max) * (height - bottom - 16);
        return x.toFixed(1) + ',' + y.toFixed(1);
      });
      const line = document.createElementNS(ns, 'polyline');
      line.setAttribute('points', points.join(' '));
      line.setAttribute('fill', 'none');
      line.setAttribute('stroke', color);
      line.setAttribute('stroke-width', '2');
      line.setAttribute('vector-effect', 'non-scaling-stroke');
      line.setAttribute('data-channel', name);
      parts.push(line);
      const item = el('span');
      const swatch = el('i');
      swatch.style.background = color;
      item.append(swatch, document.createTextNode(name + ' ' + fmtRate(channelRates[name]) + '/s'));
      legend.appendChild(item);
    });
    svg.replaceChildren(...parts);
    svg.dataset.samples = String(history.length);
  }

  function render(status) {
    const node = status.node;
    $('node-name').textContent = node.name;
    $('node-meta').textContent = (node.nodeId ? 'NodeId ' + node.nodeId + ' · ' : '') + node.mode + ' · v' + node.version + ' · up ' + fmtUptime(node.uptimeMs) + (node.accepting ? '' : ' · shutting down');
    const channelRates = rates(status);
    renderNodes(status);
    renderChannels(status, channelRates);
    renderChart(status, channelRates);
    previous = status;
    $('updated').textContent = 'updated ' + new Date(status.atMs).toLocaleTimeString();
    document.body.dataset.updates = String(Number(document.body.dataset.updates || '0') + 1);
  }

  async function explainFailure(token) {
    try {
      const response = await fetch('status', { headers: token ? { authorization: 'Bearer ' + token } : {} });
      if (response.ok) return;
      const body = await response.json();
      $('message').textContent = body.error.code + ': ' + body.error.message + (body.error.code === 'UNAUTHORIZED' ? ' (open this page as /#token=YOUR_TOKEN)' : '');
    } catch (error) {
      $('message').textContent = 'the node is not reachable';
    }
  }

  function connect() {
    const token = readToken();
    const url = 'events/status' + (token ? '?access_token=' + encodeURIComponent(token) : '');
    const source = new EventSource(url);
    source.addEventListener('open', () => { setConnection('live', 'live'); $('message').textContent = ''; });
    source.addEventListener('status', (event) => {
      setConnection('live', 'live');
      try { render(JSON.parse(event.data)); } catch (error) { $('message').textContent = 'bad status: ' + error; }
    });
    source.addEventListener('error', () => {
      setConnection('down', source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting');
      if (source.readyState === EventSource.CLOSED) explainFailure(token);
    });
  }

  connect();
})();
`;
