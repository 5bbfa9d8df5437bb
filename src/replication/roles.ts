// The replica role state machine (docs/DESIGN.md#roles-and-transitions): which (from, to, signal)
// triples are legal. Pure and table-driven; the coordinator calls `validateTransition` before it
// changes anything, and the runtime uses `withdrawSignalFor` to pick a legal signal under disk
// pressure.

import { RedexError, RedexErrorCode } from '../errors/redex-error.js';
import { Role } from '../wire/types.js';

/** Why a role transition happens. The same pair may be reached by several signals. */
export const TransitionSignal = {
  CapabilitySelected: 'CapabilitySelected',
  MissedHeartbeats: 'MissedHeartbeats',
  ElectionWon: 'ElectionWon',
  ElectionLost: 'ElectionLost',
  PeerLeaderObserved: 'PeerLeaderObserved',
  /** A frame of a higher epoch arrived: a Leader or Candidate steps down at once. */
  HigherEpochObserved: 'HigherEpochObserved',
  /** A Leader heard from no majority for the silence window (check quorum). */
  QuorumLost: 'QuorumLost',
  GracefulRelinquish: 'GracefulRelinquish',
  LeaderDiskPressureWithdraw: 'LeaderDiskPressureWithdraw',
  DiskPressureWithdraw: 'DiskPressureWithdraw',
  CandidateDiskPressureWithdraw: 'CandidateDiskPressureWithdraw',
  ChannelClose: 'ChannelClose',
} as const;
export type TransitionSignal = (typeof TransitionSignal)[keyof typeof TransitionSignal];

export const ALL_ROLES: readonly Role[] = [Role.Leader, Role.Replica, Role.Candidate, Role.Idle];
export const ALL_SIGNALS: readonly TransitionSignal[] = Object.values(TransitionSignal);

const ROLE_NAMES: Record<Role, string> = {
  [Role.Leader]: 'Leader',
  [Role.Replica]: 'Replica',
  [Role.Candidate]: 'Candidate',
  [Role.Idle]: 'Idle',
};

export function roleName(role: Role): string {
  return ROLE_NAMES[role] ?? `Role(${String(role)})`;
}

/** A validated transition. `noop` is only true for the idempotent Idle → Idle close. */
export interface Transition {
  readonly from: Role;
  readonly to: Role;
  readonly signal: TransitionSignal;
  readonly noop: boolean;
}

/** A transition the role matrix rejects; the role did not change. */
export class TransitionError extends RedexError {
  readonly from: Role;
  readonly to: Role;
  readonly signal: TransitionSignal;
  readonly kind: 'InvalidPair' | 'SignalMismatch';

  constructor(kind: 'InvalidPair' | 'SignalMismatch', from: Role, to: Role, signal: string) {
    const pair = `${roleName(from)} → ${roleName(to)}`;
    const why =
      kind === 'InvalidPair'
        ? `no signal allows ${pair}`
        : `${pair} is not allowed by ${signal} (allowed: ${allowedSignals(from, to).join(', ')})`;
    super(RedexErrorCode.InvalidArgument, `invalid role transition: ${why}`);
    this.kind = kind;
    this.from = from;
    this.to = to;
    this.signal = signal as TransitionSignal;
  }
}

/** No signal allows this (from, to) pair. */
export class InvalidPairError extends TransitionError {
  constructor(from: Role, to: Role, signal: string) {
    super('InvalidPair', from, to, signal);
  }
}

/** The pair is allowed, but by other signals. */
export class SignalMismatchError extends TransitionError {
  constructor(from: Role, to: Role, signal: string) {
    super('SignalMismatch', from, to, signal);
  }
}

const S = TransitionSignal;

// The transition table of docs/DESIGN.md#roles-and-transitions, keyed by "from>to". Idle → Idle is
// listed because ChannelClose is legal (and a no-op) from every role, Idle included.
const MATRIX: ReadonlyMap<string, readonly TransitionSignal[]> = new Map([
  [pairKey(Role.Idle, Role.Replica), [S.CapabilitySelected]],
  [pairKey(Role.Replica, Role.Candidate), [S.MissedHeartbeats]],
  [pairKey(Role.Candidate, Role.Leader), [S.ElectionWon]],
  [pairKey(Role.Candidate, Role.Replica), [S.ElectionLost, S.HigherEpochObserved]],
  [pairKey(Role.Leader, Role.Replica), [S.PeerLeaderObserved, S.HigherEpochObserved, S.QuorumLost]],
  [
    pairKey(Role.Leader, Role.Idle),
    [S.GracefulRelinquish, S.LeaderDiskPressureWithdraw, S.ChannelClose],
  ],
  [pairKey(Role.Replica, Role.Idle), [S.DiskPressureWithdraw, S.ChannelClose]],
  [pairKey(Role.Candidate, Role.Idle), [S.CandidateDiskPressureWithdraw, S.ChannelClose]],
  [pairKey(Role.Idle, Role.Idle), [S.ChannelClose]],
]);

function pairKey(from: Role, to: Role): string {
  return `${from}>${to}`;
}

/** The signals that allow `from → to`; empty when the pair is never legal. */
export function allowedSignals(from: Role, to: Role): readonly TransitionSignal[] {
  return MATRIX.get(pairKey(from, to)) ?? [];
}

/** Validates a triple; throws `InvalidPairError` or `SignalMismatchError` when it is not legal. */
export function validateTransition(from: Role, to: Role, signal: TransitionSignal): Transition {
  const allowed = MATRIX.get(pairKey(from, to));
  if (allowed === undefined) throw new InvalidPairError(from, to, signal);
  if (!allowed.includes(signal)) throw new SignalMismatchError(from, to, signal);
  return { from, to, signal, noop: from === Role.Idle && to === Role.Idle };
}

/** Non-throwing form of `validateTransition`. */
export function checkTransition(
  from: Role,
  to: Role,
  signal: TransitionSignal,
):
  | { readonly ok: true; readonly transition: Transition }
  | { readonly ok: false; readonly error: TransitionError } {
  try {
    return { ok: true, transition: validateTransition(from, to, signal) };
  } catch (error) {
    if (error instanceof TransitionError) return { ok: false, error };
    throw error;
  }
}

/**
 * The signal that legally takes `role` to Idle under disk pressure. Upstream always used
 * DiskPressureWithdraw, which is only legal from Replica, so a Leader kept writing through
 * pressure (docs/DESIGN.md#withdraw-signal-per-role).
 */
export function withdrawSignalFor(role: Role): TransitionSignal {
  switch (role) {
    case Role.Leader:
      return S.LeaderDiskPressureWithdraw;
    case Role.Replica:
      return S.DiskPressureWithdraw;
    case Role.Candidate:
      return S.CandidateDiskPressureWithdraw;
    default:
      return S.ChannelClose;
  }
}
