// The disk-pressure policy (docs/DESIGN.md#disk-pressure, the seed's `handle_disk_pressure`):
// what a node does when
// its log refuses a replicated chunk (memory cap, disk write failure). `withdraw` gives the role
// up, so the channel's other replicas carry the redundancy; `evictOldest` runs the retention
// sweep and stays, so the next chunk can land. Either way the under-capacity counter counts it.
//
// The decision is pure (`diskPressureAction`); `handleDiskPressure` performs it. The withdraw
// signal is the one legal for the current role (upstream always used DiskPressureWithdraw, legal
// only from Replica, so a Leader or Candidate silently kept writing through pressure).

import { Role } from '../wire/types.js';
import type { UnderCapacityPolicy } from './config.js';
import type { ReplicationCoordinator } from './coordinator.js';
import { type TransitionSignal, withdrawSignalFor } from './roles.js';

export type DiskPressureAction =
  | { readonly kind: 'withdraw'; readonly signal: TransitionSignal }
  | { readonly kind: 'evict' };

export function diskPressureAction(policy: UnderCapacityPolicy, role: Role): DiskPressureAction {
  if (policy === 'evictOldest') return { kind: 'evict' };
  // Idle maps to ChannelClose: the idempotent Idle → Idle, so a benign race changes nothing.
  return { kind: 'withdraw', signal: withdrawSignalFor(role) };
}

export interface DiskPressureContext {
  readonly coordinator: ReplicationCoordinator;
  readonly file: { sweepRetention(): Promise<number> };
  readonly metrics?: { underCapacity(): void } | undefined;
}

export type DiskPressureOutcome =
  | { readonly kind: 'withdrew'; readonly signal: TransitionSignal; readonly error: unknown }
  | { readonly kind: 'evicted'; readonly events: number; readonly error: unknown };

/** Applies the channel's policy; never throws (failures come back in `error`). */
export async function handleDiskPressure(ctx: DiskPressureContext): Promise<DiskPressureOutcome> {
  ctx.metrics?.underCapacity();
  const action = diskPressureAction(ctx.coordinator.config.onUnderCapacity, ctx.coordinator.role);
  if (action.kind === 'withdraw') {
    try {
      await ctx.coordinator.transitionTo(Role.Idle, action.signal);
      return { kind: 'withdrew', signal: action.signal, error: null };
    } catch (error) {
      return { kind: 'withdrew', signal: action.signal, error };
    }
  }
  try {
    return { kind: 'evicted', events: await ctx.file.sweepRetention(), error: null };
  } catch (error) {
    return { kind: 'evicted', events: 0, error };
  }
}
