// The few calls backup and restore make to a node, in one place: the only file of them that knows
// the client (RedexClient, with the CLI's retry policy).

import { type RedexClient, RedexClientError } from '../../client/index.js';
import { READ_EVENTS_MAX } from '../../node/http/limits.js';
import type { BackupEvent } from './format.js';

export interface ChannelPosition {
  /** Lowest retained seq, or null when nothing is retained. */
  readonly firstSeq: number | null;
  readonly nextSeq: number;
  /** Every event below this seq is committed (the tail, on a channel that is not replicated). */
  readonly committedSeq: number;
}

export interface EventPage {
  readonly events: BackupEvent[];
  /** Where the following page starts. */
  readonly next: number;
  /** The channel's lowest retained seq when the page was read. */
  readonly firstSeq: number | null;
}

export interface NodeApi {
  /** The channel's position, or null when it is not open on the node. */
  position(channel: string): Promise<ChannelPosition | null>;
  /** One page of `[from, to)`, at most about `maxBytes` of payload (always at least one event). */
  readPage(channel: string, from: number, to: number, maxBytes: number): Promise<EventPage>;
  /** Creates the channel with the node's defaults. */
  create(channel: string): Promise<void>;
  /** Appends a batch, all or nothing; resolves to the seq of its first event. */
  append(channel: string, payloads: readonly Uint8Array[]): Promise<number>;
}

/** The calls over the CLI's `RedexClient`. */
export function nodeApi(client: RedexClient): NodeApi {
  return {
    async position(channel) {
      try {
        const status = await client.channel(channel);
        return {
          firstSeq: status.firstSeq,
          nextSeq: status.nextSeq,
          committedSeq: status.commitSeq ?? status.nextSeq,
        };
      } catch (error) {
        if (error instanceof RedexClientError && error.code === 'CHANNEL_NOT_FOUND') return null;
        throw error;
      }
    },
    async readPage(channel, from, to, maxBytes) {
      const page = await client.readPage(channel, { from, to, maxBytes, limit: READ_EVENTS_MAX });
      return {
        events: page.events.map((event) => ({
          seq: event.seq,
          timestampNs: event.timestampNs,
          payload: event.payload,
        })),
        next: page.next,
        firstSeq: page.firstSeq,
      };
    },
    async create(channel) {
      await client.createChannel(channel);
    },
    async append(channel, payloads) {
      if (payloads.length === 0) return -1;
      const seqs = await client.append(channel, payloads);
      return seqs[0] ?? -1;
    },
  };
}
