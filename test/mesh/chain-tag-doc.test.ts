// The ChainTag (0x24) section of docs/PROTOCOL.md, checked like the replication messages are in
// test/wire/protocol-doc.test.ts: its annotated hex blocks (info string `hex-ext`, so that test's
// `hex` set stays exactly its own) must be what the codec encodes and decode back, and its layout
// table must match the codec's offsets.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  CHAIN_TAG_DISPATCH,
  type ChainTag,
  ChainTagLayout,
  decodeChainTag,
  encodeChainTag,
} from '../../src/mesh/index.js';
import { originHashOf } from '../../src/replication/replicator.js';
import { channelIdFromName, hexToBytes } from '../../src/wire/index.js';
import { Role } from '../../src/wire/types.js';

const doc = readFileSync(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8');
const origin = originHashOf(channelIdFromName('orders/audit'));

const examples: Record<string, { tag: ChainTag; trailing?: boolean }> = {
  'chain-tag-announce': {
    tag: { kind: 'announce', originHash: origin, tipSeq: 1000, role: Role.Leader },
  },
  'chain-tag-withdraw-trailing': {
    tag: { kind: 'withdraw', originHash: origin, tipSeq: 1000, role: Role.Idle },
    trailing: true,
  },
};

function blocks(lang: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of doc.matchAll(/^```(\S+) ([\w-]+)\n([\s\S]*?)^```$/gm)) {
    if (match[1] !== lang) continue;
    assert.ok(!found.has(match[2]!), `duplicate block ${match[2]}`);
    found.set(match[2]!, match[3]!);
  }
  return found;
}

function parseHex(name: string, text: string): Uint8Array {
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

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe('docs/PROTOCOL.md ChainTag section', () => {
  const section = doc.split(/^## /m).find((part) => part.startsWith('ChainTag (`0x24`)'));

  it('exists, and the code table lists 0x24 as ChainTag', () => {
    assert.ok(section, 'no "## ChainTag (`0x24`)" section');
    assert.equal(CHAIN_TAG_DISPATCH, 0x24);
    assert.match(doc, /^\| `0x24` +\| ChainTag/m);
  });

  const found = blocks('hex-ext');
  it('has exactly the examples this test knows', () => {
    assert.deepEqual([...found.keys()].sort(), Object.keys(examples).sort());
  });

  for (const [name, { tag, trailing }] of Object.entries(examples)) {
    it(`${name}: the doc's bytes are the encoding and decode back`, () => {
      const text = found.get(name);
      assert.ok(text !== undefined, `no \`\`\`hex-ext ${name} block`);
      const bytes = parseHex(name, text);
      const encoded = encodeChainTag(tag);
      if (trailing) {
        assert.ok(bytes.length > encoded.length, 'the trailing example must add bytes');
        assert.equal(hex(bytes.subarray(0, encoded.length)), hex(encoded));
      } else {
        assert.equal(hex(bytes), hex(encoded));
      }
      assert.deepEqual(decodeChainTag(bytes), tag);
    });
  }

  it('the layout table matches the codec offsets', () => {
    assert.ok(section);
    const rows: { offset: number; size: string; field: string }[] = [];
    for (const line of section.split('\n')) {
      if (!line.startsWith('|')) continue;
      const cells = line.split('|').map((cell) => cell.trim());
      if (!/^\d+$/.test(cells[1]!)) continue;
      rows.push({ offset: Number(cells[1]), size: cells[2]!, field: cells[3]! });
    }
    for (let i = 1; i < rows.length; i++) {
      const previous = rows[i - 1]!;
      assert.equal(rows[i]!.offset, previous.offset + Number(previous.size), rows[i]!.field);
    }
    assert.deepEqual(Object.fromEntries(rows.map((row) => [row.field, row.offset])), {
      subprotocol: 0,
      dispatch: 2,
      origin_hash: ChainTagLayout.originHash,
      tip_seq: ChainTagLayout.tipSeq,
      role: ChainTagLayout.role,
      kind: ChainTagLayout.kind,
      _end_: ChainTagLayout.bytes,
    });
  });
});
