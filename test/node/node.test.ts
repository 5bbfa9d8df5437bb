// startNode: a node from a config, in-process. Channels from the config and from the registry
// come back after a restart with their events; one node per data directory; a cluster config is
// refused clearly until the mesh lands; a failed start leaves nothing behind.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createCa, createNodeCert } from '../../src/mesh/certs.js';
import { parseNodeConfig } from '../../src/node/config.js';
import { NodeConfigError, NodeError, NodeErrorCode } from '../../src/node/errors.js';
import { startNode } from '../../src/node/node.js';
import { PID_FILE } from '../../src/node/pid-lock.js';
import { api, tempDir } from './helpers.js';

const LISTEN = { host: '127.0.0.1', port: 0 };

describe('startNode', () => {
  test('serves the config channels persistently; API channels come back after a restart', async () => {
    const dir = await tempDir('node');
    try {
      const config = parseNodeConfig(
        {
          node: 'solo',
          dataDir: 'data',
          channels: [{ name: 'orders/audit', file: { fsync: 'always' } }],
        },
        { baseDir: dir.path },
      );
      const first = await startNode(config, { httpListen: LISTEN });
      assert.equal(
        (await readFile(join(config.dataDir, PID_FILE), 'utf8')).trim(),
        String(process.pid),
      );
      const status = await api(first.url, 'GET', '/status');
      assert.equal(status.json.node.http, first.url, 'the node advertises where it listens');
      assert.equal(status.json.channels[0].persistent, true);
      await api(first.url, 'POST', '/channels', { json: { name: 'made/later' } });
      await api(first.url, 'POST', '/channels/orders%2Faudit/events', {
        json: { events: ['a', 'b'], encoding: 'utf8' },
      });
      await api(first.url, 'POST', '/channels/made%2Flater/events', {
        json: { payload: 'c', encoding: 'utf8' },
      });
      await first.stop();
      await first.stop();
      await assert.rejects(
        readFile(join(config.dataDir, PID_FILE)),
        /ENOENT/,
        'the lock is released',
      );
      await assert.rejects(fetch(`${first.url}/healthz`), 'the API is closed');

      const second = await startNode(config, { httpListen: LISTEN });
      try {
        const names = (await api(second.url, 'GET', '/channels')).json.channels.map(
          (c: { name: string }) => c.name,
        );
        assert.deepEqual(names, ['made/later', 'orders/audit']);
        const audit = await api(second.url, 'GET', '/channels/orders%2Faudit/events?encoding=utf8');
        assert.deepEqual(
          audit.json.events.map((e: { payload: string }) => e.payload),
          ['a', 'b'],
        );
        const later = await api(second.url, 'GET', '/channels/made%2Flater/events?encoding=utf8');
        assert.deepEqual(
          later.json.events.map((e: { payload: string }) => e.payload),
          ['c'],
        );
      } finally {
        await second.stop();
      }
    } finally {
      await dir.remove();
    }
  });

  test('a second node on the same data directory is refused while the first runs', async () => {
    const dir = await tempDir('node-lock');
    try {
      const config = parseNodeConfig({ node: 'solo', dataDir: 'data' }, { baseDir: dir.path });
      const first = await startNode(config, { httpListen: LISTEN });
      try {
        // Pretend another live process (our parent) owns it, as a second `serve` would see.
        await writeFile(join(config.dataDir, PID_FILE), `${process.ppid}\n`);
        await assert.rejects(startNode(config, { httpListen: LISTEN }), (error: unknown) => {
          assert.ok(error instanceof NodeError);
          assert.equal(error.code, NodeErrorCode.DataDirLocked);
          return true;
        });
        assert.equal(
          (await api(first.url, 'GET', '/healthz')).status,
          200,
          'the first node is untouched',
        );
      } finally {
        await first.stop();
      }
    } finally {
      await dir.remove();
    }
  });

  test('a cluster whose mesh cannot start (no key file) fails the start and leaves nothing behind', async () => {
    const dir = await tempDir('node-cluster');
    try {
      const ca = await createCa();
      const a = await createNodeCert(ca, 'node-a');
      await writeFile(join(dir.path, 'ca.crt'), ca.certPem);
      await writeFile(join(dir.path, 'node-a.crt'), a.certPem);
      const config = parseNodeConfig(
        {
          node: 'node-a',
          dataDir: 'data',
          tls: { ca: 'ca.crt', cert: 'node-a.crt', key: 'node-a.key' },
          mesh: { listen: '127.0.0.1:0' },
          members: [
            { name: 'node-a', mesh: '127.0.0.1:7071' },
            { name: 'node-b', nodeId: '0000000000000002', mesh: '127.0.0.1:7072' },
          ],
        },
        { baseDir: dir.path },
      );
      await assert.rejects(startNode(config, { httpListen: LISTEN }), (error: unknown) => {
        assert.ok(error instanceof NodeConfigError);
        assert.equal(error.field, 'tls.key');
        return true;
      });
      await assert.rejects(readFile(join(config.dataDir, PID_FILE)), /ENOENT/);
    } finally {
      await dir.remove();
    }
  });

  test('a port in use fails the start and releases the data directory', async () => {
    const dir = await tempDir('node-port');
    try {
      const config = parseNodeConfig({ node: 'solo', dataDir: 'data' }, { baseDir: dir.path });
      const other = parseNodeConfig({ node: 'solo', dataDir: 'other' }, { baseDir: dir.path });
      const first = await startNode(config, { httpListen: LISTEN });
      try {
        const port = Number(new URL(first.url).port);
        await assert.rejects(
          startNode(other, { httpListen: { host: '127.0.0.1', port } }),
          /EADDRINUSE/,
        );
        await assert.rejects(readFile(join(other.dataDir, PID_FILE)), /ENOENT/);
      } finally {
        await first.stop();
      }
    } finally {
      await dir.remove();
    }
  });
});
