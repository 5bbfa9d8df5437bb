// Events as the client hands them out: the API's JSON (`seq`, `timestampNs` as a decimal string,
// `payload` in base64) turned into bytes and a bigint.

import { fromBase64 } from './base64.js';
import { ClientErrorCode, RedexClientError } from './errors.js';

export interface ClientEvent {
  readonly seq: number;
  readonly payload: Uint8Array;
  /** Nanoseconds since the epoch, when the leader stored the event. */
  readonly timestampNs: bigint;
}

interface EventJson {
  readonly seq: unknown;
  readonly timestampNs: unknown;
  readonly payload: unknown;
}

/** Decodes one event of an answer asked with `encoding=base64` (the default). */
export function decodeEvent(json: unknown, node: string): ClientEvent {
  const event = json as EventJson;
  if (
    typeof event !== 'object' ||
    event === null ||
    !Number.isSafeInteger(event.seq) ||
    typeof event.payload !== 'string' ||
    typeof event.timestampNs !== 'string' ||
    !/^\d{1,30}$/.test(event.timestampNs)
  ) {
    throw badEvent(node, 'an event that is not {seq, timestampNs, payload}');
  }
  let payload: Uint8Array;
  try {
    payload = fromBase64(event.payload);
  } catch {
    throw badEvent(node, `event ${event.seq} with a payload that is not base64`);
  }
  return { seq: event.seq as number, payload, timestampNs: BigInt(event.timestampNs) };
}

function badEvent(node: string, what: string): RedexClientError {
  return new RedexClientError({
    code: ClientErrorCode.BadResponse,
    message: `${node} sent ${what}`,
    status: 200,
    node,
    outcome: 'none',
  });
}
