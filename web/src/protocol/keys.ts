// Key schedule (docs/PROTOCOL.md, section 1.2): one HKDF-SHA256 call per key.
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concat, utf8 } from './bytes';
import type { LinkRole } from './invite';

export const HKDF_SALT = utf8('tokencast/v1');
const LOCATOR_LABEL = utf8('tokencast/v1/room-locator');
const J2H_LABEL = utf8('tokencast/v1/seal/joiner-to-host');
const H2J_LABEL = utf8('tokencast/v1/seal/host-to-joiner');
const BEACON_LABEL = utf8('tokencast/v1/seal/beacon');

export type Direction = 0 | 1; // 0 joiner -> host, 1 host -> joiner

export function locatorInfo(role: LinkRole, hostKey: Uint8Array): Uint8Array {
  return concat(LOCATOR_LABEL, Uint8Array.of(0, role), hostKey);
}

export function sealInfo(direction: Direction, role: LinkRole, hostKey: Uint8Array, joinId: Uint8Array): Uint8Array {
  return concat(direction === 0 ? J2H_LABEL : H2J_LABEL, Uint8Array.of(0, role), hostKey, joinId);
}

export function deriveKey(secret: Uint8Array, info: Uint8Array): Uint8Array {
  return hkdf(sha256, secret, HKDF_SALT, info, 32);
}

export function roomLocator(secret: Uint8Array, role: LinkRole, hostKey: Uint8Array): Uint8Array {
  return deriveKey(secret, locatorInfo(role, hostKey));
}

export function sealKey(
  secret: Uint8Array,
  role: LinkRole,
  hostKey: Uint8Array,
  direction: Direction,
  joinId: Uint8Array,
): Uint8Array {
  return deriveKey(secret, sealInfo(direction, role, hostKey, joinId));
}

/** The room's key for ICE beacons (one per room: the host greets before it knows a join id). */
export function beaconKey(secret: Uint8Array, role: LinkRole, hostKey: Uint8Array): Uint8Array {
  return deriveKey(secret, concat(BEACON_LABEL, Uint8Array.of(0, role), hostKey));
}
