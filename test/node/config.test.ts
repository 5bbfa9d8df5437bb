// The node config file: every field's default, bounds and error (each error names its field),
// the loopback rule for the HTTP API, file loading (JSON, size, token files, relative paths) and
// NodeIds derived from certificate files.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RedexErrorCode } from '../../src/log/errors.js';
import { createCa, createNodeCert } from '../../src/mesh/certs.js';
import {
  CONFIG_FILE_BYTES_MAX,
  HTTP_PORT_DEFAULT,
  loadNodeConfig,
  MEMBERS_MAX,
  type NodeConfig,
  parseNodeConfig,
  RETENTION_SWEEP_MS_DEFAULT,
  TOKEN_CHARS_MIN,
} from '../../src/node/config.js';
import { NodeConfigError } from '../../src/node/errors.js';
import { resolveMembers } from '../../src/node/members.js';
import { formatNodeId } from '../../src/node/node-id.js';
import { tempDir } from './helpers.js';

const BASE = '/etc/redex';
const TOKEN = 'a-token-of-24-characters';
const ID_A = '652f03ba688dde03';
const ID_B = '0000000000000002';

function parse(value: unknown): NodeConfig {
  return parseNodeConfig(value, { baseDir: BASE });
}

function minimal(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { node: 'node-a', dataDir: 'data', ...extra };
}

function cluster(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return minimal({
    tls: { ca: 'certs/ca.crt', cert: 'certs/node-a.crt', key: 'certs/node-a.key' },
    mesh: { listen: '0.0.0.0:7071' },
    members: [
      { name: 'node-a', mesh: '10.0.0.1:7071', http: 'http://10.0.0.1:7070' },
      { name: 'node-b', nodeId: ID_B, mesh: '10.0.0.2:7071', http: 'http://10.0.0.2:7070' },
    ],
    ...extra,
  });
}

/** Asserts a CONFIG error naming `field` (and matching `pattern`, when given). */
function rejects(value: unknown, field: string, pattern?: RegExp): void {
  assert.throws(
    () => parse(value),
    (error: unknown) => {
      assert.ok(error instanceof NodeConfigError, `expected NodeConfigError, got ${String(error)}`);
      assert.equal(error.code, RedexErrorCode.Config);
      assert.equal(error.field, field, error.message);
      assert.ok(error.message.startsWith(`redex: node config: ${field} `), error.message);
      if (pattern) assert.match(error.message, pattern);
      return true;
    },
  );
}

describe('defaults', () => {
  test('a minimal config: loopback HTTP on 7070, no mesh, no members, no channels', () => {
    const config = parse(minimal());
    assert.equal(config.node, 'node-a');
    assert.equal(config.dataDir, join(BASE, 'data'));
    assert.deepEqual(config.http, {
      listen: { host: '127.0.0.1', port: HTTP_PORT_DEFAULT },
      token: null,
      tokenFile: null,
      clientCerts: false,
      clientNames: [],
      hosts: [],
    });
    assert.equal(config.tls, null);
    assert.equal(config.mesh, null);
    assert.deepEqual(config.members, []);
    assert.deepEqual(config.channels, []);
    assert.equal(config.retentionSweepMs, RETENTION_SWEEP_MS_DEFAULT);
    assert.equal(config.logLevel, 'info');
  });

  test('an absolute dataDir stays as it is', () => {
    assert.equal(parse(minimal({ dataDir: '/var/lib/redex' })).dataDir, '/var/lib/redex');
  });
});

describe('top level', () => {
  test('the config must be an object', () => {
    rejects([], '(config)');
    rejects(null, '(config)');
    rejects('node-a', '(config)');
  });

  test('an unknown field is named (a typo must not silently take a default)', () => {
    rejects(minimal({ dataDIR: 'x' }), 'dataDIR', /not a known field/);
  });

  test('node: required, a DNS label', () => {
    rejects({ dataDir: 'd' }, 'node');
    for (const bad of ['', 'Node-A', '-a', 'a-', 'a_b', 'a.b', 'x'.repeat(64), 7]) {
      rejects(minimal({ node: bad }), 'node');
    }
    assert.equal(parse(minimal({ node: 'x'.repeat(63) })).node, 'x'.repeat(63));
  });

  test('dataDir: required, a non-empty string', () => {
    rejects({ node: 'a' }, 'dataDir');
    rejects(minimal({ dataDir: '' }), 'dataDir');
    rejects(minimal({ dataDir: 5 }), 'dataDir');
  });

  test('retentionSweepMs: 100..86400000', () => {
    assert.equal(parse(minimal({ retentionSweepMs: 100 })).retentionSweepMs, 100);
    rejects(minimal({ retentionSweepMs: 99 }), 'retentionSweepMs', /100\.\.86400000/);
    rejects(minimal({ retentionSweepMs: 86_400_001 }), 'retentionSweepMs');
    rejects(minimal({ retentionSweepMs: 1.5 }), 'retentionSweepMs');
  });

  test('logLevel: one of the pino levels', () => {
    assert.equal(parse(minimal({ logLevel: 'debug' })).logLevel, 'debug');
    rejects(minimal({ logLevel: 'verbose' }), 'logLevel', /fatal, error, warn, info/);
  });
});

describe('http', () => {
  test('listen: host:port, IPv6 in brackets, port 0 picks a free port', () => {
    assert.deepEqual(parse(minimal({ http: { listen: '127.0.0.2:80' } })).http.listen, {
      host: '127.0.0.2',
      port: 80,
    });
    assert.deepEqual(parse(minimal({ http: { listen: '[::1]:0' } })).http.listen, {
      host: '::1',
      port: 0,
    });
    assert.equal(
      parse(minimal({ http: { listen: 'localhost:7000' } })).http.listen.host,
      'localhost',
    );
    for (const bad of [
      '127.0.0.1',
      ':7070',
      '127.0.0.1:70000',
      '127.0.0.1:x',
      '::1:7070',
      '[127.0.0.1]:1',
      'bad host:1',
      7070,
    ]) {
      rejects(minimal({ http: { listen: bad } }), 'http.listen');
    }
  });

  test('a non-loopback address needs a token, a token file or client certificates', () => {
    for (const host of ['0.0.0.0:7070', '10.1.2.3:7070', '[::]:7070', 'example.com:7070']) {
      rejects(minimal({ http: { listen: host } }), 'http.listen', /not a loopback address/);
    }
    assert.equal(
      parse(minimal({ http: { listen: '0.0.0.0:7070', token: TOKEN } })).http.token,
      TOKEN,
    );
    assert.equal(
      parse(minimal({ http: { listen: '0.0.0.0:7070', tokenFile: 'http.token' } })).http.tokenFile,
      join(BASE, 'http.token'),
    );
    const withCerts = parse(
      minimal({
        tls: { ca: 'ca.crt', cert: 'a.crt', key: 'a.key' },
        http: { listen: '0.0.0.0:7070', clientCerts: true },
      }),
    );
    assert.equal(withCerts.http.clientCerts, true);
  });

  test('clientCerts needs the tls block and is a boolean', () => {
    rejects(minimal({ http: { clientCerts: true } }), 'http.clientCerts', /tls/);
    rejects(minimal({ http: { clientCerts: 'yes' } }), 'http.clientCerts');
  });

  test('clientNames (with clientCerts) and hosts are lists of names', () => {
    const tls = { ca: 'ca.crt', cert: 'a.crt', key: 'a.key' };
    const config = parse(
      minimal({
        tls,
        http: { clientCerts: true, clientNames: ['admin'], hosts: ['redex.example.com'] },
      }),
    );
    assert.deepEqual(config.http.clientNames, ['admin']);
    assert.deepEqual(config.http.hosts, ['redex.example.com']);
    rejects(minimal({ http: { clientNames: ['admin'] } }), 'http.clientNames', /clientCerts/);
    rejects(
      minimal({ tls, http: { clientCerts: true, clientNames: ['Not A Name'] } }),
      'http.clientNames[0]',
    );
    rejects(minimal({ http: { hosts: ['bad host'] } }), 'http.hosts[0]');
    rejects(minimal({ http: { hosts: 'x' } }), 'http.hosts');
  });

  test('token: 16..1024 printable characters, never echoed in the error', () => {
    const short = 'x'.repeat(TOKEN_CHARS_MIN - 1);
    rejects(minimal({ http: { token: short } }), 'http.token', /16\.\.1024 characters/);
    assert.throws(
      () => parse(minimal({ http: { token: short } })),
      (error: Error) => !error.message.includes(short),
    );
    rejects(minimal({ http: { token: 'has a space in it 12345' } }), 'http.token', /printable/);
    rejects(minimal({ http: { token: 42 } }), 'http.token');
    rejects(minimal({ http: { token: TOKEN, tokenFile: 't' } }), 'http.token', /both set/);
  });

  test('an unknown http field is named', () => {
    rejects(minimal({ http: { port: 7070 } }), 'http.port');
    rejects(minimal({ http: 'x' }), 'http');
  });
});

describe('tls and mesh', () => {
  test('tls paths resolve against the config directory', () => {
    const config = parse(minimal({ tls: { ca: 'c/ca.crt', cert: '/abs/a.crt', key: 'c/a.key' } }));
    assert.deepEqual(config.tls, {
      ca: join(BASE, 'c/ca.crt'),
      cert: '/abs/a.crt',
      key: join(BASE, 'c/a.key'),
    });
  });

  test('tls needs all three paths and nothing else', () => {
    rejects(minimal({ tls: { ca: 'a', cert: 'b' } }), 'tls.key');
    rejects(minimal({ tls: { ca: 'a', cert: 'b', key: 'c', pass: 'd' } }), 'tls.pass');
  });

  test('mesh.listen defaults to 0.0.0.0:7071 and is checked', () => {
    assert.deepEqual(parse(minimal({ mesh: {} })).mesh, {
      listen: { host: '0.0.0.0', port: 7071 },
      coalesceHeartbeats: true,
      nodeBeats: true,
    });
    rejects(minimal({ mesh: { listen: 'nope' } }), 'mesh.listen');
    rejects(minimal({ mesh: { address: 'x' } }), 'mesh.address');
  });

  test('mesh.coalesceHeartbeats is on unless set to false', () => {
    const off = parse(minimal({ mesh: { coalesceHeartbeats: false } })).mesh;
    assert.equal(off?.coalesceHeartbeats, false);
    rejects(minimal({ mesh: { coalesceHeartbeats: 'no' } }), 'mesh.coalesceHeartbeats');
    assert.equal(parse(minimal({ mesh: { nodeBeats: false } })).mesh?.nodeBeats, false);
    rejects(minimal({ mesh: { nodeBeats: 1 } }), 'mesh.nodeBeats');
  });
});

describe('members', () => {
  test('a two-member cluster parses, ids as given, addresses parsed, http normalized', () => {
    const config = parse(cluster());
    assert.equal(config.members.length, 2);
    const [a, b] = config.members;
    assert.equal(a!.nodeId, null);
    assert.equal(b!.nodeId, 2n);
    assert.deepEqual(b!.mesh, { host: '10.0.0.2', port: 7071 });
    assert.equal(b!.http, 'http://10.0.0.2:7070');
  });

  test('a cluster needs tls and mesh', () => {
    const base = cluster();
    rejects({ ...base, tls: undefined }, 'tls', /required/);
    rejects({ ...base, mesh: undefined }, 'mesh', /required/);
  });

  test('every member but this one needs a nodeId or a cert', () => {
    const members = [
      { name: 'node-a', mesh: '10.0.0.1:7071' },
      { name: 'node-b', mesh: '10.0.0.2:7071' },
    ];
    rejects(cluster({ members }), 'members[1]', /nodeId' or 'cert/);
    const withCert = parse(
      cluster({ members: [members[0], { ...members[1], cert: 'certs/node-b.crt' }] }),
    );
    assert.equal(withCert.members[1]!.cert, join(BASE, 'certs/node-b.crt'));
  });

  test('nodeId: 16 hex digits, not zero, unique', () => {
    const member = (nodeId: unknown) =>
      cluster({
        members: [
          { name: 'node-a', mesh: '10.0.0.1:7071' },
          { name: 'node-b', nodeId, mesh: '10.0.0.2:7071' },
        ],
      });
    for (const bad of [
      '652F03BA688DDE03',
      '652f03ba688dde0',
      '0x652f03ba688dd',
      '0000000000000000',
      7291050420889051,
      'node-a',
    ]) {
      rejects(member(bad), 'members[1].nodeId');
    }
    rejects(
      cluster({
        members: [
          { name: 'node-a', nodeId: ID_A, mesh: '10.0.0.1:7071' },
          { name: 'node-b', nodeId: ID_A, mesh: '10.0.0.2:7071' },
        ],
      }),
      'members[1].nodeId',
      /also the NodeId of "node-a"/,
    );
  });

  test('names and mesh addresses are unique; mesh is required in a cluster', () => {
    rejects(
      cluster({
        members: [
          { name: 'node-a', mesh: '10.0.0.1:7071' },
          { name: 'node-a', nodeId: ID_B, mesh: '10.0.0.2:7071' },
        ],
      }),
      'members[1].name',
      /repeats/,
    );
    rejects(
      cluster({
        members: [
          { name: 'node-a', mesh: '10.0.0.1:7071' },
          { name: 'node-b', nodeId: ID_B, mesh: '10.0.0.1:7071' },
        ],
      }),
      'members[1].mesh',
      /repeats/,
    );
    rejects(
      cluster({
        members: [
          { name: 'node-a', mesh: '10.0.0.1:7071' },
          { name: 'node-b', nodeId: ID_B },
        ],
      }),
      'members[1].mesh',
    );
    rejects(
      cluster({
        members: [
          { name: 'node-a', mesh: '10.0.0.1:0' },
          { name: 'node-b', nodeId: ID_B, mesh: '10.0.0.2:7071' },
        ],
      }),
      'members[0].mesh',
      /1\.\.65535/,
    );
  });

  test('http: an http(s) origin', () => {
    const withHttp = (http: unknown) => minimal({ members: [{ name: 'node-a', http }] });
    assert.equal(
      parse(withHttp('https://a.example:8443')).members[0]!.http,
      'https://a.example:8443',
    );
    for (const bad of [
      '10.0.0.1:7070',
      'ftp://a:1',
      'http://a:1/path',
      'http://a:1/?q=1',
      'http://u@a:1',
    ]) {
      rejects(withHttp(bad), 'members[0].http');
    }
  });

  test('the list must include this node, a known field set, and at most MEMBERS_MAX', () => {
    rejects(minimal({ members: [{ name: 'node-b' }] }), 'members', /does not list this node/);
    rejects(minimal({ members: [{ name: 'node-a', role: 'x' }] }), 'members[0].role');
    rejects(minimal({ members: {} }), 'members');
    const many = Array.from({ length: MEMBERS_MAX + 1 }, (_, i) => ({ name: `n${i}` }));
    rejects(minimal({ members: many }), 'members', new RegExp(`limit is ${MEMBERS_MAX}`));
  });
});

describe('channels', () => {
  test('persistent by default on a node; file and replication kept as given', () => {
    const config = parse(
      minimal({
        channels: [
          { name: 'orders/audit', file: { fsync: 'always', retention: { maxEvents: 10 } } },
          { name: 'scratch', file: { persistent: false }, replication: { factor: 1 } },
        ],
      }),
    );
    assert.deepEqual(config.channels[0], {
      name: 'orders/audit',
      file: { persistent: true, fsync: 'always', retention: { maxEvents: 10 } },
      replication: null,
    });
    assert.deepEqual(config.channels[1]!.file, { persistent: false });
    assert.deepEqual(config.channels[1]!.replication, { factor: 1 });
  });

  test('name: the channel-name rules, and unique', () => {
    rejects(minimal({ channels: [{ name: 'Orders' }] }), 'channels[0].name', /uppercase/);
    rejects(minimal({ channels: [{ name: 'a//b' }] }), 'channels[0].name');
    rejects(minimal({ channels: [{}] }), 'channels[0].name');
    rejects(minimal({ channels: [{ name: 'a' }, { name: 'a' }] }), 'channels[1].name', /repeats/);
  });

  test('file: the log config rules, with the inner field named', () => {
    rejects(
      minimal({ channels: [{ name: 'a', file: { fsync: 'sometimes' } }] }),
      'channels[0].file.fsync',
    );
    rejects(
      minimal({ channels: [{ name: 'a', file: { fsync: { everyN: 0 } } }] }),
      'channels[0].file.fsync.everyN',
    );
    rejects(
      minimal({ channels: [{ name: 'a', file: { retention: { maxEvents: -1 } } }] }),
      'channels[0].file.retention.maxEvents',
    );
    rejects(minimal({ channels: [{ name: 'a', file: { colour: 1 } }] }), 'channels[0].file.colour');
    rejects(minimal({ channels: [{ name: 'a', file: [] }] }), 'channels[0].file');
    rejects(
      minimal({ channels: [{ name: 'a', file: { replication: {} } }] }),
      'channels[0].file.replication',
      /next to 'file'/,
    );
  });

  test('replication: the replication config rules, with the field named', () => {
    rejects(
      minimal({ channels: [{ name: 'a', replication: { factor: 0 } }] }),
      'channels[0].replication.factor',
      /1\.\.16/,
    );
    rejects(
      minimal({ channels: [{ name: 'a', replication: { heartbeatMs: 50 } }] }),
      'channels[0].replication.heartbeatMs',
    );
    rejects(
      minimal({ channels: [{ name: 'a', replication: { speed: 1 } }] }),
      'channels[0].replication.speed',
    );
    rejects(minimal({ channels: [{ name: 'a', replication: 3 }] }), 'channels[0].replication');
  });

  test('pinned placement: member names or hex NodeIds, 1..16, no repeats', () => {
    const pinned = (list: unknown) =>
      cluster({ channels: [{ name: 'a', replication: { placement: { pinned: list } } }] });
    assert.deepEqual(parse(pinned(['node-a', ID_A])).channels[0]!.replication, {
      placement: { pinned: ['node-a', ID_A] },
    });
    rejects(pinned(['node-z']), 'channels[0].replication.placement.pinned[0]', /member name/);
    rejects(pinned(['node-a', 'node-a']), 'channels[0].replication.placement.pinned[1]', /repeats/);
    rejects(pinned([]), 'channels[0].replication.placement.pinned');
    rejects(
      pinned(Array.from({ length: 17 }, () => 'node-a')),
      'channels[0].replication.placement.pinned',
    );
    rejects(
      cluster({ channels: [{ name: 'a', replication: { placement: 'random' } }] }),
      'channels[0].replication.placement',
    );
  });
});

describe('loadNodeConfig', () => {
  let dir: { path: string; remove: () => Promise<void> };
  before(async () => {
    dir = await tempDir('config');
  });
  after(() => dir.remove());

  test('reads the file and resolves paths against its directory', async () => {
    const path = join(dir.path, 'node.json');
    await writeFile(path, JSON.stringify(minimal()));
    const config = await loadNodeConfig(path);
    assert.equal(config.dataDir, join(dir.path, 'data'));
  });

  test('a missing file, bad JSON and an oversized file are (file) errors', async () => {
    await assert.rejects(
      loadNodeConfig(join(dir.path, 'absent.json')),
      (error: NodeConfigError) => {
        assert.equal(error.field, '(file)');
        assert.match(error.message, /cannot be read/);
        return true;
      },
    );
    const bad = join(dir.path, 'bad.json');
    await writeFile(bad, '{ "node": "a", }');
    await assert.rejects(loadNodeConfig(bad), /\(file\) .*is not valid JSON/);
    const big = join(dir.path, 'big.json');
    await writeFile(big, `{"node":"a","dataDir":"d","x":"${'y'.repeat(CONFIG_FILE_BYTES_MAX)}"}`);
    await assert.rejects(loadNodeConfig(big), /bytes; the limit is/);
  });

  test('tokenFile: read, final newline dropped, contents checked and never echoed', async () => {
    const tokenPath = join(dir.path, 'http.token');
    await writeFile(tokenPath, `${TOKEN}\n`);
    const path = join(dir.path, 'with-token.json');
    await writeFile(
      path,
      JSON.stringify(minimal({ http: { listen: '0.0.0.0:0', tokenFile: 'http.token' } })),
    );
    assert.equal((await loadNodeConfig(path)).http.token, TOKEN);
    await writeFile(tokenPath, 'short-secret\n');
    await assert.rejects(loadNodeConfig(path), (error: NodeConfigError) => {
      assert.equal(error.field, 'http.tokenFile');
      assert.ok(!error.message.includes('short-secret'));
      return true;
    });
    const missing = join(dir.path, 'missing-token.json');
    await writeFile(missing, JSON.stringify(minimal({ http: { tokenFile: 'nope.token' } })));
    await assert.rejects(loadNodeConfig(missing), /http\.tokenFile .*cannot be read/);
  });
});

describe('resolveMembers', () => {
  test('NodeIds come from certificates; a nodeId that disagrees is refused', async () => {
    const dir = await tempDir('members');
    try {
      const ca = await createCa();
      const a = await createNodeCert(ca, 'node-a');
      const b = await createNodeCert(ca, 'node-b');
      await writeFile(join(dir.path, 'node-a.crt'), a.certPem);
      await writeFile(join(dir.path, 'node-b.crt'), b.certPem);
      const raw = cluster({
        members: [
          { name: 'node-a', mesh: '10.0.0.1:7071', http: 'http://10.0.0.1:7070' },
          { name: 'node-b', cert: 'node-b.crt', mesh: '10.0.0.2:7071' },
        ],
        tls: { ca: 'ca.crt', cert: 'node-a.crt', key: 'node-a.key' },
      });
      const config = parseNodeConfig(raw, { baseDir: dir.path });
      const { selfId, members } = await resolveMembers(config);
      assert.equal(selfId, a.nodeId);
      assert.deepEqual(
        members.map((member) => [member.name, member.nodeId, member.mesh, member.http]),
        [
          ['node-a', a.nodeId, '10.0.0.1:7071', 'http://10.0.0.1:7070'],
          ['node-b', b.nodeId, '10.0.0.2:7071', null],
        ],
      );
      const wrong = parseNodeConfig(
        {
          ...raw,
          members: [
            { name: 'node-a', mesh: '10.0.0.1:7071' },
            {
              name: 'node-b',
              cert: 'node-b.crt',
              nodeId: formatNodeId(a.nodeId),
              mesh: '10.0.0.2:7071',
            },
          ],
        },
        { baseDir: dir.path },
      );
      await assert.rejects(resolveMembers(wrong), (error: NodeConfigError) => {
        assert.equal(error.field, 'members[1].nodeId');
        assert.match(error.message, /certificate says/);
        return true;
      });
      const notCert = parseNodeConfig(
        { ...raw, tls: { ca: 'x', cert: 'node-a.crt.missing', key: 'y' } },
        { baseDir: dir.path },
      );
      await assert.rejects(resolveMembers(notCert), /tls\.cert .*cannot be read/);
    } finally {
      await dir.remove();
    }
  });
});
