// The error answers that tell a client what happened to its write: LEADERSHIP_LOST says whether
// the append may be stored (and its seq), TRANSFER_FAILED says why the leadership did not move.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LeadershipLostError } from '../../src/log/errors.js';
import { toHttpError } from '../../src/node/http/errors.js';
import { TransferFailedError } from '../../src/replication/runtime-transfer.js';

const noLeader = () => ({ name: null, nodeId: null, http: null });

describe('HTTP error details', () => {
  test('LEADERSHIP_LOST carries outcome and seq', () => {
    const unknown = toHttpError(new LeadershipLostError('c', 'unknown', 41), noLeader).body();
    assert.equal(unknown.error.code, 'LEADERSHIP_LOST');
    assert.equal(unknown.error.outcome, 'unknown');
    assert.equal(unknown.error.seq, 41);
    const notWritten = toHttpError(new LeadershipLostError('c'), noLeader).body();
    assert.equal(notWritten.error.outcome, 'not-written');
    assert.equal('seq' in notWritten.error, false);
  });

  test('TRANSFER_FAILED carries the reason', () => {
    const failed = toHttpError(new TransferFailedError('c', 'abandoned', 'x'), noLeader);
    assert.equal(failed.status, 503);
    assert.equal(failed.body().error.reason, 'abandoned');
  });
});
