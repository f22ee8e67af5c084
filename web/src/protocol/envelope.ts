// Sealed envelopes (docs/PROTOCOL.md, section 1.3): ChaCha20-Poly1305 with the clear header and
// the room locator as associated data; nonces from strictly increasing u64 counters.
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { concat, equalBytes, readU64be, u64be, U64_MAX } from './bytes';
import type { Direction } from './keys';

export const ENVELOPE_VERSION = 1;
export const ENVELOPE_HEADER_SIZE = 26;
export const ENVELOPE_OVERHEAD = 42;
export const MAX_ENVELOPE_SIZE = 65536;
export const MAX_PLAINTEXT_SIZE = MAX_ENVELOPE_SIZE - ENVELOPE_OVERHEAD;

export type EnvelopeError =
  | 'too_short'
  | 'too_large'
  | 'unknown_version'
  | 'unknown_direction'
  | 'wrong_direction'
  | 'wrong_join_id'
  | 'replayed'
  | 'open_failed'
  | 'counter_exhausted';

export class EnvelopeFailure extends Error {
  constructor(readonly code: EnvelopeError) {
    super(`envelope: ${code}`);
  }
}

export function envelopeHeader(direction: Direction, joinId: Uint8Array, counter: bigint): Uint8Array {
  return concat(Uint8Array.of(ENVELOPE_VERSION, direction), joinId, u64be(counter));
}

export function envelopeNonce(counter: bigint): Uint8Array {
  return concat(new Uint8Array(4), u64be(counter));
}

/** Seals envelopes of one (key, direction, join id), counting up from `first`. */
export class Sealer {
  private next: bigint;
  constructor(
    private readonly key: Uint8Array,
    private readonly direction: Direction,
    private readonly joinId: Uint8Array,
    private readonly locator: Uint8Array,
    first: bigint = 0n,
  ) {
    this.next = first;
  }

  seal(plaintext: Uint8Array): Uint8Array {
    if (plaintext.length > MAX_PLAINTEXT_SIZE) throw new EnvelopeFailure('too_large');
    if (this.next >= U64_MAX) throw new EnvelopeFailure('counter_exhausted');
    const counter = this.next;
    this.next += 1n;
    const header = envelopeHeader(this.direction, this.joinId, counter);
    const aad = concat(header, this.locator);
    const sealed = chacha20poly1305(this.key, envelopeNonce(counter), aad).encrypt(plaintext);
    return concat(header, sealed);
  }
}

/** Opens envelopes for one (direction, join id); refuses replays. */
export class Opener {
  private last: bigint | null = null;
  constructor(
    private readonly key: Uint8Array,
    private readonly direction: Direction,
    private readonly joinId: Uint8Array,
    private readonly locator: Uint8Array,
    lastCounter: bigint | null = null,
  ) {
    this.last = lastCounter;
  }

  open(envelope: Uint8Array): Uint8Array {
    if (envelope.length > MAX_ENVELOPE_SIZE) throw new EnvelopeFailure('too_large');
    if (envelope.length < ENVELOPE_OVERHEAD) throw new EnvelopeFailure('too_short');
    if (envelope[0] !== ENVELOPE_VERSION) throw new EnvelopeFailure('unknown_version');
    if (envelope[1] !== 0 && envelope[1] !== 1) throw new EnvelopeFailure('unknown_direction');
    if (envelope[1] !== this.direction) throw new EnvelopeFailure('wrong_direction');
    if (!equalBytes(envelope.subarray(2, 18), this.joinId)) throw new EnvelopeFailure('wrong_join_id');
    const counter = readU64be(envelope, 18);
    if (this.last !== null && counter <= this.last) throw new EnvelopeFailure('replayed');
    const header = envelope.subarray(0, ENVELOPE_HEADER_SIZE);
    const aad = concat(header, this.locator);
    let plaintext: Uint8Array;
    try {
      plaintext = chacha20poly1305(this.key, envelopeNonce(counter), aad).decrypt(
        envelope.subarray(ENVELOPE_HEADER_SIZE),
      );
    } catch {
      throw new EnvelopeFailure('open_failed');
    }
    this.last = counter;
    return plaintext;
  }
}
