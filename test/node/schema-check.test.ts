// The messages the API's schema checks produce: each names the field by its JSON path, says what
// the schema expects (written from the schema) and shows the bad value; query parameters are read
// as the route's query schema says.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Type } from 'typebox';
import {
  AppendBody,
  AppendQuery,
  ChannelSpecBody,
  ReadQuery,
} from '../../src/node/http/api-schemas.js';
import { HttpError } from '../../src/node/http/errors.js';
import { queryReader } from '../../src/node/http/query.js';
import { compileCheck, expectation } from '../../src/node/http/schema-check.js';

describe('compileCheck', () => {
  const spec = compileCheck(ChannelSpecBody);
  const append = compileCheck(AppendBody);

  test('a valid value passes', () => {
    assert.equal(spec({ name: 'a', file: { fsync: { intervalMs: 5, maxBytes: 9 } } }), null);
    assert.equal(append({ events: ['YQ=='], encoding: 'base64' }), null);
  });

  test('failures name the innermost field, the expectation and the value', () => {
    const cases: [unknown, string, RegExp][] = [
      [{}, 'name', /must be a string of 1\.\.255 characters, got nothing/],
      [{ name: 'x', extra: 1 }, 'extra', /is not a known field \(expected one of: name, file/],
      [{ name: 'x', file: { fsync: 'soon' } }, 'file.fsync', /"never", "always", \{ everyN \}/],
      // Of two object shapes, the one whose fields the value has is followed.
      [{ name: 'x', file: { fsync: { everyN: 0 } } }, 'file.fsync.everyN', /in 1\.\.\d+, got 0/],
      [{ name: 'x', file: { fsync: { everyN: 1, intervalMs: 1 } } }, 'file.fsync', /got \{/],
      // `{…} or null`: an object follows the object branch.
      [{ name: 'x', replication: { factor: 99 } }, 'replication.factor', /in 1\.\.16, got 99/],
      [{ name: 'x', replication: 'yes' }, 'replication', /an object or null, got "yes"/],
      [
        { name: 'x', replication: { placement: { pinned: ['a', 7] } } },
        'replication.placement.pinned[1]',
        /must be a string, got 7/,
      ],
      [{ name: 'x', replication: { budgetFraction: 0 } }, 'replication.budgetFraction', /\(0, 1\]/],
    ];
    for (const [value, field, message] of cases) {
      const failure = spec(value);
      assert.ok(failure, JSON.stringify(value));
      assert.equal(failure.field, field, JSON.stringify(value));
      assert.match(failure.message, message, JSON.stringify(value));
    }
    assert.deepEqual(append({ events: ['YQ==', 7] }), {
      field: 'events[1]',
      message: 'must be a string, got 7',
    });
    assert.equal(append(null)?.field, '');
    assert.match(append({ events: Array(10_001).fill('') })!.message, /got 10001 entries/);
  });

  test('expectation() reads the schema', () => {
    assert.equal(expectation(Type.Integer({ minimum: 1, maximum: 5 })), 'an integer in 1..5');
    assert.equal(expectation(Type.Union([Type.Literal('a'), Type.Literal('b')])), '"a" or "b"');
    assert.equal(
      expectation(Type.Array(Type.String(), { maxItems: 3 })),
      'an array of at most 3 strings',
    );
    assert.equal(expectation(Type.Boolean()), 'true or false');
  });
});

describe('queryReader', () => {
  const read = (schema: Parameters<typeof queryReader>[0], query: string) =>
    queryReader<Record<string, unknown>>(schema).read(new URLSearchParams(query));
  const refused = (schema: Parameters<typeof queryReader>[0], query: string) => {
    try {
      read(schema, query);
    } catch (error) {
      assert.ok(error instanceof HttpError);
      assert.equal(error.status, 400);
      return error.message;
    }
    assert.fail(`${query} was accepted`);
  };

  test('defaults, integers and strings come from the schema', () => {
    assert.deepEqual(read(ReadQuery, ''), {
      from: 0,
      limit: 1000,
      maxBytes: 1048576,
      encoding: 'base64',
    });
    assert.deepEqual(read(ReadQuery, 'from=7&to=9&encoding=utf8&limit='), {
      from: 7,
      to: 9,
      limit: 1000,
      maxBytes: 1048576,
      encoding: 'utf8',
    });
    assert.equal(read(AppendQuery, 'acks=3').acks, 3);
    assert.equal(read(AppendQuery, 'acks=all').acks, 'all');
    assert.equal(read(AppendQuery, 'ifNextSeq=12').ifNextSeq, 12);
  });

  test('refusals name the parameter, the expectation and the raw value', () => {
    assert.match(refused(ReadQuery, 'form=5'), /unknown query parameter "form" \(known: from, to/);
    assert.match(refused(ReadQuery, 'from=-1'), /'from' must be an integer in 0\.\.\d+, got "-1"/);
    assert.match(refused(ReadQuery, 'from=1.5'), /'from' .* got "1\.5"/);
    assert.match(refused(ReadQuery, 'from=99999999999999999'), /'from'/);
    assert.match(
      refused(ReadQuery, 'encoding=hex'),
      /'encoding' must be "base64" or "utf8", got "hex"/,
    );
    assert.match(
      refused(AppendQuery, 'acks=17'),
      /'acks' must be "quorum", "leader", "all" or an integer in 0\.\.16, got "17"/,
    );
    assert.match(refused(AppendQuery, 'ifNextSeq=x'), /'ifNextSeq'/);
  });
});
