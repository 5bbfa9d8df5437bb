// host:port parsing and the loopback rule the HTTP API's exposure check relies on.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatHostPort, isLoopbackHost, parseHostPort } from '../../src/node/address.js';

describe('parseHostPort', () => {
  test('IPv4, IPv6 in brackets, DNS names', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:7070'), { host: '127.0.0.1', port: 7070 });
    assert.deepEqual(parseHostPort('[::1]:1'), { host: '::1', port: 1 });
    assert.deepEqual(parseHostPort('node-a.example:65535'), {
      host: 'node-a.example',
      port: 65535,
    });
  });

  test('port 0 only where allowed', () => {
    assert.equal(typeof parseHostPort('127.0.0.1:0'), 'string');
    assert.deepEqual(parseHostPort('127.0.0.1:0', { allowPortZero: true }), {
      host: '127.0.0.1',
      port: 0,
    });
  });

  test('everything else is a reason, not a throw', () => {
    for (const bad of [
      '',
      'host',
      ':1',
      'a:',
      'a:-1',
      'a:65536',
      'a:1x',
      '::1:80',
      '[::1]80',
      '[nope]:1',
      'a b:1',
      'a_b:1',
      5,
      null,
    ]) {
      assert.equal(typeof parseHostPort(bad), 'string', String(bad));
    }
  });

  test('formatHostPort brackets IPv6', () => {
    assert.equal(formatHostPort({ host: '::1', port: 5 }), '[::1]:5');
    assert.equal(formatHostPort({ host: '10.0.0.1', port: 5 }), '10.0.0.1:5');
  });
});

describe('isLoopbackHost', () => {
  test('127/8, ::1, localhost and IPv4-mapped loopback are loopback', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      'localhost',
      'LOCALHOST',
      '::ffff:127.0.0.1',
    ]) {
      assert.equal(isLoopbackHost(host), true, host);
    }
  });

  test('wildcards, private and public addresses and other names are not', () => {
    for (const host of [
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '192.168.1.1',
      '128.0.0.1',
      'example.com',
      'localhost.evil.com',
      '::ffff:10.0.0.1',
    ]) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });
});
