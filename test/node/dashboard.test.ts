// The dashboard in headless Chromium (Debian's `chromium`, driven by playwright-core). A real
// single node: the page shows it and its channel, and updates live after an append. A service
// that reports a three-node cluster: the page lists the three nodes, marks the leader, and
// follows a leader change. Three real cluster members (startNode with the mesh, in this process):
// the same, driven by real appends and a real leader stop. Every test also checks that the page made no request off the node
// and logged no error (a CSP violation would show up here). Skips when Chromium is absent.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { NodeStatus } from '../../src/node/service.js';
import { CLUSTER_NAMES, startCluster } from './cluster-helpers.js';
import { FakeService } from './fake-service.js';
import { api, eventually, memorySpec, startTestNode, type TestNode, tempDir } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const SKIP = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing; install it with: apt-get install -y --no-install-recommends chromium`;
const TOKEN = 'dashboard-token-0123456789';
const WAIT_MS = 10_000;

let browser: BrowserContext | null = null;
let profile: { path: string; remove: () => Promise<void> } | null = null;

before(async () => {
  if (SKIP) return;
  profile = await tempDir('chromium-profile');
  browser = await chromium.launchPersistentContext(profile.path, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  await profile?.remove();
});

/** Opens `url` and records console errors, page errors and requests to anything but `origin`. */
async function openPage(url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser!.newPage();
  const problems: string[] = [];
  const origin = new URL(url).origin;
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    if (!request.url().startsWith(origin)) problems.push(`off-node request: ${request.url()}`);
  });
  await page.goto(url);
  return { page, problems };
}

function cell(page: Page, channel: string, className: string) {
  return page.locator(`#channels tr[data-channel="${channel}"] td.${className}`);
}

describe('dashboard on a single node', { skip: SKIP }, () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({
      token: TOKEN,
      channels: [memorySpec('orders/audit')],
      http: { statusIntervalMs: 250, statusPushMinMs: 20 },
    });
  });
  after(() => node.close());

  test('shows the node and the channel, and updates after an append', async () => {
    const { page, problems } = await openPage(`${node.url}/#token=${TOKEN}`);
    try {
      await page.locator('#conn[data-state="live"]').waitFor({ timeout: WAIT_MS });
      await page.locator('#node-name', { hasText: 'node-a' }).waitFor({ timeout: WAIT_MS });
      assert.equal(new URL(page.url()).hash, '', 'the token is taken out of the address bar');
      await cell(page, 'orders/audit', 'tail')
        .filter({ hasText: /^0$/ })
        .waitFor({ timeout: WAIT_MS });
      assert.equal(await cell(page, 'orders/audit', 'role').textContent(), 'standalone');
      assert.equal(await cell(page, 'orders/audit', 'leader').textContent(), '★ node-a');
      assert.equal(await cell(page, 'orders/audit', 'epoch').textContent(), '—', 'not replicated');
      assert.equal(
        await page.locator('#nodes tr[data-node="node-a"]').getAttribute('data-leader'),
        'true',
      );

      const answer = await api(node.url, 'POST', '/channels/orders%2Faudit/events', {
        json: { events: ['a', 'b', 'c'], encoding: 'utf8' },
        token: TOKEN,
      });
      assert.equal(answer.status, 201);
      await cell(page, 'orders/audit', 'tail')
        .filter({ hasText: /^3$/ })
        .waitFor({ timeout: WAIT_MS });
      await page
        .locator('#chart polyline[data-channel="orders/audit"]')
        .waitFor({ state: 'attached', timeout: WAIT_MS });
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });

  test('without the token the page says why it has no data', async () => {
    const { page, problems } = await openPage(`${node.url}/`);
    try {
      await page.locator('#message', { hasText: 'UNAUTHORIZED' }).waitFor({ timeout: WAIT_MS });
      assert.match((await page.locator('#message').textContent())!, /#token=/);
      assert.ok(
        problems.every((problem) => /401|Unauthorized/.test(problem)),
        `only the refused requests are errors: ${problems.join('; ')}`,
      );
    } finally {
      await page.close();
    }
  });
});

describe('dashboard of a three-node cluster (a service reporting one)', { skip: SKIP }, () => {
  test('lists the three nodes, marks the leader, and follows a leader change', async () => {
    const service = new FakeService();
    await service.createChannel(memorySpec('orders/audit'));
    let leader = 'node-b';
    let tail = 10;
    service.overrides.status = async () =>
      clusterStatus(await service.inner.status(), leader, tail);
    const node = await startTestNode({ service, http: { statusIntervalMs: 50 } });
    const { page, problems } = await openPage(`${node.url}/`);
    try {
      for (const name of ['node-a', 'node-b', 'node-c']) {
        await page.locator(`#nodes tr[data-node="${name}"]`).waitFor({ timeout: WAIT_MS });
      }
      await page
        .locator('#nodes tr[data-node="node-b"][data-leader="true"]')
        .waitFor({ timeout: WAIT_MS });
      assert.equal(await page.locator('#nodes tr[data-leader="true"]').count(), 1);
      assert.equal(await cell(page, 'orders/audit', 'leader').textContent(), '★ node-b');
      assert.equal(await cell(page, 'orders/audit', 'role').textContent(), 'replica');
      assert.match(
        (await page.locator('#nodes tr[data-node="node-c"]').textContent())!,
        /0\.80 ms/,
      );
      await page
        .locator(
          '#channels tr[data-channel="orders/audit"] .replica[data-replica="node-c"][data-lag="4"]',
        )
        .waitFor({ timeout: WAIT_MS });
      assert.equal(await cell(page, 'orders/audit', 'epoch').textContent(), '1');
      assert.equal(await cell(page, 'orders/audit', 'commit').textContent(), '6');
      assert.match(
        (await page
          .locator('#channels tr[data-channel="orders/audit"] .replica[data-replica="node-c"]')
          .textContent())!,
        /matched 6/,
      );
      assert.equal(
        await page.locator('#nodes tr[data-node="node-b"] td.http a').getAttribute('href'),
        'http://127.0.0.1:7172/',
        "each node's HTTP origin links to its dashboard",
      );

      leader = 'node-c';
      tail = 25;
      await page
        .locator('#nodes tr[data-node="node-c"][data-leader="true"]')
        .waitFor({ timeout: WAIT_MS });
      await cell(page, 'orders/audit', 'leader')
        .filter({ hasText: '★ node-c' })
        .waitFor({ timeout: WAIT_MS });
      await cell(page, 'orders/audit', 'tail')
        .filter({ hasText: /^25$/ })
        .waitFor({ timeout: WAIT_MS });
      assert.equal(await cell(page, 'orders/audit', 'epoch').textContent(), '2');
      assert.equal(await cell(page, 'orders/audit', 'commit').textContent(), '21');
      assert.equal(
        await page.locator('#nodes tr[data-node="node-b"]').getAttribute('data-leader'),
        'false',
      );
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
      await node.close();
    }
  });
});

describe('dashboard of a real three-node cluster (startNode with the mesh)', { skip: SKIP }, () => {
  test('shows three nodes, marks the leader, updates after an append and a leader change', async () => {
    const cluster = await startCluster();
    const path = '/channels/orders%2Faudit';
    const leaderOf = async (urls: readonly string[]) => {
      let name = '';
      await eventually(async () => {
        const views = await Promise.all(
          urls.map(async (url) => (await api(url, 'GET', path)).json),
        );
        const leaders = views.filter((view) => view?.role === 'leader');
        name = leaders.length === 1 ? leaders[0].leader.name : '';
        return name !== '' && views.every((view) => view?.leader?.name === name);
      }, 'one leader every live node agrees on');
      return CLUSTER_NAMES.indexOf(name as (typeof CLUSTER_NAMES)[number]);
    };
    let page: Page | null = null;
    try {
      const created = await api(cluster.urls[0]!, 'POST', '/channels', {
        json: { name: 'orders/audit', replication: { factor: 3, heartbeatMs: 100 } },
      });
      assert.equal(created.status, 201, created.text);
      const leader = await leaderOf(cluster.urls);
      // Watch from a node that survives the leader's stop.
      const watcher = (leader + 1) % 3;
      const opened = await openPage(`${cluster.urls[watcher]}/`);
      page = opened.page;
      for (const name of CLUSTER_NAMES) {
        await page.locator(`#nodes tr[data-node="${name}"]`).waitFor({ timeout: WAIT_MS });
      }
      await page
        .locator(`#nodes tr[data-node="${CLUSTER_NAMES[leader]}"][data-leader="true"]`)
        .waitFor({ timeout: WAIT_MS });
      assert.equal(await page.locator('#nodes tr[data-leader="true"]').count(), 1);
      assert.equal(await cell(page, 'orders/audit', 'role').textContent(), 'replica');

      const appended = await api(cluster.urls[leader]!, 'POST', `${path}/events?replicas=2`, {
        json: { events: ['a', 'b', 'c'], encoding: 'utf8' },
      });
      assert.equal(appended.status, 201, appended.text);
      await cell(page, 'orders/audit', 'tail')
        .filter({ hasText: /^3$/ })
        .waitFor({ timeout: WAIT_MS });
      await cell(page, 'orders/audit', 'commit')
        .filter({ hasText: /^3$/ })
        .waitFor({ timeout: WAIT_MS });
      assert.match((await cell(page, 'orders/audit', 'epoch').textContent())!, /^[1-9]\d*$/);
      assert.equal(
        await page
          .locator(`#nodes tr[data-node="${CLUSTER_NAMES[leader]}"] td.http a`)
          .getAttribute('href'),
        `${cluster.urls[leader]}/`,
      );

      await cluster.stop(leader);
      const live = cluster.urls.filter((_, i) => i !== leader);
      const next = await leaderOf(live);
      assert.notEqual(next, leader);
      await page
        .locator(`#nodes tr[data-node="${CLUSTER_NAMES[next]}"][data-leader="true"]`)
        .waitFor({ timeout: WAIT_MS });
      await cell(page, 'orders/audit', 'leader')
        .filter({ hasText: `★ ${CLUSTER_NAMES[next]}` })
        .waitFor({ timeout: WAIT_MS });
      assert.equal(
        await page
          .locator(`#nodes tr[data-node="${CLUSTER_NAMES[leader]}"]`)
          .getAttribute('data-leader'),
        'false',
      );
      assert.deepEqual(opened.problems, []);
    } finally {
      await page?.close();
      await cluster.close();
    }
  });
});

/** What a cluster node would report: two peers, this node a replica, `leader` leading. */
function clusterStatus(local: NodeStatus, leader: string, tail: number): NodeStatus {
  const ids: Record<string, string> = {
    'node-a': '00000000000000a1',
    'node-b': '00000000000000b2',
    'node-c': '00000000000000c3',
  };
  const channel = local.channels[0]!;
  return {
    ...local,
    node: { ...local.node, nodeId: ids['node-a']!, mode: 'cluster', mesh: '127.0.0.1:7071' },
    peers: [
      {
        name: 'node-b',
        nodeId: ids['node-b']!,
        mesh: '127.0.0.1:7072',
        http: 'http://127.0.0.1:7172',
        connected: true,
        rttMs: 0.42,
      },
      {
        name: 'node-c',
        nodeId: ids['node-c']!,
        mesh: '127.0.0.1:7073',
        http: 'http://127.0.0.1:7173',
        connected: true,
        rttMs: 0.8,
      },
    ],
    channels: [
      {
        ...channel,
        role: 'replica',
        leader: { name: leader, nodeId: ids[leader]! },
        epoch: leader === 'node-b' ? 1 : 2,
        commitSeq: tail - 4,
        nextSeq: tail,
        replicas: ['node-a', 'node-b', 'node-c'].map((name) => ({
          name,
          nodeId: ids[name]!,
          self: name === 'node-a',
          role: name === leader ? 'leader' : 'replica',
          tailSeq: name === leader ? tail : tail - 4,
          lagEvents: name === leader ? 0 : 4,
          ...(name === 'node-a' ? {} : { matchedSeq: name === leader ? tail : tail - 4 }),
        })),
      },
    ],
  };
}
