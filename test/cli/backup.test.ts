// `redex backup` and `redex restore` against a real node over HTTP: a round trip gives the same
// bytes at the same seqs, a damaged file is refused before anything is written, a failed or
// interrupted backup leaves no file, progress goes to stderr.

import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TRAILER_BYTES } from '../../src/cli/backup/format.js';
import { memorySpec, startTestNode, type TestNode, tempDir } from '../node/helpers.js';
import { redex } from './helpers.js';

const SOURCE = 'orders/audit';

/** Varied payloads: empty, binary (not UTF-8), text, and one of 100 KiB. */
function payloadFor(index: number): Uint8Array {
  if (index === 3) return new Uint8Array(0);
  if (index === 5) return new Uint8Array(100 * 1024).map((_, i) => (i * 31 + index) & 0xff);
  if (index % 2 === 0) return new Uint8Array([0xff, 0xfe, index & 0xff, 0, 0x80]);
  return new TextEncoder().encode(`event ${index}`);
}

async function eventsOf(node: TestNode, channel: string): Promise<[number, string][]> {
  const events: [number, string][] = [];
  let from = 0;
  for (;;) {
    const page = await node.service.read(channel, {
      fromSeq: from,
      toSeq: null,
      maxEvents: 10_000,
      maxBytes: 64 * 1024 * 1024,
    });
    for (const event of page.events) {
      events.push([event.seq, Buffer.from(event.payload).toString('hex')]);
    }
    if (page.events.length === 0) return events;
    from = page.nextFromSeq;
  }
}

describe('backup and restore', () => {
  let node: TestNode;
  let dir: { path: string; remove: () => Promise<void> };
  let url: string[];

  before(async () => {
    dir = await tempDir('backup');
    node = await startTestNode({ channels: [memorySpec(SOURCE)] });
    url = ['--url', node.url];
    const payloads = Array.from({ length: 40 }, (_, i) => payloadFor(i));
    await node.service.append(SOURCE, payloads.slice(0, 20));
    await node.service.append(SOURCE, payloads.slice(20));
  });
  after(async () => {
    await node.close();
    await dir.remove();
  });

  test('backup → restore into a new channel: the same bytes at the same seqs', async () => {
    const file = join(dir.path, 'audit.rdxbak');
    const backup = await redex([...url, 'backup', SOURCE, '--out', file]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(
      backup.stdout,
      /^orders\/audit: backed up 40 events \(seqs 0\.\.39\) to .*audit\.rdxbak \(/,
    );
    assert.deepEqual(await readdir(dir.path), ['audit.rdxbak'], 'no partial file is left');

    const restore = await redex([...url, 'restore', file, '--channel', 'orders/copy']);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(restore.stdout, `orders/copy: restored 40 events from ${file} (seqs 0..39)\n`);
    const original = await eventsOf(node, SOURCE);
    assert.equal(original.length, 40);
    assert.deepEqual(await eventsOf(node, 'orders/copy'), original);

    // A second restore into the same channel is refused; --force appends after its tail.
    const again = await redex([...url, 'restore', file, '--channel', 'orders/copy']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /channel orders\/copy already holds events \(its tail is 40\)/);
    const forced = await redex([...url, 'restore', file, '--channel', 'orders/copy', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(
      forced.stdout,
      /restored 40 events .* \(seqs 40\.\.79; the backup's seqs 0\.\.39\)/,
    );
  });

  test('a range: --from and --to, and a backup of nothing', async () => {
    const file = join(dir.path, 'range.rdxbak');
    const backup = await redex([
      ...url,
      'backup',
      SOURCE,
      '--out',
      file,
      '--from',
      '10',
      '--to',
      '15',
    ]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stdout, /backed up 5 events \(seqs 10\.\.14\)/);
    const dry = await redex(['restore', file, '--dry-run']);
    assert.equal(dry.stdout, `${file}: a valid backup of orders/audit, 5 events (seqs 10..14)\n`);
    const restore = await redex([...url, 'restore', file, '--channel', 'orders/range']);
    assert.equal(restore.code, 0, restore.stderr);
    const original = await eventsOf(node, SOURCE);
    const copy = await eventsOf(node, 'orders/range');
    assert.deepEqual(
      copy.map(([, payload]) => payload),
      original.slice(10, 15).map(([, payload]) => payload),
    );
    assert.deepEqual(
      copy.map(([seq]) => seq),
      [0, 1, 2, 3, 4],
    );

    const empty = join(dir.path, 'empty.rdxbak');
    const none = await redex([
      ...url,
      'backup',
      SOURCE,
      '--out',
      empty,
      '--from',
      '7',
      '--to',
      '7',
    ]);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /backed up 0 events \(no events\)/);
    const restoreNone = await redex([...url, 'restore', empty, '--channel', 'orders/none']);
    assert.equal(restoreNone.code, 0, restoreNone.stderr);
    assert.deepEqual(await eventsOf(node, 'orders/none'), []);
  });

  test('--resume continues a restore that stopped part way, and only that', async () => {
    const full = join(dir.path, 'resume-full.rdxbak');
    const part = join(dir.path, 'resume-part.rdxbak');
    assert.equal((await redex([...url, 'backup', SOURCE, '--out', full])).code, 0);
    assert.equal((await redex([...url, 'backup', SOURCE, '--out', part, '--to', '25'])).code, 0);
    // What a restore that stopped after 25 events leaves behind.
    assert.equal((await redex([...url, 'restore', part, '--channel', 'orders/resumed'])).code, 0);
    const resumed = await redex([
      ...url,
      'restore',
      full,
      '--channel',
      'orders/resumed',
      '--resume',
    ]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(
      resumed.stdout,
      `orders/resumed: restored 15 events from ${full} (seqs 25..39; resumed after the 25 events already there)\n`,
    );
    assert.deepEqual(await eventsOf(node, 'orders/resumed'), await eventsOf(node, SOURCE));

    // A channel holding other events is not taken for a partial restore.
    const other = join(dir.path, 'resume-other.rdxbak');
    assert.equal(
      (await redex([...url, 'backup', SOURCE, '--out', other, '--from', '30', '--to', '35'])).code,
      0,
    );
    assert.equal((await redex([...url, 'restore', other, '--channel', 'orders/other'])).code, 0);
    const wrong = await redex([...url, 'restore', full, '--channel', 'orders/other', '--resume']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /holds other events than this backup \(its event 4 differs/);
    const longer = await redex([
      ...url,
      'restore',
      part,
      '--channel',
      'orders/resumed',
      '--resume',
    ]);
    assert.equal(longer.code, 1);
    assert.match(longer.stderr, /holds 40 events, more than the backup's 25/);
    assert.equal((await eventsOf(node, 'orders/other')).length, 5, 'nothing was appended');
    const both = await redex([...url, 'restore', full, '--channel', 'x', '--resume', '--force']);
    assert.equal(both.code, 2);
  });

  test('a damaged file is refused before anything is written', async () => {
    const file = join(dir.path, 'good.rdxbak');
    assert.equal((await redex([...url, 'backup', SOURCE, '--out', file])).code, 0);
    const good = await readFile(file);
    const cases: [string, (bytes: Buffer) => Buffer, RegExp][] = [
      [
        'a flipped payload byte',
        (bytes) => flip(bytes, 200),
        /event \d+ \(seq \d+\): it fails its checksum/,
      ],
      [
        'a cut file',
        (bytes) => bytes.subarray(0, bytes.byteLength - 7),
        /does not end with a trailer|cut short/,
      ],
      ['a flipped header byte', (bytes) => flip(bytes, 18), /header fails its checksum/],
      [
        'a trailer with another count',
        (bytes) => flip(bytes, bytes.byteLength - TRAILER_BYTES + 8),
        /its trailer says 41 ending at 40|holds 40 events ending at 40; its trailer says/,
      ],
      [
        'a flipped trailer checksum',
        (bytes) => flip(bytes, bytes.byteLength - 1),
        /whole-file checksum does not match/,
      ],
      [
        'not a backup',
        () => Buffer.from('{"hello": "world"} and more bytes than a header'),
        /does not start with RDXBKUP1/,
      ],
      [
        'a newer backup format',
        (bytes) => {
          const copy = Buffer.from(bytes);
          copy.writeUInt32LE(2, 8);
          return copy;
        },
        /written by a newer version of RedEX \(backup format 2, this build reads 1\)/,
      ],
    ];
    for (const [name, damage, expected] of cases) {
      const bad = join(dir.path, 'bad.rdxbak');
      await writeFile(bad, damage(good));
      const result = await redex([...url, 'restore', bad, '--channel', 'orders/damaged']);
      assert.equal(result.code, 1, name);
      assert.match(result.stderr, expected, name);
      assert.match(result.stderr, /^redex: \S+bad\.rdxbak is not a valid backup: /, name);
      assert.equal(result.stderr.split('\n').length, 2, `${name}: one line, no stack`);
      const status = await node.service.channel('orders/damaged').catch(() => null);
      assert.equal(status, null, `${name}: the target channel was not created`);
    }
  });

  test('progress on stderr: events, percent and rate; --quiet silences it', async () => {
    await node.service.createChannel(memorySpec('orders/big'));
    const text = new TextEncoder();
    for (let batch = 0; batch < 3; batch++) {
      const payloads = Array.from({ length: 8_000 }, (_, i) => text.encode(`big ${batch} ${i}`));
      await node.service.append('orders/big', payloads);
    }
    // A clock that moves a second per reading: every page is past the progress interval.
    let now = 0;
    const nowMs = () => (now += 1_000);
    const file = join(dir.path, 'big.rdxbak');
    const backup = await redex([...url, 'backup', 'orders/big', '--out', file], { nowMs });
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(
      backup.stderr,
      /^redex: backup orders\/big: 10,000 of 24,000 events \(41%\), 10,000 events\/s\n/,
    );
    assert.match(backup.stderr, /24,000 of 24,000 events \(100%\)/);
    const restore = await redex([...url, 'restore', file, '--channel', 'orders/big-copy'], {
      nowMs,
    });
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stderr, /redex: verify .*big\.rdxbak: [\d,]+ events, [\d,]+ events\/s\n/);
    assert.match(
      restore.stderr,
      /redex: restore orders\/big-copy: 10,000 of 24,000 events \(41%\)/,
    );
    assert.deepEqual(await eventsOf(node, 'orders/big-copy'), await eventsOf(node, 'orders/big'));
    const quiet = await redex(
      [...url, 'backup', 'orders/big', '--out', file, '--force', '--quiet'],
      { nowMs },
    );
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
  });

  test('an interrupted backup, an unknown channel or an existing file leave no backup behind', async () => {
    await node.service.createChannel(memorySpec('orders/many'));
    const payloads = Array.from({ length: 10_000 }, (_, i) => new TextEncoder().encode(`${i}`));
    await node.service.append('orders/many', payloads);
    await node.service.append('orders/many', payloads);
    const file = join(dir.path, 'interrupted.rdxbak');
    const interrupt = new AbortController();
    // The first progress reading after a page interrupts the run, as Ctrl-C would.
    let readings = 0;
    const nowMs = () => {
      if (++readings === 2) interrupt.abort();
      return readings * 1_000;
    };
    const result = await redex([...url, 'backup', 'orders/many', '--out', file], {
      nowMs,
      signal: interrupt.signal,
    });
    assert.equal(result.code, 130, result.stderr);
    const names = await readdir(dir.path);
    assert.ok(!names.some((name) => name.startsWith('interrupted')), names.join(', '));

    const missing = await redex([...url, 'backup', 'no/such', '--out', file]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /channel no\/such is not open on the node/);
    assert.ok(!(await readdir(dir.path)).some((name) => name.startsWith('interrupted')));

    await writeFile(file, 'keep me');
    const exists = await redex([...url, 'backup', SOURCE, '--out', file]);
    assert.equal(exists.code, 2);
    assert.match(exists.stderr, /interrupted\.rdxbak exists; give --force to replace it/);
    assert.equal(await readFile(file, 'utf8'), 'keep me');
  });

  test('a missing file or an unwritable place is one line naming the path', async () => {
    const missing = await redex(['restore', join(dir.path, 'nope.rdxbak'), '--dry-run']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^redex: \S+nope\.rdxbak: ENOENT: no such file or directory/);
    const nowhere = join(dir.path, 'no-dir', 'x.rdxbak');
    const unwritable = await redex([...url, 'backup', SOURCE, '--out', nowhere]);
    assert.equal(unwritable.code, 1);
    assert.match(unwritable.stderr, /^redex: \S+x\.rdxbak: ENOENT/);
  });

  test('usage: restore needs --channel, backup needs --out', async () => {
    const noChannel = await redex(['restore', 'x.rdxbak']);
    assert.equal(noChannel.code, 2);
    assert.match(noChannel.stderr, /restore needs --channel NAME/);
    const noOut = await redex(['backup', SOURCE]);
    assert.equal(noOut.code, 2);
    assert.match(noOut.stderr, /required option '--out <file>'/);
  });
});

function flip(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}
