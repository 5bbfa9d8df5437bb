// The few calls backup and restore make to a node, in one place: this is the only file of them
// that knows the CLI's HTTP client, so moving to another client touches nothing else.

import { READ_EVENTS_MAX } from '../../node/http/limits.js';
import { type ApiClient, channelPath } from '../client.js';
import { ApiError } from '../errors.js';
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

interface StatusAnswer {
  readonly firstSeq: number | null;
  readonly nextSeq: number;
  readonly commitSeq?: number;
}

interface ReadAnswer {
  readonly events: { seq: number; timestampNs: string; payload: string }[];
  readonly next: number;
  readonly firstSeq: number | null;
}

const BATCH_MEDIA_TYPE = 'application/vnd.redex.batch';

/** The calls over the CLI's `ApiClient`. */
export function nodeApi(client: ApiClient): NodeApi {
  return {
    async position(channel) {
      try {
        const status = await client.json<StatusAnswer>('GET', channelPath(channel));
        return {
          firstSeq: status.firstSeq,
          nextSeq: status.nextSeq,
          committedSeq: status.commitSeq ?? status.nextSeq,
        };
      } catch (error) {
        if (error instanceof ApiError && error.code === 'CHANNEL_NOT_FOUND') return null;
        throw error;
      }
    },
    async readPage(channel, from, to, maxBytes) {
      const answer = await client.json<ReadAnswer>('GET', channelPath(channel, 'events'), {
        query: { from, to, maxBytes, limit: READ_EVENTS_MAX, encoding: 'base64' },
      });
      return {
        events: answer.events.map((event) => ({
          seq: event.seq,
          timestampNs: BigInt(event.timestampNs),
          payload: Buffer.from(event.payload, 'base64'),
        })),
        next: answer.next,
        firstSeq: answer.firstSeq,
      };
    },
    async create(channel) {
      await client.json('POST', '/channels', { json: { name: channel } });
    },
    async append(channel, payloads) {
      let size = 0;
      for (const payload of payloads) size += 4 + payload.byteLength;
      const body = Buffer.allocUnsafe(size);
      let at = 0;
      for (const payload of payloads) {
        body.writeUInt32BE(payload.byteLength, at);
        body.set(payload, at + 4);
        at += 4 + payload.byteLength;
      }
      const answer = await client.json<{ firstSeq: number | null }>(
        'POST',
        channelPath(channel, 'events'),
        { body, contentType: BATCH_MEDIA_TYPE },
      );
      return answer.firstSeq ?? -1;
    },
  };
}
