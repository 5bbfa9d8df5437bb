// Argument checks of `RedexFile`'s methods (src/log/redex-file.ts): seqs and payloads that are not
// what the API accepts get a typed INVALID_ARGUMENT (or SEQ_RANGE) error, never a crash later on.

import { RedexError, RedexErrorCode } from './errors.js';

export function invalidArgument(message: string): RedexError {
  return new RedexError(RedexErrorCode.InvalidArgument, message);
}

/** Throws unless `value` is a seq the API accepts: a non-negative safe integer. */
export function checkSeq(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidArgument(`${name} must be a non-negative integer, got ${String(value)}`);
  }
  if (value > Number.MAX_SAFE_INTEGER) {
    throw new RedexError(
      RedexErrorCode.SeqRange,
      `${name} ${value} is past Number.MAX_SAFE_INTEGER`,
    );
  }
  return value;
}

export function checkPayload(payload: unknown, index?: number): Uint8Array {
  if (!(payload instanceof Uint8Array)) {
    const what = index === undefined ? 'payload' : `payloads[${index}]`;
    throw invalidArgument(
      `${what} must be a Uint8Array (or Buffer), got ${payload === null ? 'null' : typeof payload}`,
    );
  }
  return payload;
}

export function checkPayloads(payloads: unknown): readonly Uint8Array[] {
  if (!Array.isArray(payloads))
    throw invalidArgument(`payloads must be an array, got ${typeof payloads}`);
  for (let index = 0; index < payloads.length; index++) checkPayload(payloads[index], index);
  return payloads;
}
