// The `redex` commands in-process against an in-process node: channel admin, append (arguments,
// stdin, base64, batches), read (formats, ranges, pages and progress), tail (backfill, live,
// LAGGED, interruption), status, connection options (URL, tokens), help and version on every
// command, usage errors, demo options, and certificates.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createCa, createNodeCert } from '../../src/mesh/certs.js';
import { nodeIdFromCertificate } from '../../src/mesh/identity.js';
import { formatNodeId } from '../../src/node/node-id.js';
import { packageVersion } from '../../src/node/version.js';
import {
  api,
  eventually,
  memorySpec,
  startTestNode,
  type TestNode,
  tempDir,
} from '../node/helpers.js';
import { redex } from './helpers.js';

const TOKEN = 'cli-token-0123456789abcdef';

async function payloads(node: TestNode, channel: string): Promise<string[]> {
  const answer = await api(
    node.url,
    'GET',
    `/channels/${encodeURIComponent(channel)}/events?encoding=utf8&limit=10000`,
  );
  return answer.json.events.map((event: { payload: string }) => event.payload);
}

describe('help, version and usage', () => {
  test('--version prints the package version', async () => {
    const result = await redex(['--version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), packageVersion());
  });

  test('no arguments prints the help', async () => {
    const result = await redex([]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Usage: redex \[options\] \[command\]/);
    for (const command of [
      'serve',
      'certs',
      'channel',
      'append',
      'read',
      'tail',
      'status',
      'demo',
    ]) {
      assert.match(result.stdout, new RegExp(`\\n  ${command}\\b`), command);
    }
  });

  test('--help works on every command', async () => {
    for (const path of [
      [],
      ['serve'],
      ['certs'],
      ['certs', 'init'],
      ['certs', 'issue'],
      ['channel'],
      ['channel', 'create'],
      ['channel', 'list'],
      ['channel', 'show'],
      ['append'],
      ['read'],
      ['tail'],
      ['status'],
      ['demo'],
    ]) {
      const result = await redex([...path, '--help']);
      assert.equal(result.code, 0, path.join(' '));
      assert.match(
        result.stdout,
        new RegExp(`^Usage: redex${path.map((part) => ` ${part}`).join('')}\\b`),
        path.join(' '),
      );
      assert.equal(result.stderr, '');
    }
  });

  test('usage mistakes exit 2 with a message', async () => {
    const unknown = await redex(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    const missing = await redex(['read']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing required argument 'channel'/);
    const option = await redex(['status', '--bogus']);
    assert.equal(option.code, 2);
    assert.match(option.stderr, /unknown option '--bogus'/);
    const badInt = await redex(['read', 'a', '--from', 'x']);
    assert.equal(badInt.code, 2);
    assert.match(badInt.stderr, /--from must be an integer/);
    const badUrl = await redex(['status', '--url', 'ftp://x']);
    assert.equal(badUrl.code, 2);
    const noConfig = await redex(['serve']);
    assert.equal(noConfig.code, 2);
    assert.match(noConfig.stderr, /serve needs a data directory: give --data-dir DIR/);
  });

  test('demo refuses bad options before starting anything (the run itself: test/e2e)', async () => {
    const rate = await redex(['demo', '--rate', '0']);
    assert.equal(rate.code, 2);
    assert.match(rate.stderr, /^redex: --rate must be an integer in 1\.\.10000, got 0/);
    const heartbeat = await redex(['demo', '--drill', '--heartbeat-ms', '50']);
    assert.equal(heartbeat.code, 2);
    assert.match(heartbeat.stderr, /--heartbeat-ms must be an integer in 100\.\.300000/);
  });

  test('an interrupt stops a request that gets no answer: exit 130', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const interrupt = new AbortController();
      const running = redex(['status', '--url', url], { signal: interrupt.signal });
      await eventually(() => sockets.length === 1, 'the request reached the silent server');
      interrupt.abort();
      const result = await running;
      assert.equal(result.code, 130);
      assert.equal(result.stderr, 'redex: interrupted\n');
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  test('an unreachable node is exit 1 with the address', async () => {
    const result = await redex(['status', '--url', 'http://127.0.0.1:1']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot reach the node at http:\/\/127\.0\.0\.1:1: ECONNREFUSED/);
  });
});

describe('against a node', () => {
  let node: TestNode;
  let url: string[];
  before(async () => {
    node = await startTestNode({ channels: [memorySpec('orders/audit')] });
    url = ['--url', node.url];
  });
  after(() => node.close());

  test('channel create: new, again, conflicting, with options, as JSON', async () => {
    const created = await redex([...url, 'channel', 'create', 'made/here']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'created channel made/here (in memory)\n');
    const again = await redex([...url, 'channel', 'create', 'made/here']);
    assert.match(again.stdout, /already exists with this config/);
    const conflict = await redex([...url, 'channel', 'create', 'made/here', '--tail-buffer', '9']);
    assert.equal(conflict.code, 1);
    assert.match(
      conflict.stderr,
      /^redex: channel "made\/here" is already open with a different config/,
    );
    const options = await redex([
      ...url,
      'channel',
      'create',
      'tuned',
      '--fsync',
      'every:5',
      '--retention-events',
      '100',
      '--retention-age-ms',
      '60000',
      '--replication-factor',
      '3',
      '--json',
    ]);
    assert.equal(options.code, 0, options.stderr);
    const answer = JSON.parse(options.stdout);
    assert.equal(answer.created, true);
    assert.deepEqual(answer.channel.file, {
      persistent: false,
      fsync: { everyN: 5 },
      retention: { maxEvents: 100, maxAgeMs: 60000 },
    });
    assert.deepEqual(answer.channel.replication, { factor: 3 });
    const spec = await redex([
      ...url,
      'channel',
      'create',
      'from/spec',
      '--spec',
      '{"file":{"tailBufferSize":7}}',
      '--json',
    ]);
    assert.deepEqual(JSON.parse(spec.stdout).channel.file, {
      persistent: false,
      tailBufferSize: 7,
    });
    const badFsync = await redex([...url, 'channel', 'create', 'x', '--fsync', 'sometimes']);
    assert.equal(badFsync.code, 2);
    const badName = await redex([...url, 'channel', 'create', 'Bad/Name']);
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /^redex: channel spec: name is not a valid channel name/);
  });

  test('channel list and show', async () => {
    const list = await redex([...url, 'channel', 'list']);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /^CHANNEL\s+ROLE\s+LEADER\s+FIRST\s+TAIL/);
    assert.match(list.stdout, /\norders\/audit\s+standalone\s+node-a\s/);
    const json = JSON.parse((await redex([...url, 'channel', 'list', '--json'])).stdout);
    assert.ok(json.channels.some((channel: { name: string }) => channel.name === 'orders/audit'));
    const show = await redex([...url, 'channel', 'show', 'orders/audit']);
    assert.equal(JSON.parse(show.stdout).name, 'orders/audit');
    const missing = await redex([...url, 'channel', 'show', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not open on this node/);
  });

  test('append from arguments: one event, a batch, base64, JSON', async () => {
    await redex([...url, 'channel', 'create', 'args']);
    const one = await redex([...url, 'append', 'args', 'hello']);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout, 'args: appended 1 event, seq 0\n');
    const batch = await redex([...url, 'append', 'args', 'a', 'b', 'c']);
    assert.equal(batch.stdout, 'args: appended 3 events, seqs 1..3\n');
    const binary = await redex([
      ...url,
      'append',
      'args',
      '--base64',
      Buffer.from([0xde, 0xad]).toString('base64'),
    ]);
    assert.equal(binary.code, 0);
    const json = await redex([...url, 'append', 'args', 'x', '--json']);
    assert.deepEqual(JSON.parse(json.stdout), { firstSeq: 5, lastSeq: 5, count: 1 });
    const events = await api(node.url, 'GET', '/channels/args/events');
    assert.deepEqual(
      events.json.events.map((event: { payload: string }) =>
        Buffer.from(event.payload, 'base64').toString('hex'),
      ),
      ['68656c6c6f', '61', '62', '63', 'dead', '78'],
    );
    const bad = await redex([...url, 'append', 'args', '--base64', 'not base64']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not valid base64/);
    const missing = await redex([...url, 'append', 'nope', 'x']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^redex: channel "nope" is not open on this node\n$/);
  });

  test('append from stdin: one event per line, in batches, CRLF and a last line without newline', async () => {
    await redex([...url, 'channel', 'create', 'lines']);
    const lines = Array.from({ length: 2500 }, (_, i) => `line ${i}`);
    const input = [
      `${lines.slice(0, 1000).join('\n')}\n`,
      `${lines.slice(1000, 2499).join('\r\n')}\r\n`,
      lines[2499]!,
    ];
    const before = await batchRequests(node);
    const result = await redex([...url, 'append', 'lines', '--batch', '1000'], { stdin: input });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'lines: appended 2500 events, seqs 0..2499\n');
    assert.deepEqual(await payloads(node, 'lines'), lines);
    assert.equal((await batchRequests(node)) - before, 3, '2500 lines in batches of 1000');
    const empty = await redex([...url, 'append', 'lines'], { stdin: '' });
    assert.equal(empty.stdout, 'lines: nothing appended\n');
    const blank = await redex([...url, 'append', 'lines'], { stdin: '\n' });
    assert.equal(
      blank.stdout,
      'lines: appended 1 event, seq 2500\n',
      'an empty line is an empty event',
    );
  });

  test('read: text, json and base64; from, to and count', async () => {
    await redex([...url, 'channel', 'create', 'readme']);
    await redex([...url, 'append', 'readme', 'zero', 'one', 'two', 'three']);
    const text = await redex([...url, 'read', 'readme']);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, 'zero\none\ntwo\nthree\n');
    assert.equal(text.stderr, '', 'one page: no progress lines');
    const range = await redex([...url, 'read', 'readme', '--from', '1', '--to', '3']);
    assert.equal(range.stdout, 'one\ntwo\n');
    const count = await redex([...url, 'read', 'readme', '--count', '2']);
    assert.equal(count.stdout, 'zero\none\n');
    const json = await redex([...url, 'read', 'readme', '--format', 'json', '--from', '3']);
    const event = JSON.parse(json.stdout);
    assert.equal(event.seq, 3);
    assert.equal(event.payload, 'three');
    const b64 = await redex([...url, 'read', 'readme', '--format', 'base64', '--count', '1']);
    assert.equal(b64.stdout, `${Buffer.from('zero').toString('base64')}\n`);
    const bad = await redex([...url, 'read', 'readme', '--format', 'xml']);
    assert.equal(bad.code, 2);
  });

  test('read: many pages report progress on stderr; --quiet silences it', async () => {
    await redex([...url, 'channel', 'create', 'long']);
    await redex([...url, 'append', 'long'], {
      stdin: `${Array.from({ length: 50 }, (_, i) => `e${i}`).join('\n')}\n`,
    });
    const result = await redex([...url, 'read', 'long', '--page', '7']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.split('\n').length - 1, 50);
    assert.match(result.stderr, /redex: read 50 events from long\n$/);
    const quiet = await redex([...url, 'read', 'long', '--page', '7', '--quiet']);
    assert.equal(quiet.stderr, '');
    const tty = await redex([...url, 'read', 'long', '--page', '7'], { stderrIsTTY: true });
    assert.ok(
      tty.stderr.endsWith('\r\u001b[Kredex: read 50 events from long\n'),
      JSON.stringify(tty.stderr),
    );
  });

  test('read: a long range is streamed, with --count and --to, and ends at the tail as of the start', async () => {
    await node.local!.createChannel({
      name: 'range',
      file: { persistent: false },
      replication: null,
    });
    const file = (await node.redex!.getFile('range'))!;
    await file.appendBatch(Array.from({ length: 5000 }, (_, i) => Buffer.from(`r${i}`)));
    const all = await redex([...url, 'read', 'range']);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 5000);
    assert.equal(lines[4999], 'r4999');
    assert.match(all.stderr, /redex: read 5,000 events from range\n$/);
    const some = await redex([
      ...url,
      'read',
      'range',
      '--from',
      '10',
      '--to',
      '4000',
      '--count',
      '3',
    ]);
    assert.equal(some.stdout, 'r10\nr11\nr12\n');
    const middle = await redex([...url, 'read', 'range', '--from', '4998', '--to', '5000']);
    assert.equal(middle.stdout, 'r4998\nr4999\n');
    assert.equal((await node.service.channel('range')).tails, 0, 'every stream was closed');
  });

  test('read: a non-UTF-8 event in text mode is printed in base64 with a note', async () => {
    await redex([...url, 'channel', 'create', 'binary']);
    await api(node.url, 'POST', '/channels/binary/events', {
      body: Buffer.from([0xff, 0xfe]),
      headers: { 'content-type': 'application/octet-stream' },
    });
    const result = await redex([...url, 'read', 'binary']);
    assert.equal(result.stdout, '//4=\n');
    assert.match(result.stderr, /not UTF-8/);
  });

  test('read: evicted history is skipped with a note', async () => {
    await node.local!.createChannel({
      name: 'evicted',
      file: { persistent: false, retention: { maxEvents: 2 } },
      replication: null,
    });
    await redex([...url, 'append', 'evicted', 'a', 'b', 'c', 'd']);
    await node.redex!.sweepRetention();
    const result = await redex([...url, 'read', 'evicted']);
    assert.equal(result.stdout, 'c\nd\n');
    assert.match(result.stderr, /events 0\.\.1 are no longer retained/);
  });

  test('tail: backfill and live events, then exit after --count', async () => {
    await redex([...url, 'channel', 'create', 'follow']);
    await redex([...url, 'append', 'follow', 'first', 'second']);
    const running = redex([...url, 'tail', 'follow', '--count', '3']);
    await eventually(
      async () => (await node.service.channel('follow')).tails === 1,
      'the tail is connected',
    );
    await redex([...url, 'append', 'follow', 'third']);
    const result = await running;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'first\nsecond\nthird\n');
    const json = await redex([
      ...url,
      'tail',
      'follow',
      '--from',
      '2',
      '--count',
      '1',
      '--format',
      'json',
    ]);
    assert.equal(JSON.parse(json.stdout).payload, 'third');
  });

  test('tail: an interrupt ends it cleanly (exit 0)', async () => {
    await redex([...url, 'channel', 'create', 'stop']);
    const interrupt = new AbortController();
    const running = redex([...url, 'tail', 'stop'], { signal: interrupt.signal });
    await eventually(
      async () => (await node.service.channel('stop')).tails === 1,
      'the tail is connected',
    );
    interrupt.abort();
    const result = await running;
    assert.equal(result.code, 0, result.stderr);
    await eventually(
      async () => (await node.service.channel('stop')).tails === 0,
      'the node freed the tail',
    );
  });

  test('tail: LAGGED exits 1 and says where to resume', async () => {
    await node.local!.createChannel({
      name: 'lagged',
      file: { persistent: false, retention: { maxEvents: 1 } },
      replication: null,
    });
    await redex([...url, 'append', 'lagged', 'a', 'b', 'c']);
    await node.redex!.sweepRetention();
    const result = await redex([...url, 'tail', 'lagged', '--from', '0']);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^redex: LAGGED: tail of "lagged" lagged at seq 0: .*the first retained seq is 2 \(resume with --from 2\)\n$/,
    );
  });

  test('tail: a history of 5,000 events is printed from --from 0, then the tail goes on', async () => {
    await node.local!.createChannel({
      name: 'history',
      file: { persistent: false },
      replication: null,
    });
    const file = (await node.redex!.getFile('history'))!;
    await file.appendBatch(Array.from({ length: 5000 }, (_, i) => Buffer.from(`e${i}`)));
    const result = await redex([...url, 'tail', 'history', '--from', '0', '--count', '5000']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 5000);
    assert.equal(lines[0], 'e0');
    assert.equal(lines[4999], 'e4999');
  });

  test('status: a table or JSON', async () => {
    const result = await redex([...url, 'status']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^node node-a · redex \S+ · single · up \d+s · accepting writes\n/);
    assert.match(result.stdout, /\npeers: none\n/);
    assert.match(result.stdout, /\norders\/audit\s+standalone/);
    const json = JSON.parse((await redex([...url, 'status', '--json'])).stdout);
    assert.equal(json.node.name, 'node-a');
  });

  test('REDEX_URL picks the node when --url is absent', async () => {
    const result = await redex(['status', '--json'], { env: { REDEX_URL: node.url } });
    assert.equal(result.code, 0, result.stderr);
  });
});

async function batchRequests(node: TestNode): Promise<number> {
  const text = (await api(node.url, 'GET', '/metrics')).text;
  const match = /redex_http_requests_total\{route="events",method="POST",status="201"\} (\d+)/.exec(
    text,
  );
  return match ? Number(match[1]) : 0;
}

describe('authentication options', () => {
  let node: TestNode;
  let dir: { path: string; remove: () => Promise<void> };
  before(async () => {
    node = await startTestNode({ token: TOKEN });
    dir = await tempDir('cli-token');
  });
  after(async () => {
    await node.close();
    await dir.remove();
  });

  test('no token: UNAUTHORIZED, exit 1', async () => {
    const result = await redex(['--url', node.url, 'status']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /requires a bearer token/);
  });

  test('--token, --token-file and REDEX_TOKEN', async () => {
    assert.equal((await redex(['--url', node.url, '--token', TOKEN, 'status'])).code, 0);
    const file = join(dir.path, 'token');
    await writeFile(file, `${TOKEN}\n`);
    assert.equal((await redex(['--url', node.url, '--token-file', file, 'status'])).code, 0);
    assert.equal(
      (await redex(['--url', node.url, 'status'], { env: { REDEX_TOKEN: TOKEN } })).code,
      0,
    );
    const missing = await redex([
      '--url',
      node.url,
      '--token-file',
      join(dir.path, 'nope'),
      'status',
    ]);
    assert.equal(missing.code, 2);
  });

  test('client certificates for an HTTPS node', async () => {
    const ca = await createCa();
    const server = await createNodeCert(ca, 'node-a', { hosts: ['127.0.0.1'] });
    const client = await createNodeCert(ca, 'operator');
    const files = {
      ca: join(dir.path, 'ca.crt'),
      cert: join(dir.path, 'operator.crt'),
      key: join(dir.path, 'operator.key'),
    };
    await writeFile(files.ca, ca.certPem);
    await writeFile(files.cert, client.certPem);
    await writeFile(files.key, client.keyPem);
    const secure = await startTestNode({
      http: { tls: { ca: ca.certPem, cert: server.certPem, key: server.keyPem } },
    });
    try {
      const ok = await redex([
        '--url',
        secure.url,
        '--ca',
        files.ca,
        '--cert',
        files.cert,
        '--key',
        files.key,
        'status',
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      const refused = await redex(['--url', secure.url, '--ca', files.ca, 'status']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /cannot reach the node/);
    } finally {
      await secure.close();
    }
  });
});

describe('certs', () => {
  test('init makes the CA; issue makes node files and prints the NodeId; no silent overwrite', async () => {
    const dir = await tempDir('cli-certs');
    try {
      const certs = join(dir.path, 'certs');
      const init = await redex(['certs', 'init', '--dir', certs]);
      assert.equal(init.code, 0, init.stderr);
      assert.match(init.stdout, /created the cluster CA: .*ca\.crt and .*ca\.key/);
      assert.equal((await stat(join(certs, 'ca.key'))).mode & 0o777, 0o600);
      const issue = await redex([
        'certs',
        'issue',
        'node-a',
        '--dir',
        certs,
        '--host',
        '127.0.0.1',
        '--host',
        'a.example',
      ]);
      assert.equal(issue.code, 0, issue.stderr);
      const nodeId = formatNodeId(
        nodeIdFromCertificate(await readFile(join(certs, 'node-a.crt'), 'utf8')),
      );
      assert.match(issue.stdout, new RegExp(`NodeId ${nodeId} `));
      assert.match(issue.stdout, new RegExp(`"nodeId": "${nodeId}"`));
      const again = await redex(['certs', 'init', '--dir', certs]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already exists/);
      assert.equal((await redex(['certs', 'issue', 'node-a', '--dir', certs, '--force'])).code, 0);
      const badName = await redex(['certs', 'issue', 'Node_A', '--dir', certs]);
      assert.equal(badName.code, 1);
      assert.match(badName.stderr, /DNS label/);
      const noCa = await redex(['certs', 'issue', 'node-b', '--dir', join(dir.path, 'empty')]);
      assert.equal(noCa.code, 1);
      assert.match(noCa.stderr, /does not exist/);
      const client = await redex(['certs', 'issue', 'admin', '--client', '--dir', certs]);
      assert.equal(client.code, 0, client.stderr);
      assert.match(client.stdout, /issued client admin: .*admin\.crt .*\n.*http\.clientNames/);
      const usages = new X509Certificate(await readFile(join(certs, 'admin.crt'))).keyUsage;
      assert.deepEqual(usages, ['1.3.6.1.5.5.7.3.2'], 'clientAuth only');
      assert.equal((await stat(join(certs, 'admin.key'))).mode & 0o777, 0o600);
      const withHost = await redex([
        'certs',
        'issue',
        'ops',
        '--client',
        '--host',
        'x',
        '--dir',
        certs,
      ]);
      assert.equal(withHost.code, 2);
    } finally {
      await dir.remove();
    }
  });
});
