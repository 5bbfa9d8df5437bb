// The client-side history of a simulation run: every append, read and tail delivery the workload
// made, with its virtual invoke and completion times and its outcome. The history checker
// (check-history.ts) judges it against the nodes' final logs; nothing here judges anything.

/** How an append was acknowledged: stored on the leader only, or confirmed by a majority. */
export type AcksMode = 'leader' | 'quorum';

export type AppendOutcome =
  /** Acknowledged at `seq` (for `acks: 'quorum'`: confirmed by a majority of the replica set). */
  | { readonly kind: 'ok'; readonly seq: number }
  /** Definitely not written (refused before anything was stored, e.g. NOT_LEADER). */
  | { readonly kind: 'failed'; readonly code: string }
  /**
   * May or may not be written: a timeout, a lost leadership, a crash before completion. `seq` is
   * where the leader stored it, when the client learned that much before the outcome blurred.
   */
  | { readonly kind: 'unknown'; readonly reason: string; readonly seq?: number };

export interface AppendOp {
  readonly id: number;
  readonly node: string;
  readonly payload: string;
  readonly acks: AcksMode;
  readonly invokeMs: number;
  /** Null while pending; a pending op counts as unknown. */
  completeMs: number | null;
  outcome: AppendOutcome | null;
}

export interface DeliveredEvent {
  readonly seq: number;
  readonly payload: string;
}

export interface ReadOp {
  readonly node: string;
  readonly from: number;
  readonly to: number;
  readonly invokeMs: number;
  readonly completeMs: number;
  /**
   * The node's commitSeq when the read was invoked: events below it were committed, so they must
   * match the final log. Undefined while the runtime exposes no commitSeq.
   */
  readonly committedBelow: number | undefined;
  readonly events: readonly DeliveredEvent[];
}

export interface TailDelivery extends DeliveredEvent {
  readonly atMs: number;
  /** The node's commitSeq when the consumer asked for this event (see ReadOp.committedBelow). */
  readonly committedBelow: number | undefined;
}

/** One tail's life on one node, from its start (or restart after a crash) until it ended. */
export interface TailSession {
  readonly id: number;
  readonly node: string;
  readonly fromSeq: number;
  readonly startMs: number;
  readonly deliveries: TailDelivery[];
  /** Why it ended (`closed`, an error code), or null while it runs. */
  end: string | null;
}

/** Read events and tail deliveries kept per run; a run past it stops recording more (counted). */
export const RECORDED_DELIVERIES_MAX = 200_000;

export class Recorder {
  readonly appends: AppendOp[] = [];
  readonly reads: ReadOp[] = [];
  readonly tails: TailSession[] = [];
  /** Deliveries not recorded because the run hit RECORDED_DELIVERIES_MAX. */
  droppedDeliveries = 0;
  #deliveries = 0;

  invokeAppend(node: string, payload: string, acks: AcksMode, nowMs: number): AppendOp {
    const op: AppendOp = {
      id: this.appends.length,
      node,
      payload,
      acks,
      invokeMs: nowMs,
      completeMs: null,
      outcome: null,
    };
    this.appends.push(op);
    return op;
  }

  completeAppend(op: AppendOp, outcome: AppendOutcome, nowMs: number): void {
    if (op.outcome !== null) return; // the first completion wins (a crash may race a reply)
    op.outcome = outcome;
    op.completeMs = nowMs;
  }

  read(op: ReadOp): void {
    if (!this.#room(op.events.length)) return;
    this.reads.push(op);
  }

  startTail(node: string, fromSeq: number, nowMs: number): TailSession {
    const session: TailSession = {
      id: this.tails.length,
      node,
      fromSeq,
      startMs: nowMs,
      deliveries: [],
      end: null,
    };
    this.tails.push(session);
    return session;
  }

  deliver(session: TailSession, delivery: TailDelivery): void {
    if (this.#room(1)) session.deliveries.push(delivery);
  }

  #room(events: number): boolean {
    if (this.#deliveries + events > RECORDED_DELIVERIES_MAX) {
      this.droppedDeliveries += events;
      return false;
    }
    this.#deliveries += events;
    return true;
  }
}
