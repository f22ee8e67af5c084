// Join handshake, joiner side (docs/PROTOCOL.md, sections 1.4-1.5 and 2): messages, signed
// transcripts, host beacons and the joiner state machine (mirrors src/core/handshake_joiner.cpp).
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { concat, decodeUtf8, fromHex, randomBytes, readU64be, u64be, utf8 } from './bytes';
import { EnvelopeFailure, Opener, Sealer, type EnvelopeError } from './envelope';
import type { InviteLink } from './invite';
import { beaconKey, roomLocator, sealKey } from './keys';
import { decodeIceList, MAX_ICE_LIST_SIZE, type IceServerEntry } from './rendezvous';
import { extractSdpFingerprint } from './sdp';

export const MAX_DISPLAY_NAME_BYTES = 64;
export const MAX_SDP_BYTES = 32768;
export const MAX_MID_BYTES = 32;
export const MAX_CANDIDATE_BYTES = 1024;
export const BEACON_TAG = 0xb1;
export const BEACON_SIZE = 65;
/** A beacon handing out the host's own ICE servers, sealed and signed (PROTOCOL.md section 2). */
export const ICE_BEACON_TAG = 0xb2;
export const ICE_BEACON_NONCE_SIZE = 12;
export const ICE_BEACON_OVERHEAD = 1 + 64 + ICE_BEACON_NONCE_SIZE + 16;
export const MIN_ICE_BEACON_SIZE = ICE_BEACON_OVERHEAD + 1 + 3 + 6; // one "stun:x"
export const MAX_ICE_BEACON_SIZE = ICE_BEACON_OVERHEAD + MAX_ICE_LIST_SIZE;

export type HandshakeError =
  | 'envelope_too_short'
  | 'envelope_too_large'
  | 'unknown_envelope_version'
  | 'unknown_direction'
  | 'wrong_direction'
  | 'unknown_join'
  | 'open_failed'
  | 'replayed'
  | 'malformed_message'
  | 'unexpected_message'
  | 'bad_sdp'
  | 'bad_signature'
  | 'closed'
  | 'invalid_argument'
  | 'counter_exhausted'
  // host side only
  | 'offer_expired'
  | 'offer_replayed'
  | 'too_many_joins'
  | 'too_many_candidates'
  | 'wrong_state';

export class HandshakeFailure extends Error {
  constructor(readonly code: HandshakeError) {
    super(`handshake: ${code}`);
  }
}

export type RejectReason = 0 | 1 | 2 | 3;
export const REJECT_REASON_NAMES = ['refused', 'room_full', 'clock_skew', 'host_closing'] as const;

export interface IceCandidateMessage {
  mlineIndex: number;
  mid: string;
  candidate: string;
}

export type HandshakeMessage =
  | { type: 'offer'; timestampMs: bigint; displayName: string; sdp: string }
  | { type: 'answer'; signature: Uint8Array; sdp: string }
  | ({ type: 'candidate' } & IceCandidateMessage)
  | { type: 'end_of_candidates' }
  | { type: 'rejection'; reason: RejectReason; signature: Uint8Array }
  /** The host placed the joiner below a relay (docs/PROTOCOL.md section 6, "Introducing a child
   *  to its relay"): the relay's answer SDP, signed by the host for this offer. */
  | { type: 'relay_answer'; signature: Uint8Array; relayPeerId: bigint; sdp: string };

const INT64_MAX = (1n << 63n) - 1n;

export function validDisplayName(name: string): boolean {
  const bytes = utf8(name);
  if (bytes.length > MAX_DISPLAY_NAME_BYTES) return false;
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp <= 0x9f)) return false;
    if (cp >= 0xd800 && cp <= 0xdfff) return false; // lone surrogate: not encodable as UTF-8
  }
  return true;
}

export function validSdpBytes(bytes: Uint8Array): boolean {
  return bytes.length >= 1 && bytes.length <= MAX_SDP_BYTES && !bytes.includes(0) && decodeUtf8(bytes) !== null;
}

const printableAscii = (s: string) => /^[\x20-\x7e]*$/.test(s);

export function validCandidate(c: IceCandidateMessage): boolean {
  return (
    c.mid.length <= MAX_MID_BYTES &&
    printableAscii(c.mid) &&
    c.candidate.length >= 1 &&
    c.candidate.length <= MAX_CANDIDATE_BYTES &&
    printableAscii(c.candidate) &&
    Number.isInteger(c.mlineIndex) &&
    c.mlineIndex >= 0 &&
    c.mlineIndex <= 0xffff
  );
}

export function encodeMessage(m: HandshakeMessage): Uint8Array {
  switch (m.type) {
    case 'offer': {
      const name = utf8(m.displayName);
      const sdp = utf8(m.sdp);
      if (m.timestampMs < 0n || m.timestampMs > INT64_MAX || !validDisplayName(m.displayName) || !validSdpBytes(sdp)) {
        throw new HandshakeFailure('invalid_argument');
      }
      return concat(Uint8Array.of(1), u64be(m.timestampMs), Uint8Array.of(name.length), name, sdp);
    }
    case 'answer': {
      const sdp = utf8(m.sdp);
      if (!validSdpBytes(sdp) || m.signature.length !== 64) throw new HandshakeFailure('invalid_argument');
      return concat(Uint8Array.of(2), m.signature, sdp);
    }
    case 'candidate': {
      if (!validCandidate(m)) throw new HandshakeFailure('invalid_argument');
      const mid = utf8(m.mid);
      return concat(Uint8Array.of(3, m.mlineIndex >> 8, m.mlineIndex & 255, mid.length), mid, utf8(m.candidate));
    }
    case 'end_of_candidates':
      return Uint8Array.of(4);
    case 'rejection':
      if (m.reason > 3 || m.signature.length !== 64) throw new HandshakeFailure('invalid_argument');
      return concat(Uint8Array.of(5, m.reason), m.signature);
    case 'relay_answer': {
      const sdp = utf8(m.sdp);
      if (!validSdpBytes(sdp) || m.signature.length !== 64 || m.relayPeerId < 0n || m.relayPeerId >= 1n << 64n) {
        throw new HandshakeFailure('invalid_argument');
      }
      return concat(Uint8Array.of(6), m.signature, u64be(m.relayPeerId), sdp);
    }
  }
}

function malformed(): never {
  throw new HandshakeFailure('malformed_message');
}

export function decodeMessage(p: Uint8Array): HandshakeMessage {
  if (p.length < 1) malformed();
  switch (p[0]) {
    case 1: {
      if (p.length < 10) malformed();
      const ts = readU64be(p, 1);
      if (ts > INT64_MAX) malformed();
      const nameLen = p[9];
      if (p.length < 10 + nameLen) malformed();
      const name = decodeUtf8(p.subarray(10, 10 + nameLen));
      const sdpBytes = p.subarray(10 + nameLen);
      if (name === null || !validDisplayName(name) || !validSdpBytes(sdpBytes)) malformed();
      return { type: 'offer', timestampMs: ts, displayName: name, sdp: decodeUtf8(sdpBytes)! };
    }
    case 2: {
      if (p.length < 65) malformed();
      const sdpBytes = p.subarray(65);
      if (!validSdpBytes(sdpBytes)) malformed();
      return { type: 'answer', signature: p.slice(1, 65), sdp: decodeUtf8(sdpBytes)! };
    }
    case 3: {
      if (p.length < 4) malformed();
      const mlineIndex = (p[1] << 8) | p[2];
      const midLen = p[3];
      if (p.length < 4 + midLen) malformed();
      const mid = decodeUtf8(p.subarray(4, 4 + midLen));
      const candidate = decodeUtf8(p.subarray(4 + midLen));
      if (mid === null || candidate === null) malformed();
      const c = { mlineIndex, mid, candidate };
      if (!validCandidate(c)) malformed();
      return { type: 'candidate', ...c };
    }
    case 4:
      if (p.length !== 1) malformed();
      return { type: 'end_of_candidates' };
    case 5:
      if (p.length !== 66 || p[1] > 3) malformed();
      return { type: 'rejection', reason: p[1] as RejectReason, signature: p.slice(2, 66) };
    case 6: {
      // signature(64) | relay_peer_id u64 BE | sdp (the rest)
      if (p.length < 73) malformed();
      const sdpBytes = p.subarray(73);
      if (!validSdpBytes(sdpBytes)) malformed();
      return { type: 'relay_answer', signature: p.slice(1, 65), relayPeerId: readU64be(p, 65), sdp: decodeUtf8(sdpBytes)! };
    }
  }
  malformed();
}

export function answerTranscript(
  locator: Uint8Array,
  joinId: Uint8Array,
  offerHash: Uint8Array,
  answerSdp: string,
  joinerFingerprint: Uint8Array,
  hostFingerprint: Uint8Array,
): Uint8Array {
  return concat(
    utf8('tokencast/v1/answer'),
    Uint8Array.of(0),
    locator,
    joinId,
    offerHash,
    sha256(utf8(answerSdp)),
    joinerFingerprint,
    hostFingerprint,
  );
}

/** What the host signs when it hands a joiner a relay's answer (210 bytes): its own label, so a
 *  relay answer's signature never verifies as an answer's, and the relay's SDP hash, both DTLS
 *  fingerprints and the relay's peer id (docs/PROTOCOL.md section 1.4, "Signed transcripts"). */
export function relayAnswerTranscript(
  locator: Uint8Array,
  joinId: Uint8Array,
  offerHash: Uint8Array,
  relaySdp: string,
  joinerFingerprint: Uint8Array,
  relayFingerprint: Uint8Array,
  relayPeerId: bigint,
): Uint8Array {
  return concat(
    utf8('tokencast/v1/relay-answer'),
    Uint8Array.of(0),
    locator,
    joinId,
    offerHash,
    sha256(utf8(relaySdp)),
    joinerFingerprint,
    relayFingerprint,
    u64be(relayPeerId),
  );
}

export function rejectionTranscript(
  locator: Uint8Array,
  joinId: Uint8Array,
  offerHash: Uint8Array,
  reason: RejectReason,
): Uint8Array {
  return concat(utf8('tokencast/v1/rejection'), Uint8Array.of(0), locator, joinId, offerHash, Uint8Array.of(reason));
}

export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

// A joiner verifies two signatures per join (beacon, answer) on a cold page: a smaller window
// for the base point's precomputed table (noble's default is 6) makes the first verification
// about half as costly (the table is 2^(w-1) * (256/w + 1) points) for a later one as fast.
ed25519.Point.BASE.precompute(4);

// RFC 8032 section 7.1, test 1 (empty message): a signature that verifies.
const WARM_UP_KEY = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
const WARM_UP_SIGNATURE = fromHex(
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
);

/** Verifies a known signature once, and says whether it verified: the first Ed25519
 *  verification in a page costs several times a later one (the base point's table is built and
 *  the arithmetic compiled), so the joiner does it while it waits for the host's beacon. */
export function warmUpEd25519(): boolean {
  return ed25519Verify(WARM_UP_KEY, new Uint8Array(0), WARM_UP_SIGNATURE);
}

export function beaconTranscript(locator: Uint8Array, to: bigint, from: bigint): Uint8Array {
  return concat(utf8('tokencast/v1/beacon'), Uint8Array.of(0), locator, u64be(to), u64be(from));
}

/** What an ICE beacon's signature covers: its own label, the locator, both ids and the hash
 *  of the sealed part (nonce | ciphertext | tag), so its servers can be neither swapped nor
 *  stripped (docs/PROTOCOL.md section 2). */
export function iceBeaconTranscript(locator: Uint8Array, to: bigint, from: bigint, sealed: Uint8Array): Uint8Array {
  return concat(utf8('tokencast/v1/beacon-ice'), Uint8Array.of(0), locator, u64be(to), u64be(from), sha256(sealed));
}

export function looksLikeBeacon(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  if (bytes[0] === BEACON_TAG) return bytes.length === BEACON_SIZE;
  return bytes[0] === ICE_BEACON_TAG && bytes.length >= MIN_ICE_BEACON_SIZE && bytes.length <= MAX_ICE_BEACON_SIZE;
}

/** The link's host's beacon to us (`self`) from `from`, verified and opened: the ICE servers it
 *  hands out ([] for a plain beacon), or null when it does not verify or open (fail closed). */
export function openHostBeacon(link: InviteLink, bytes: Uint8Array, self: bigint, from: bigint): IceServerEntry[] | null {
  if (!looksLikeBeacon(bytes)) return null;
  const locator = roomLocator(link.secret, link.role, link.hostKey);
  const signature = bytes.subarray(1, 65);
  if (bytes[0] === BEACON_TAG) {
    return ed25519Verify(link.hostKey, beaconTranscript(locator, self, from), signature) ? [] : null;
  }
  const sealed = bytes.subarray(65);
  if (!ed25519Verify(link.hostKey, iceBeaconTranscript(locator, self, from, sealed), signature)) return null;
  try {
    const key = beaconKey(link.secret, link.role, link.hostKey);
    const list = chacha20poly1305(key, sealed.subarray(0, ICE_BEACON_NONCE_SIZE), locator).decrypt(sealed.subarray(ICE_BEACON_NONCE_SIZE));
    return decodeIceList(list);
  } catch {
    return null;
  }
}

/** True when `bytes` is a beacon signed by the link's host for us (`self`) from `from`. */
export function verifyHostBeacon(link: InviteLink, bytes: Uint8Array, self: bigint, from: bigint): boolean {
  return openHostBeacon(link, bytes, self, from) !== null;
}

export const ENVELOPE_TO_HANDSHAKE: Record<EnvelopeError, HandshakeError> = {
  too_short: 'envelope_too_short',
  too_large: 'envelope_too_large',
  unknown_version: 'unknown_envelope_version',
  unknown_direction: 'unknown_direction',
  wrong_direction: 'wrong_direction',
  wrong_join_id: 'unknown_join',
  replayed: 'replayed',
  open_failed: 'open_failed',
  counter_exhausted: 'counter_exhausted',
};

export type JoinerEvent =
  | { type: 'answer'; sdp: string; hostFingerprint: Uint8Array }
  | { type: 'rejection'; reason: RejectReason }
  | { type: 'relay_answer'; sdp: string; relayFingerprint: Uint8Array; relayPeerId: bigint }
  | ({ type: 'candidate' } & IceCandidateMessage)
  | { type: 'end_of_candidates' };

export type JoinerState = 'awaiting_answer' | 'answered' | 'rejected' | 'failed';

export class JoinerHandshake {
  state: JoinerState = 'awaiting_answer';
  readonly joinId: Uint8Array;
  readonly locator: Uint8Array;
  readonly offerEnvelope: Uint8Array;
  private readonly sealer: Sealer;
  private readonly opener: Opener;
  private readonly offerHash: Uint8Array;
  private readonly ownFingerprint: Uint8Array;
  private readonly hostKey: Uint8Array;

  constructor(link: InviteLink, displayName: string, sdpOffer: string, nowMs: bigint, joinId: Uint8Array = randomBytes(16)) {
    if (joinId.length !== 16) throw new HandshakeFailure('invalid_argument');
    if (nowMs < 0n || !validDisplayName(displayName) || !validSdpBytes(utf8(sdpOffer))) {
      throw new HandshakeFailure('invalid_argument');
    }
    try {
      this.ownFingerprint = extractSdpFingerprint(sdpOffer);
    } catch {
      throw new HandshakeFailure('bad_sdp');
    }
    this.joinId = joinId.slice();
    this.hostKey = link.hostKey.slice();
    this.locator = roomLocator(link.secret, link.role, link.hostKey);
    const j2h = sealKey(link.secret, link.role, link.hostKey, 0, this.joinId);
    const h2j = sealKey(link.secret, link.role, link.hostKey, 1, this.joinId);
    this.sealer = new Sealer(j2h, 0, this.joinId, this.locator, 0n);
    this.opener = new Opener(h2j, 1, this.joinId, this.locator);
    const plaintext = encodeMessage({ type: 'offer', timestampMs: nowMs, displayName, sdp: sdpOffer });
    this.offerHash = sha256(plaintext);
    this.offerEnvelope = this.seal(plaintext);
  }

  private seal(plaintext: Uint8Array): Uint8Array {
    try {
      return this.sealer.seal(plaintext);
    } catch (e) {
      if (e instanceof EnvelopeFailure && e.code === 'counter_exhausted') throw new HandshakeFailure('counter_exhausted');
      throw new HandshakeFailure('invalid_argument');
    }
  }

  private checkOpen(): void {
    if (this.state === 'rejected' || this.state === 'failed') throw new HandshakeFailure('closed');
  }

  sealCandidate(c: IceCandidateMessage): Uint8Array {
    this.checkOpen();
    return this.seal(encodeMessage({ type: 'candidate', ...c }));
  }

  sealEndOfCandidates(): Uint8Array {
    this.checkOpen();
    return this.seal(encodeMessage({ type: 'end_of_candidates' }));
  }

  receive(envelope: Uint8Array): JoinerEvent {
    this.checkOpen();
    let plaintext: Uint8Array;
    try {
      plaintext = this.opener.open(envelope);
    } catch (e) {
      if (e instanceof EnvelopeFailure) throw new HandshakeFailure(ENVELOPE_TO_HANDSHAKE[e.code]);
      throw e;
    }
    const m = decodeMessage(plaintext);
    switch (m.type) {
      case 'answer': {
        if (this.state !== 'awaiting_answer') throw new HandshakeFailure('unexpected_message');
        let hostFp: Uint8Array;
        try {
          hostFp = extractSdpFingerprint(m.sdp);
        } catch {
          this.state = 'failed';
          throw new HandshakeFailure('bad_sdp');
        }
        const t = answerTranscript(this.locator, this.joinId, this.offerHash, m.sdp, this.ownFingerprint, hostFp);
        if (!ed25519Verify(this.hostKey, t, m.signature)) {
          this.state = 'failed';
          throw new HandshakeFailure('bad_signature');
        }
        this.state = 'answered';
        return { type: 'answer', sdp: m.sdp, hostFingerprint: hostFp };
      }
      case 'relay_answer': {
        // Takes the answer's place (either one, once), checked the same way over the relay
        // answer transcript: the DTLS handshake then reaches exactly the relay the host appointed.
        if (this.state !== 'awaiting_answer') throw new HandshakeFailure('unexpected_message');
        let relayFp: Uint8Array;
        try {
          relayFp = extractSdpFingerprint(m.sdp);
        } catch {
          this.state = 'failed';
          throw new HandshakeFailure('bad_sdp');
        }
        const t = relayAnswerTranscript(this.locator, this.joinId, this.offerHash, m.sdp, this.ownFingerprint, relayFp, m.relayPeerId);
        if (!ed25519Verify(this.hostKey, t, m.signature)) {
          this.state = 'failed';
          throw new HandshakeFailure('bad_signature');
        }
        this.state = 'answered';
        return { type: 'relay_answer', sdp: m.sdp, relayFingerprint: relayFp, relayPeerId: m.relayPeerId };
      }
      case 'rejection': {
        if (this.state !== 'awaiting_answer') throw new HandshakeFailure('unexpected_message');
        const t = rejectionTranscript(this.locator, this.joinId, this.offerHash, m.reason);
        if (!ed25519Verify(this.hostKey, t, m.signature)) {
          this.state = 'failed';
          throw new HandshakeFailure('bad_signature');
        }
        this.state = 'rejected';
        return { type: 'rejection', reason: m.reason };
      }
      case 'candidate':
        if (this.state !== 'answered') throw new HandshakeFailure('unexpected_message');
        return { type: 'candidate', mlineIndex: m.mlineIndex, mid: m.mid, candidate: m.candidate };
      case 'end_of_candidates':
        if (this.state !== 'answered') throw new HandshakeFailure('unexpected_message');
        return { type: 'end_of_candidates' };
      default:
        throw new HandshakeFailure('unexpected_message');
    }
  }
}
