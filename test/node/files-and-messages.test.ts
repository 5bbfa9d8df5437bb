// Finding 7 (files and messages): data files were created 0644 inside a 0700 directory; error
// answers carried absolute data paths; `certs issue --force` rewrote an existing key file in
// place (through a symlink, too) before fixing its mode; a stale pid file was overwritten in place
// (also through a symlink); and the API token was forwarded in clear text to non-loopback members.

import assert from 'node:assert/strict';
import { lstat, readdir, readFile, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { IoError } from '../../src/log/errors.js';
import { initCa, issueClientCert, issueNodeCert } from '../../src/mesh/certs.js';
import { parseNodeConfig } from '../../src/node/config.js';
import { postJson } from '../../src/node/forward.js';
import { type NodeLogger, silentLogger } from '../../src/node/logger.js';
import { startNode } from '../../src/node/node.js';
import { PID_FILE, PidLock } from '../../src/node/pid-lock.js';
import { FakeService } from './fake-service.js';
import { api, startTestNode, tempDir } from './helpers.js';

async function modes(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const name of await readdir(dir, { recursive: true })) {
    out.set(name, (await stat(join(dir, name))).mode & 0o777);
  }
  return out;
}

describe('file modes', () => {
  test('every file a node writes is 0600 and every directory 0700', async () => {
    const dir = await tempDir('modes');
    try {
      const config = parseNodeConfig(
        { node: 'solo', dataDir: 'data', channels: [{ name: 'orders/audit' }] },
        { baseDir: dir.path },
      );
      const node = await startNode(config, { httpListen: { host: '127.0.0.1', port: 0 } });
      try {
        await api(node.url, 'POST', '/channels', { json: { name: 'made/later' } });
        await api(node.url, 'POST', '/channels/orders%2Faudit/events', {
          json: { payload: 'x', encoding: 'utf8' },
        });
        const found = await modes(config.dataDir);
        assert.ok(found.has(PID_FILE) && found.has('channels.json'), [...found.keys()].join());
        assert.ok(found.size > 4, 'log files were written');
        for (const [name, mode] of found) {
          const isDir = (await stat(join(config.dataDir, name))).isDirectory();
          assert.equal(mode, isDir ? 0o700 : 0o600, `${name} is ${mode.toString(8)}`);
        }
      } finally {
        await node.stop();
      }
    } finally {
      await dir.remove();
    }
  });
});

describe('the pid file', () => {
  test('a stale pid file is replaced, never written through (a planted symlink stays unused)', async () => {
    const dir = await tempDir('pid');
    try {
      const victim = join(dir.path, 'victim');
      // A pid that cannot be alive: above the kernel's pid range.
      await writeFile(victim, '2147483646\n');
      await symlink(victim, join(dir.path, PID_FILE));
      const lock = await PidLock.acquire(dir.path);
      assert.equal(
        await readFile(victim, 'utf8'),
        '2147483646\n',
        'the symlink target is untouched',
      );
      const info = await lstat(lock.path);
      assert.ok(info.isFile(), 'the pid file is a regular file again');
      assert.equal(info.mode & 0o777, 0o600);
      assert.equal((await readFile(lock.path, 'utf8')).trim(), String(process.pid));
      assert.deepEqual((await readdir(dir.path)).sort(), [PID_FILE, 'victim']);
      await lock.release();
    } finally {
      await dir.remove();
    }
  });
});

describe('error answers', () => {
  test('a storage failure answers without the data path; the log has it', async () => {
    const path = '/var/lib/redex/secret-place/channels/x/data.log';
    const service = new FakeService({
      status: () => Promise.reject(new IoError(`writing ${path} failed`, new Error('EIO'))),
    });
    const logged: unknown[] = [];
    const logger: NodeLogger = {
      ...silentLogger,
      error: (fields: object) => logged.push(fields),
    };
    const node = await startTestNode({ service, http: { logger } });
    try {
      const answer = await api(node.url, 'GET', '/status');
      assert.equal(answer.status, 500);
      assert.equal(answer.json.error.code, 'IO');
      assert.ok(!answer.text.includes('/var/lib'), answer.text);
      assert.match(
        JSON.stringify(logged, (_, v) => (v instanceof Error ? v.message : v)),
        /secret-place/,
      );
    } finally {
      await node.close();
    }
  });
});

describe('certificate files', () => {
  test('issue --force replaces key and certificate files whole, never through a symlink', async () => {
    const dir = await tempDir('certs');
    try {
      await initCa(dir.path);
      await issueNodeCert(dir.path, 'node-a');
      const victim = join(dir.path, 'victim');
      await writeFile(victim, 'not a key\n', { mode: 0o644 });
      const keyPath = join(dir.path, 'node-a.key');
      await unlink(keyPath);
      await symlink(victim, keyPath);
      await issueNodeCert(dir.path, 'node-a', { force: true });
      assert.equal(await readFile(victim, 'utf8'), 'not a key\n');
      const info = await lstat(keyPath);
      assert.ok(info.isFile());
      assert.equal(info.mode & 0o777, 0o600);
      assert.match(await readFile(keyPath, 'utf8'), /PRIVATE KEY/);
      const client = await issueClientCert(dir.path, 'admin');
      assert.equal((await stat(client.keyPath)).mode & 0o777, 0o600);
      assert.ok(!(await readdir(dir.path)).some((name) => name.endsWith('.tmp')));
    } finally {
      await dir.remove();
    }
  });
});

describe('forwarding a create to another member', () => {
  const options = { token: 'a-token-long-enough-1234', tls: null, timeoutMs: 2_000 };

  test('the token is never sent over plain http to a non-loopback address', async () => {
    for (const origin of ['http://10.0.0.2:7070', 'http://[fd00::2]:7070', 'http://redex-b:7070']) {
      await assert.rejects(postJson(origin, '/channels', {}, options), /plain http/, origin);
    }
  });

  test('loopback over http still works (a cluster on one machine)', async () => {
    let authorization: string | undefined;
    const server = http.createServer((req, res) => {
      authorization = req.headers.authorization;
      req.resume();
      res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const answer = await postJson(`http://127.0.0.1:${port}`, '/channels', {}, options);
      assert.equal(answer.status, 201);
      assert.equal(authorization, `Bearer ${options.token}`);
    } finally {
      server.close();
    }
  });
});
