// docs/PROTOCOL.md is checked here byte for byte: every annotated hex block must equal what the
// codec encodes for the message below (and decode back to it), every layout table must match the
// codec's offsets (the epoch groups and the election messages included), and the id vectors
// must match the code and the known digests. The doc cannot drift from the code without this
// test failing.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  type AnyReplicationMessage,
  channelIdFromName,
  channelIdToHex,
  decodeAnyMessage,
  EPOCH_RUN_BYTES,
  encodeMessage,
  HeartbeatLayout,
  hexToBytes,
  NackDivergedLayout,
  NackLayout,
  nodeIdFromPublicKey,
  nodeIdToHex,
  RequestLayout,
  ResponseLayout,
  ResponseQuorumLayout,
  StandNowLayout,
  type SyncHeartbeat,
  VoteRequestLayout,
  VoteResponseLayout,
} from '../../src/wire/index.js';
import { concat, hex } from './helpers.js';

const doc = readFileSync(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8');

const channelId = channelIdFromName('orders/audit');
const requestId = 0x0123_4567_89ab_cdefn;
const utf8 = new TextEncoder();

const heartbeat: SyncHeartbeat = {
  kind: 'heartbeat',
  channelId,
  tailSeq: 1000,
  role: 0,
  wallClockMs: 1_764_115_200_000,
};
const heartbeatEpoch: SyncHeartbeat = {
  ...heartbeat,
  quorum: { epoch: 7, lastEpoch: 7, commitSeq: 998 },
};
const responseEvents = [
  { seq: 42, payload: utf8.encode('hi') },
  { seq: 43, payload: new Uint8Array(0) },
];

/** The message each example block in the doc must be the encoding of. */
const examples: Record<string, { message: AnyReplicationMessage; extra?: 'trailing' | 'short' }> = {
  heartbeat: { message: heartbeat },
  'heartbeat-epoch': { message: heartbeatEpoch },
  'heartbeat-trailing': { message: heartbeatEpoch, extra: 'trailing' },
  request: {
    message: {
      kind: 'request',
      channelId,
      sinceSeq: 42,
      chunkMax: 262_144,
      requestId,
      syncClass: 1,
    },
  },
  'request-55': {
    message: {
      kind: 'request',
      channelId,
      sinceSeq: 42,
      chunkMax: 262_144,
      requestId,
      syncClass: 0,
    },
    extra: 'short',
  },
  'request-epoch': {
    message: {
      kind: 'request',
      channelId,
      sinceSeq: 42,
      chunkMax: 262_144,
      requestId,
      syncClass: 1,
      quorum: { epoch: 7, lastFetchedEpoch: 6 },
    },
  },
  response: {
    message: {
      kind: 'response',
      channelId,
      firstSeq: 42,
      leaderFirstRetainedSeq: 10,
      requestId,
      events: responseEvents,
    },
  },
  'response-epoch': {
    message: {
      kind: 'response',
      channelId,
      firstSeq: 42,
      leaderFirstRetainedSeq: 10,
      requestId,
      events: responseEvents,
      quorum: {
        epoch: 7,
        commitSeq: 42,
        runs: [
          { startSeq: 42, epoch: 6 },
          { startSeq: 43, epoch: 7 },
        ],
      },
    },
  },
  nack: {
    message: {
      kind: 'nack',
      channelId,
      sinceSeq: 5,
      errorCode: 2,
      leaderFirstRetainedSeq: 10,
      requestId,
      detail: 'trimmed → 10',
    },
  },
  'nack-diverged': {
    message: {
      kind: 'nack',
      channelId,
      sinceSeq: 50,
      errorCode: 5,
      leaderFirstRetainedSeq: 10,
      requestId,
      detail: 'diverged',
      diverged: { divergingEpoch: 5, endSeq: 43 },
    },
  },
  'vote-request': {
    message: {
      kind: 'vote-request',
      channelId,
      epoch: 8,
      lastEpoch: 7,
      nextSeq: 1000,
      preVote: true,
      transfer: false,
    },
  },
  'vote-response': {
    message: { kind: 'vote-response', channelId, epoch: 8, granted: true, preVote: true },
  },
  'stand-now': { message: { kind: 'stand-now', channelId, epoch: 7 } },
};

/** Fenced blocks whose info string is `<lang> <name>`, e.g. ```hex heartbeat. */
function fencedBlocks(lang: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const match of doc.matchAll(/^```(\S+) ([\w-]+)\n([\s\S]*?)^```$/gm)) {
    if (match[1] !== lang) continue;
    assert.ok(!blocks.has(match[2]!), `duplicate block ${match[2]}`);
    blocks.set(match[2]!, match[3]!);
  }
  return blocks;
}

/** Hex bytes of an annotated block: everything after `#` is a comment; the rest must be hex pairs. */
function parseHexBlock(name: string, text: string): Uint8Array {
  const pairs: string[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    const code = line.split('#')[0]!.trim();
    if (code === '') continue;
    for (const token of code.split(/\s+/)) {
      assert.match(token, /^[0-9a-f]{2}$/, `${name} line ${index + 1}: bad byte ${token}`);
      pairs.push(token);
    }
  }
  return hexToBytes(pairs.join(''));
}

describe('docs/PROTOCOL.md hex examples', () => {
  const blocks = fencedBlocks('hex');

  it('has exactly the examples this test knows', () => {
    assert.deepEqual([...blocks.keys()].sort(), Object.keys(examples).sort());
  });

  for (const [name, { message, extra }] of Object.entries(examples)) {
    it(`${name}: the doc's bytes are the encoding and decode back`, () => {
      const text = blocks.get(name);
      assert.ok(text !== undefined, `no \`\`\`hex ${name} block`);
      const bytes = parseHexBlock(name, text);
      const encoded = encodeMessage(message);
      if (extra === 'trailing') {
        assert.ok(bytes.length > encoded.length, 'trailing example must add bytes');
        assert.equal(hex(bytes.subarray(0, encoded.length)), hex(encoded));
      } else if (extra === 'short') {
        assert.equal(bytes.length, 55);
        assert.equal(hex(concat(bytes, new Uint8Array([0]))), hex(encoded));
      } else {
        assert.equal(hex(bytes), hex(encoded));
      }
      assert.deepEqual(decodeAnyMessage(bytes), message);
    });
  }
});

describe('docs/PROTOCOL.md layout tables', () => {
  /** Rows `| offset | size | field | …` of every table in the `## <title…>` section. */
  function tables(title: string): { offset: number; size: string; field: string }[][] {
    const section = doc.split(/^## /m).find((part) => part.startsWith(title));
    assert.ok(section, `no section ${title}`);
    const result: { offset: number; size: string; field: string }[][] = [];
    let current: { offset: number; size: string; field: string }[] | null = null;
    for (const line of section.split('\n')) {
      const cells = line.startsWith('|') ? line.split('|').map((cell) => cell.trim()) : null;
      if (cells === null) {
        current = null;
        continue;
      }
      if (!/^\d+$/.test(cells[1]!)) continue; // header and separator rows
      if (current === null) {
        current = [];
        result.push(current);
      }
      current.push({ offset: Number(cells[1]), size: cells[2]!, field: cells[3]! });
    }
    return result;
  }

  /** Checks rows are contiguous and the named fields sit where the codec reads them. */
  function check(
    rows: { offset: number; size: string; field: string }[],
    expected: Record<string, number>,
  ): void {
    for (let i = 1; i < rows.length; i++) {
      const previous = rows[i - 1]!;
      if (!/^\d+$/.test(previous.size)) continue; // variable-size field ends the fixed part
      assert.equal(rows[i]!.offset, previous.offset + Number(previous.size), rows[i]!.field);
    }
    const actual = Object.fromEntries(rows.map((row) => [row.field, row.offset]));
    for (const [field, offset] of Object.entries(expected)) {
      assert.equal(actual[field], offset, `${field} offset`);
    }
  }

  const head = { subprotocol: 0, dispatch: 2, channel_id: 3 };

  it('SyncHeartbeat and its epoch group', () => {
    const [rows, group, ...rest] = tables('SyncHeartbeat');
    check(rows!, {
      ...head,
      tail_seq: HeartbeatLayout.tailSeq,
      role: HeartbeatLayout.role,
      wall_clock_ms: HeartbeatLayout.wallClockMs,
      _end_: HeartbeatLayout.bytes,
    });
    check(group!, {
      epoch: HeartbeatLayout.epoch,
      last_epoch: HeartbeatLayout.lastEpoch,
      commit_seq: HeartbeatLayout.commitSeq,
      _end_: HeartbeatLayout.quorumBytes,
    });
    assert.equal(group![0]!.offset, HeartbeatLayout.bytes, 'the group follows the last field');
    assert.equal(rest.length, 0);
  });

  it('SyncRequest', () => {
    const [rows] = tables('SyncRequest');
    check(rows!, {
      ...head,
      since_seq: RequestLayout.sinceSeq,
      chunk_max: RequestLayout.chunkMax,
      request_id: RequestLayout.requestId,
      class: RequestLayout.syncClass,
      _end_: RequestLayout.bytes,
    });
    const group = tables('SyncRequest')[1];
    check(group!, {
      epoch: RequestLayout.epoch,
      last_fetched_epoch: RequestLayout.lastFetchedEpoch,
      _end_: RequestLayout.quorumBytes,
    });
    assert.equal(group![0]!.offset, RequestLayout.bytes, 'the group follows the class byte');
  });

  it('SyncResponse, its event, its epoch group and run', () => {
    const [rows, event, group, run] = tables('SyncResponse');
    check(group!, {
      epoch: ResponseQuorumLayout.epoch,
      commit_seq: ResponseQuorumLayout.commitSeq,
      run_count: ResponseQuorumLayout.runCount,
      runs: ResponseQuorumLayout.runs,
    });
    check(run!, { run_start_seq: 0, run_epoch: 8, _end_: EPOCH_RUN_BYTES });
    check(rows!, {
      ...head,
      first_seq: ResponseLayout.firstSeq,
      leader_first_retained_seq: ResponseLayout.leaderFirstRetainedSeq,
      request_id: ResponseLayout.requestId,
      event_count: ResponseLayout.eventCount,
      events: ResponseLayout.events,
    });
    check(event!, { event_seq: 0, payload_len: 8, payload: 12 });
  });

  it('SyncNack', () => {
    const [rows] = tables('SyncNack');
    check(rows!, {
      ...head,
      since_seq: NackLayout.sinceSeq,
      error_code: NackLayout.errorCode,
      leader_first_retained_seq: NackLayout.leaderFirstRetainedSeq,
      request_id: NackLayout.requestId,
      detail_len: NackLayout.detailLen,
      detail: NackLayout.detail,
    });
    const group = tables('SyncNack')[1];
    check(group!, {
      diverging_epoch: NackDivergedLayout.divergingEpoch,
      end_seq: NackDivergedLayout.endSeq,
      _end_: NackDivergedLayout.bytes,
    });
  });

  it('VoteRequest, VoteResponse and StandNow', () => {
    check(tables('VoteRequest')[0]!, {
      ...head,
      epoch: VoteRequestLayout.epoch,
      last_epoch: VoteRequestLayout.lastEpoch,
      next_seq: VoteRequestLayout.nextSeq,
      flags: VoteRequestLayout.flags,
      _end_: VoteRequestLayout.bytes,
    });
    check(tables('VoteResponse')[0]!, {
      ...head,
      epoch: VoteResponseLayout.epoch,
      flags: VoteResponseLayout.flags,
      _end_: VoteResponseLayout.bytes,
    });
    check(tables('StandNow')[0]!, {
      ...head,
      epoch: StandNowLayout.epoch,
      _end_: StandNowLayout.bytes,
    });
  });

  it('the code table lists the election messages', () => {
    assert.match(doc, /^\| `0x25` +\| VoteRequest/m);
    assert.match(doc, /^\| `0x26` +\| VoteResponse/m);
    assert.match(doc, /^\| `0x27` +\| StandNow/m);
  });

  it('says what a peer without epoch fields may do', () => {
    const flat = doc.replace(/\s+/g, ' ');
    assert.ok(
      flat.includes(
        'A peer whose frames carry no epoch fields speaks the original protocol: it can replicate, but it never votes, is never counted toward a quorum and is never granted a vote.',
      ),
    );
  });
});

describe('docs/PROTOCOL.md id vectors', () => {
  const text = fencedBlocks('text').get('ids') ?? '';

  it('ChannelId lines match the code and the independent vectors', () => {
    const toolchain: Record<string, string> = {
      'orders/audit': 'cccc2eeca696f391b304dd2f6b15345f0015676c56f68d3f36d3eeaade64dd36',
      'test/runtime': 'fbcb108dfc2d542e2daf8219cbd1641770fa46e70d4ff01152e9e756ec58ac17',
    };
    const lines = [...text.matchAll(/^ChannelId\("([^"]*)"\) = ([0-9a-f]{64})$/gm)];
    assert.deepEqual(lines.map((m) => m[1]).sort(), Object.keys(toolchain).sort());
    for (const [, name, digest] of lines) {
      assert.equal(digest, toolchain[name!]);
      assert.equal(channelIdToHex(channelIdFromName(name!)), digest);
    }
  });

  it('the NodeId line matches the code and the independent vector', () => {
    const match = /^NodeId\(([0-9a-f]{64})\) = (\d+) = 0x([0-9a-f]{16})$/m.exec(text);
    assert.ok(match, 'no NodeId vector line');
    const [, key, decimal, hexId] = match;
    assert.equal(key, 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    assert.equal(decimal, '7291050420889050627');
    assert.equal(hexId, '652f03ba688dde03');
    const id = nodeIdFromPublicKey(hexToBytes(key!));
    assert.equal(id, BigInt(decimal!));
    assert.equal(nodeIdToHex(id), hexId);
  });
});
