// NodeBeat (0x29): three bytes, no body; anything else is a typed WireError.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeNodeBeat, encodeNodeBeat, isNodeBeat } from '../../src/wire/index.js';
import { assertWireError } from './helpers.js';

describe('NodeBeat', () => {
  it('is the header alone, and decodes', () => {
    const frame = encodeNodeBeat();
    assert.deepEqual([...frame], [0x00, 0x0e, 0x29]);
    assert.equal(isNodeBeat(frame), true);
    decodeNodeBeat(frame);
  });

  it('refuses a body, another subprotocol, another code, or a short frame', () => {
    const long = new Uint8Array([0x00, 0x0e, 0x29, 0x00]);
    const error = assertWireError(() => decodeNodeBeat(long), 'NodeBeatBody');
    assert.deepEqual(error.detail, { kind: 'NodeBeatBody', length: 4 });
    assertWireError(
      () => decodeNodeBeat(new Uint8Array([0x01, 0x0e, 0x29])),
      'SubprotocolMismatch',
    );
    assertWireError(() => decodeNodeBeat(new Uint8Array([0x00, 0x0e, 0x28])), 'DispatchMismatch');
    assertWireError(() => decodeNodeBeat(new Uint8Array([0x00, 0x0e])), 'Truncated');
    assert.equal(isNodeBeat(new Uint8Array([0x00, 0x0e])), false);
  });
});
