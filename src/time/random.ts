import { randomFillSync } from 'node:crypto';

/** Randomness as an injected dependency, for the same reason as `Clock`. */
export interface Random {
  /** A uniformly random unsigned 64-bit value. */
  nextU64(): bigint;
  /** A uniformly random unsigned 32-bit value. */
  nextU32(): number;
  /** A uniformly random float in [0, 1). */
  nextFloat(): number;
  /** A uniformly random integer in [0, maxExclusive); maxExclusive must be a positive safe integer. */
  nextInt(maxExclusive: number): number;
}

const U64_MASK = (1n << 64n) - 1n;

function checkBound(maxExclusive: number): void {
  if (!Number.isSafeInteger(maxExclusive) || maxExclusive <= 0) {
    throw new RangeError(
      `Random.nextInt: maxExclusive must be a positive safe integer, got ${maxExclusive}`,
    );
  }
}

/**
 * Seeded xoshiro128** (32-bit state words, seeded through splitmix32). Written by hand, not taken
 * from a package, because a replayable seed must produce the same sequence forever: a dependency
 * upgrade that changed the generator would silently invalidate every recorded failing seed.
 */
export class SeededRandom implements Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  readonly seed: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed))
      throw new RangeError(`SeededRandom: seed must be a safe integer, got ${seed}`);
    this.seed = seed;
    let state = (seed ^ Math.floor(seed / 0x1_0000_0000)) >>> 0;
    const splitmix32 = () => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = splitmix32();
    this.#b = splitmix32();
    this.#c = splitmix32();
    this.#d = splitmix32();
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1;
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  nextU64(): bigint {
    const high = BigInt(this.nextU32());
    return ((high << 32n) | BigInt(this.nextU32())) & U64_MASK;
  }

  nextFloat(): number {
    // 53 random bits, like Math.random's precision.
    return (this.nextU32() * 0x20_0000 + (this.nextU32() >>> 11)) / 2 ** 53;
  }

  nextInt(maxExclusive: number): number {
    checkBound(maxExclusive);
    return Math.floor(this.nextFloat() * maxExclusive);
  }

  /** A new independent generator derived from this one (for per-node streams in a simulation). */
  fork(): SeededRandom {
    return new SeededRandom(this.nextU32() * 0x20_0000 + (this.nextU32() >>> 11));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Cryptographically strong randomness for production (request tokens must not be guessable). */
export class SystemRandom implements Random {
  readonly #buffer = new Uint32Array(256);
  #index = 256;

  nextU32(): number {
    if (this.#index >= this.#buffer.length) {
      randomFillSync(this.#buffer);
      this.#index = 0;
    }
    return this.#buffer[this.#index++]!;
  }

  nextU64(): bigint {
    const high = BigInt(this.nextU32());
    return (high << 32n) | BigInt(this.nextU32());
  }

  nextFloat(): number {
    return (this.nextU32() * 0x20_0000 + (this.nextU32() >>> 11)) / 2 ** 53;
  }

  nextInt(maxExclusive: number): number {
    checkBound(maxExclusive);
    return Math.floor(this.nextFloat() * maxExclusive);
  }
}

export const systemRandom: Random = new SystemRandom();
