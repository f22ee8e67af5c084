// Route seals (docs/PROTOCOL.md section 6, "Relays below relays"): how the host speaks to a relay
// it has no data channel to. A relay placed below a relay wraps each host <-> relay frame in a
// route seal under keys of the join that placed it (the room secret and its join id, which its
// parents never see), and its parents pass the seal on as relay_route / relay_routed without
// being able to read, alter, replay or reorder it.
//
//   route seal = counter u64 (big-endian) | ChaCha20-Poly1305(key, nonce, aad = "", frame) | tag
//   nonce      = 0x00000000 | counter
//
// Each sender counts from 0, one per seal; a receiver takes only counters above the last one it
// opened (only a seal that opened moves it). The same rules as the C++ RouteSealer/RouteOpener
// (src/core/relay/relay_route.cpp); vectors: relay_link.json introduction.route.
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { concat, readU64be, u64be, U64_MAX, utf8 } from './bytes';
import { EnvelopeFailure, envelopeNonce } from './envelope';
import { deriveKey } from './keys';
import type { LinkRole } from './invite';

export const ROUTE_COUNTER_SIZE = 8;
export const ROUTE_TAG_SIZE = 16;
export const ROUTE_SEAL_OVERHEAD = ROUTE_COUNTER_SIZE + ROUTE_TAG_SIZE; // 24
/** A seal must fit a relay_route frame (a 16 KiB frame: the type byte, a child varint up to 10). */
export const MAX_ROUTE_SEAL_BYTES = 16384 - 11; // 16,373
export const MAX_ROUTE_PLAINTEXT = MAX_ROUTE_SEAL_BYTES - ROUTE_SEAL_OVERHEAD; // 16,349

const H2R_LABEL = utf8('tokencast/v1/route/host-to-relay');
const R2H_LABEL = utf8('tokencast/v1/route/relay-to-host');

export interface RouteKeys {
  hostToRelay: Uint8Array;
  relayToHost: Uint8Array;
}

/** The two route keys of the join `joinId` (section 1.2: label | 0x00 | role | host key | join id). */
export function routeKeys(secret: Uint8Array, role: LinkRole, hostKey: Uint8Array, joinId: Uint8Array): RouteKeys {
  if (joinId.length !== 16 || hostKey.length !== 32) throw new Error('route keys: a 16-byte join id and a 32-byte host key');
  const tail = concat(Uint8Array.of(0, role), hostKey, joinId);
  return { hostToRelay: deriveKey(secret, concat(H2R_LABEL, tail)), relayToHost: deriveKey(secret, concat(R2H_LABEL, tail)) };
}

/** One direction of one route: a fresh counter per seal, from 0. Throws EnvelopeFailure
 *  (too_large, counter_exhausted). */
export class RouteSealer {
  private next = 0n;
  constructor(private readonly key: Uint8Array) {
    if (key.length !== 32) throw new Error('route key: 32 bytes');
  }

  seal(plaintext: Uint8Array): Uint8Array {
    if (plaintext.length > MAX_ROUTE_PLAINTEXT) throw new EnvelopeFailure('too_large');
    if (this.next >= U64_MAX) throw new EnvelopeFailure('counter_exhausted');
    const counter = this.next;
    this.next += 1n;
    return concat(u64be(counter), chacha20poly1305(this.key, envelopeNonce(counter), new Uint8Array(0)).encrypt(plaintext));
  }
}

/** The other end: opens seals whose counter is above the last one opened. Throws EnvelopeFailure
 *  (too_large, too_short, replayed, open_failed), checked in that order. */
export class RouteOpener {
  private last: bigint | null = null;
  constructor(private readonly key: Uint8Array) {
    if (key.length !== 32) throw new Error('route key: 32 bytes');
  }

  open(sealed: Uint8Array): Uint8Array {
    if (sealed.length > MAX_ROUTE_SEAL_BYTES) throw new EnvelopeFailure('too_large');
    if (sealed.length < ROUTE_SEAL_OVERHEAD) throw new EnvelopeFailure('too_short');
    const counter = readU64be(sealed, 0);
    if (this.last !== null && counter <= this.last) throw new EnvelopeFailure('replayed');
    let plaintext: Uint8Array;
    try {
      plaintext = chacha20poly1305(this.key, envelopeNonce(counter), new Uint8Array(0)).decrypt(sealed.subarray(ROUTE_COUNTER_SIZE));
    } catch {
      throw new EnvelopeFailure('open_failed');
    }
    this.last = counter;
    return plaintext;
  }
}

/** Both directions of a route as one end holds them. */
export interface RouteChannel {
  sealer: RouteSealer;
  opener: RouteOpener;
}

/** The relay's end of its route to the host, for the join that placed it. */
export function relayRouteChannel(keys: RouteKeys): RouteChannel {
  return { sealer: new RouteSealer(keys.relayToHost), opener: new RouteOpener(keys.hostToRelay) };
}

/** The host's end of the route to the relay a join placed. */
export function hostRouteChannel(keys: RouteKeys): RouteChannel {
  return { sealer: new RouteSealer(keys.hostToRelay), opener: new RouteOpener(keys.relayToHost) };
}
