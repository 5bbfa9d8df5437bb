// The caller's side of a leadership transfer: one pending request per channel, settled by what
// the steps that follow show (the quorum logic itself is in quorum/transfer.ts). The runtime
// starts it as a local step and reports its facts after every step.
// Called by: the runtime (`runtime.ts`).

import { RedexError, RedexErrorCode } from '../log/errors.js';
import type { NodeId } from '../wire/types.js';
import type { TransferRefusal } from './quorum/channel-quorum.js';

/** Why a leadership transfer did not happen. */
export type TransferFailure =
  | TransferRefusal
  | 'abandoned'
  | 'superseded'
  | 'timed-out'
  | 'closed'
  | 'no-target';

export class TransferFailedError extends RedexError {
  readonly reason: TransferFailure;

  constructor(channel: string, reason: TransferFailure, detail: string) {
    super(
      RedexErrorCode.TransferFailed,
      `leadership transfer of ${JSON.stringify(channel)} failed (${reason}): ${detail}`,
    );
    this.reason = reason;
  }
}

export interface TransferResult {
  /** The epoch the target leads. */
  readonly epoch: number;
  readonly leader: NodeId;
}

/** What the runtime shows after a step. */
export interface TransferFacts {
  readonly epoch: number;
  readonly leader: NodeId | null;
  readonly leading: boolean;
  readonly transferTarget: NodeId | null;
  readonly nowMs: number;
}

interface Pending {
  readonly target: NodeId;
  fromEpoch: number | null;
  startedMs: number;
  readonly resolve: (result: TransferResult) => void;
  readonly reject: (error: unknown) => void;
}

export class TransferRequests {
  readonly #channel: string;
  /** Past this long without an outcome (an election that never ends) the request fails. */
  readonly #deadlineMs: number;
  #pending: Pending | null = null;

  constructor(channel: string, silenceMs: number) {
    this.#channel = channel;
    this.#deadlineMs = 3 * silenceMs;
  }

  get pending(): boolean {
    return this.#pending !== null;
  }

  /** A new request; rejects at once when one is already waiting. */
  request(target: NodeId): Promise<TransferResult> {
    if (this.#pending !== null) {
      return Promise.reject(
        new TransferFailedError(
          this.#channel,
          'in-progress',
          'another transfer is still in progress',
        ),
      );
    }
    return new Promise<TransferResult>((resolve, reject) => {
      this.#pending = { target, fromEpoch: null, startedMs: 0, resolve, reject };
    });
  }

  /** The local step ran: the quorum logic began the transfer from `epoch`, or refused it. */
  began(epoch: number, nowMs: number, refusal: TransferRefusal | null): void {
    const pending = this.#pending;
    if (pending === null) return;
    if (refusal !== null) {
      this.#fail(refusal, refusalText(refusal));
      return;
    }
    pending.fromEpoch = epoch;
    pending.startedMs = nowMs;
  }

  /** After every step: resolve once the target leads a later epoch, or fail. */
  observe(facts: TransferFacts): void {
    const pending = this.#pending;
    if (pending === null || pending.fromEpoch === null) return;
    if (facts.epoch > pending.fromEpoch && facts.leader !== null) {
      this.#pending = null;
      if (facts.leader === pending.target) {
        pending.resolve({ epoch: facts.epoch, leader: facts.leader });
      } else {
        pending.reject(
          new TransferFailedError(
            this.#channel,
            'superseded',
            `node ${facts.leader.toString(16)} leads epoch ${facts.epoch} instead`,
          ),
        );
      }
      return;
    }
    if (facts.epoch === pending.fromEpoch && facts.leading && facts.transferTarget === null) {
      this.#fail(
        'abandoned',
        'the target did not take over within the silence window; this node leads again',
      );
      return;
    }
    if (facts.nowMs - pending.startedMs >= this.#deadlineMs) {
      this.#fail(
        'timed-out',
        facts.leading
          ? 'no new leader after three silence windows'
          : 'this node stopped leading but heard no leader of a later epoch within three silence windows',
      );
    }
  }

  close(): void {
    this.#fail('closed', 'the channel stopped replicating');
  }

  #fail(reason: TransferFailure, detail: string): void {
    const pending = this.#pending;
    if (pending === null) return;
    this.#pending = null;
    pending.reject(new TransferFailedError(this.#channel, reason, detail));
  }
}

function refusalText(refusal: TransferRefusal): string {
  switch (refusal) {
    case 'not-leader':
      return 'this node does not lead the channel';
    case 'not-a-peer':
      return 'the target is not another member of the replica set';
    case 'in-progress':
      return 'another transfer is still in progress';
  }
}
