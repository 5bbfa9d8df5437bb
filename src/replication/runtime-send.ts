// The sending half of a channel's replication runtime: every message leaves through the
// `ReplicationDispatcher` here, inside the runtime's abort race, and is counted in its stats. A
// failed send is counted, never thrown (only the abort is); once released, nothing is sent and the
// dispatcher is no longer referenced.
// Called by: the runtime (`runtime.ts`) and its quorum effects (`runtime-quorum.ts`).

import type { Clock } from '../time/clock.js';
import type { Random } from '../time/random.js';
import type {
  ChannelId,
  NodeId,
  QuorumMessage,
  SyncHeartbeat,
  SyncNack,
  SyncRequest,
  SyncResponse,
} from '../wire/types.js';
import type { ReplicationDispatcher } from './dispatcher.js';
import type { OutstandingRequests } from './outstanding.js';
import type { ChannelQuorum } from './quorum/channel-quorum.js';
import { UNKNOWN_EPOCH } from './quorum/fetch-check.js';
import { ABORTED } from './runtime-loop.js';
import type { RuntimeFile } from './runtime-options.js';
import type { RuntimeStats } from './runtime-stats.js';

export interface RuntimeSenderOptions {
  readonly channelId: ChannelId;
  readonly dispatcher: ReplicationDispatcher;
  readonly stats: RuntimeStats;
  /** The runtime's abort race around every outside await. */
  readonly io: <T>(promise: Promise<T>) => Promise<T>;
  readonly random: Random;
  readonly clock: Clock;
  readonly quorum: ChannelQuorum;
  readonly file: RuntimeFile;
  readonly outstanding: OutstandingRequests;
}

export class RuntimeSender {
  readonly #options: RuntimeSenderOptions;
  // Released when the task ends, so a dropped runtime does not keep the mesh reachable.
  #dispatcher: ReplicationDispatcher | null;

  constructor(options: RuntimeSenderOptions) {
    this.#options = options;
    this.#dispatcher = options.dispatcher;
  }

  /** False once released: it no longer references the dispatcher. */
  get holdsDispatcher(): boolean {
    return this.#dispatcher !== null;
  }

  release(): void {
    this.#dispatcher = null;
  }

  async sendQuorum(target: NodeId, message: QuorumMessage): Promise<void> {
    const dispatcher = this.#dispatcher;
    if (dispatcher === null) return;
    const { io, stats } = this.#options;
    try {
      await io(dispatcher.sendQuorum(target, message));
      stats.votesOut++;
    } catch (error) {
      if (error === ABORTED) throw error;
      stats.sendFailures++;
    }
  }

  /** Sends a SyncRequest under a fresh token; a request that never left frees its token at once. */
  async sendRequest(
    leader: NodeId,
    shape: Pick<SyncRequest, 'sinceSeq' | 'chunkMax' | 'syncClass'>,
  ): Promise<void> {
    const { random, clock, quorum, file, outstanding } = this.#options;
    const token = random.nextU64();
    const now = clock.nowMs();
    const request: SyncRequest = {
      kind: 'request',
      channelId: this.#options.channelId,
      sinceSeq: shape.sinceSeq,
      chunkMax: shape.chunkMax,
      requestId: token,
      syncClass: shape.syncClass,
      quorum: {
        epoch: quorum.epoch,
        // A pipelined request asks from past our tail: it must not claim that position (the
        // leader would count events we do not hold yet), so it names no epoch there.
        lastFetchedEpoch:
          shape.sinceSeq > file.nextSeq
            ? UNKNOWN_EPOCH
            : quorum.fetchEpoch(shape.sinceSeq, file.firstSeq),
      },
    };
    outstanding.record(leader, token, now, shape.sinceSeq);
    if (!(await this.send(leader, request))) outstanding.take(leader, token, now);
  }

  /**
   * A heartbeat sent outside the loop's steps (a quiet tick's refresh): handed to the dispatcher
   * now and not awaited; a failure is counted. Nothing is sent once released.
   */
  sendHeartbeatNow(target: NodeId, message: SyncHeartbeat): void {
    const dispatcher = this.#dispatcher;
    if (dispatcher === null) return;
    const stats = this.#options.stats;
    let sent: Promise<void>;
    try {
      sent = dispatcher.sendHeartbeat(target, message);
    } catch {
      stats.sendFailures++;
      return;
    }
    sent.then(
      () => {
        stats.heartbeatsOut++;
      },
      () => {
        stats.sendFailures++;
      },
    );
  }

  /** True when the dispatcher accepted the message; a failure is counted, never thrown. */
  async send(
    target: NodeId,
    message: SyncHeartbeat | SyncRequest | SyncResponse | SyncNack,
  ): Promise<boolean> {
    const dispatcher = this.#dispatcher;
    if (dispatcher === null) return false;
    const { io, stats } = this.#options;
    try {
      switch (message.kind) {
        case 'heartbeat':
          await io(dispatcher.sendHeartbeat(target, message));
          stats.heartbeatsOut++;
          break;
        case 'request':
          await io(dispatcher.sendSyncRequest(target, message));
          stats.requestsOut++;
          break;
        case 'response':
          await io(dispatcher.sendSyncResponse(target, message));
          stats.responsesOut++;
          break;
        case 'nack':
          await io(dispatcher.sendSyncNack(target, message));
          stats.nacksOut++;
          break;
      }
      return true;
    } catch (error) {
      if (error === ABORTED) throw error;
      stats.sendFailures++;
      return false;
    }
  }
}
