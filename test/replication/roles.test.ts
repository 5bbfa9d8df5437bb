import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ALL_ROLES,
  ALL_SIGNALS,
  allowedSignals,
  checkTransition,
  InvalidPairError,
  RedexError,
  RedexErrorCode,
  Role,
  roleName,
  SignalMismatchError,
  TransitionSignal,
  validateTransition,
  withdrawSignalFor,
} from './imports.js';

// The matrix of docs/DESIGN.md#roles-and-transitions written out independently of the
// implementation, one legal triple a
// line: "From To Signal".
const LEGAL = new Set([
  'Idle Replica CapabilitySelected',
  'Replica Candidate MissedHeartbeats',
  'Candidate Leader ElectionWon',
  'Candidate Replica ElectionLost',
  'Candidate Replica HigherEpochObserved',
  'Leader Replica PeerLeaderObserved',
  'Leader Replica HigherEpochObserved',
  'Leader Replica QuorumLost',
  'Leader Idle GracefulRelinquish',
  'Leader Idle LeaderDiskPressureWithdraw',
  'Leader Idle ChannelClose',
  'Replica Idle DiskPressureWithdraw',
  'Replica Idle ChannelClose',
  'Candidate Idle CandidateDiskPressureWithdraw',
  'Candidate Idle ChannelClose',
  'Idle Idle ChannelClose',
]);

function expected(
  from: string,
  to: string,
  signal: string,
): 'ok' | 'InvalidPair' | 'SignalMismatch' {
  if (LEGAL.has(`${from} ${to} ${signal}`)) return 'ok';
  for (const triple of LEGAL) if (triple.startsWith(`${from} ${to} `)) return 'SignalMismatch';
  return 'InvalidPair';
}

describe('role transition matrix', () => {
  it('has four roles and twelve signals', () => {
    assert.equal(ALL_ROLES.length, 4);
    assert.equal(ALL_SIGNALS.length, 12);
  });

  it('decides every (from, to, signal) triple as the spec says', () => {
    let checked = 0;
    const outcomes = { ok: 0, InvalidPair: 0, SignalMismatch: 0 };
    for (const from of ALL_ROLES) {
      for (const to of ALL_ROLES) {
        for (const signal of ALL_SIGNALS) {
          const want = expected(roleName(from), roleName(to), signal);
          const label = `${roleName(from)} → ${roleName(to)} by ${signal}`;
          checked++;
          outcomes[want]++;
          if (want === 'ok') {
            const t = validateTransition(from, to, signal);
            assert.deepEqual(
              t,
              { from, to, signal, noop: from === Role.Idle && to === Role.Idle },
              label,
            );
            continue;
          }
          const ErrorClass = want === 'InvalidPair' ? InvalidPairError : SignalMismatchError;
          assert.throws(
            () => validateTransition(from, to, signal),
            (error: unknown) => {
              assert.ok(error instanceof ErrorClass, `${label}: ${String(error)}`);
              assert.ok(error instanceof RedexError);
              assert.equal(error.code, RedexErrorCode.InvalidArgument);
              assert.equal(error.kind, want);
              assert.equal(error.from, from);
              assert.equal(error.to, to);
              assert.equal(error.signal, signal);
              assert.match(error.message, /^redex: invalid role transition/);
              return true;
            },
            label,
          );
          const checkedResult = checkTransition(from, to, signal);
          assert.equal(checkedResult.ok, false, label);
        }
      }
    }
    assert.equal(checked, 4 * 4 * 12);
    assert.equal(outcomes.ok, LEGAL.size);
    // Pairs with some legal signal: 9; each contributes (12 − legal) mismatches.
    assert.equal(outcomes.SignalMismatch, 9 * 12 - LEGAL.size);
    assert.equal(outcomes.InvalidPair, (16 - 9) * 12);
  });

  it('treats Idle → Idle by ChannelClose as the only no-op', () => {
    for (const from of ALL_ROLES) {
      for (const to of ALL_ROLES) {
        for (const signal of allowedSignals(from, to)) {
          const t = validateTransition(from, to, signal);
          assert.equal(t.noop, from === Role.Idle && to === Role.Idle);
        }
      }
    }
    assert.deepEqual(allowedSignals(Role.Idle, Role.Idle), [TransitionSignal.ChannelClose]);
  });

  it('names the allowed signals in a SignalMismatch message', () => {
    assert.throws(
      () => validateTransition(Role.Leader, Role.Idle, TransitionSignal.DiskPressureWithdraw),
      /GracefulRelinquish, LeaderDiskPressureWithdraw, ChannelClose/,
    );
  });

  it('picks a legal disk-pressure withdraw signal for every role', () => {
    for (const role of ALL_ROLES) {
      const t = validateTransition(role, Role.Idle, withdrawSignalFor(role));
      assert.equal(t.to, Role.Idle);
    }
    assert.equal(withdrawSignalFor(Role.Leader), TransitionSignal.LeaderDiskPressureWithdraw);
    assert.equal(withdrawSignalFor(Role.Replica), TransitionSignal.DiskPressureWithdraw);
    assert.equal(withdrawSignalFor(Role.Candidate), TransitionSignal.CandidateDiskPressureWithdraw);
    assert.equal(withdrawSignalFor(Role.Idle), TransitionSignal.ChannelClose);
  });
});
