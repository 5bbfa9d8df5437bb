// What the e2e test and its node processes agree on: the payload of the i-th event of an append
// command (deterministic, so the test knows every byte a node should hold), and the digest of a
// range of a log (so logs are compared byte for byte without shipping them over stdout).

import { createHash, type Hash } from 'node:crypto';

/** Payload `index` of the append command tagged `tag`: SHA-256 of `tag:index`, repeated to `size` bytes. */
export function payloadFor(tag: string, index: number, size: number): Uint8Array {
  const block = createHash('sha256').update(`${tag}:${index}`).digest();
  const out = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += block.length) {
    out.set(block.subarray(0, Math.min(block.length, size - offset)), offset);
  }
  return out;
}

/** SHA-256 over each event as `seq u64 LE · length u32 LE · payload`, in seq order. */
export class LogDigest {
  readonly #hash: Hash = createHash('sha256');
  #count = 0;

  add(seq: number, payload: Uint8Array): void {
    const head = Buffer.alloc(12);
    head.writeBigUInt64LE(BigInt(seq), 0);
    head.writeUInt32LE(payload.length, 8);
    this.#hash.update(head);
    this.#hash.update(payload);
    this.#count++;
  }

  get count(): number {
    return this.#count;
  }

  hex(): string {
    return this.#hash.digest('hex');
  }
}
