// The client's event-stream parser: fields, multi-line data, comments, every line ending, messages
// split at any byte, and the line-length bound.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SSE_LINE_CHARS_MAX, SseParser } from '../../src/client/sse-parser.js';

describe('SseParser', () => {
  test('id, event and data; default event "message"; comments dropped', () => {
    const parser = new SseParser();
    const messages = parser.push(
      ': hello\n\nid: 4\ndata: {"a":1}\n\nevent: end\ndata: x\ndata: y\n\n',
    );
    assert.deepEqual(messages, [
      { event: 'message', data: '{"a":1}', id: '4' },
      { event: 'end', data: 'x\ny', id: '4' },
    ]);
  });

  test('CRLF and CR line endings; no space after the colon; a field without a colon', () => {
    const parser = new SseParser();
    assert.deepEqual(parser.push('data:a\r\ndata\r\r\n'), [
      { event: 'message', data: 'a\n', id: null },
    ]);
  });

  test('a blank line without data dispatches nothing and resets the event name', () => {
    const parser = new SseParser();
    assert.deepEqual(parser.push('event: x\n\ndata: d\n\n'), [
      { event: 'message', data: 'd', id: null },
    ]);
  });

  test('any split of the input gives the same messages', () => {
    const text =
      'id: 1\ndata: first\n\n: ping\n\nevent: error\ndata: {"error":{}}\r\n\r\ndata: é\n\n';
    const whole = new SseParser().push(text);
    assert.equal(whole.length, 3);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 8 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const parser = new SseParser();
        const messages = [];
        let from = 0;
        for (const point of [...points, text.length]) {
          messages.push(...parser.push(text.slice(from, point)));
          from = point;
        }
        assert.deepEqual(messages, whole);
      }),
    );
  });

  test(`a line longer than ${SSE_LINE_CHARS_MAX} characters is refused`, () => {
    const parser = new SseParser();
    assert.throws(() => parser.push(`data: ${'x'.repeat(SSE_LINE_CHARS_MAX)}`), /longer than/);
  });
});
