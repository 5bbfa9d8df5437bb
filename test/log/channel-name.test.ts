import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateChannelName } from '../../src/log/channel-name.js';
import { ChannelNameError, RedexErrorCode } from '../../src/log/errors.js';

function ruleOf(name: string): string | null {
  try {
    validateChannelName(name);
    return null;
  } catch (error) {
    assert.ok(error instanceof ChannelNameError);
    assert.equal(error.code, RedexErrorCode.ChannelName);
    assert.match(error.message, /^redex: invalid channel name/);
    return error.rule;
  }
}

describe('channel names', () => {
  test('accepts ordinary names and 255 bytes', () => {
    for (const name of [
      'orders',
      'orders/audit',
      'a-b_c.d/e.f',
      'x'.repeat(255),
      '0/1/2',
      'a..b',
      '.hidden',
    ]) {
      assert.equal(ruleOf(name), null, name);
    }
  });

  test('rejects each rule with an error naming it', () => {
    const cases: [string, string][] = [
      ['', 'empty'],
      ['x'.repeat(256), 'too-long'],
      ['/orders', 'leading-or-trailing-slash'],
      ['orders/', 'leading-or-trailing-slash'],
      ['orders//audit', 'double-slash'],
      ['Orders', 'uppercase'],
      ['user@home', 'invalid-character'],
      ['with space', 'invalid-character'],
      ['café', 'invalid-character'],
      ['.', 'dot-segment'],
      ['..', 'dot-segment'],
      ['a/./b', 'dot-segment'],
      ['a/..', 'dot-segment'],
    ];
    for (const [name, rule] of cases) assert.equal(ruleOf(name), rule, JSON.stringify(name));
  });

  test('length is counted in UTF-8 bytes, before the character rule', () => {
    // 128 two-byte characters = 256 bytes: too long, even though the characters are also invalid.
    assert.equal(ruleOf('é'.repeat(128)), 'too-long');
  });

  test('messages say what is wrong', () => {
    assert.throws(() => validateChannelName('a b'), /character " " is not allowed/);
    assert.throws(() => validateChannelName('x'.repeat(300)), /300 bytes long; the limit is 255/);
    assert.throws(() => validateChannelName(42 as unknown as string), /must be a string/);
  });
});
