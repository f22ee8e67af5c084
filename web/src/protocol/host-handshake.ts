// Join handshake, host side (docs/PROTOCOL.md §1.5 "Host rules" and §2), mirroring
// src/core/join/handshake_host.cpp: offers tried with both rooms' keys (the one that opens
// gives the role), a time window and a bounded set of seen join ids against replays, answers
// and rejections signed over their transcripts, host counters starting at a random value
// below 2^62, and beacons. Sans I/O: time and random bits are parameters; signing is async
// because a browser's non-extractable WebCrypto key signs asynchronously.
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concat, randomBytes, readU64be, toHex, utf8 } from './bytes';
import { ENVELOPE_OVERHEAD, ENVELOPE_VERSION, EnvelopeFailure, MAX_ENVELOPE_SIZE, Opener, Sealer } from './envelope';
import {
  answerTranscript,
  beaconTranscript,
  BEACON_TAG,
  ICE_BEACON_NONCE_SIZE,
  ICE_BEACON_TAG,
  iceBeaconTranscript,
  decodeMessage,
  encodeMessage,
  ENVELOPE_TO_HANDSHAKE,
  HandshakeFailure,
  rejectionTranscript,
  validSdpBytes,
  type IceCandidateMessage,
  type RejectReason,
} from './handshake';
import type { LinkRole } from './invite';
import { beaconKey, roomLocator, sealKey } from './keys';
import { encodeIceList, type IceServerEntry } from './rendezvous';
import { extractSdpFingerprint } from './sdp';

/** The host's Ed25519 session key: the public half is in the links. */
export interface HostSigner {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

export interface HostHandshakeOptions {
  offerWindowMs: number;
  joinTimeoutMs: number;
  maxPendingJoins: number;
  maxSeenJoinIds: number;
  maxCandidatesPerJoin: number;
}

export const DEFAULT_HOST_HANDSHAKE: HostHandshakeOptions = {
  offerWindowMs: 300_000,
  joinTimeoutMs: 60_000,
  maxPendingJoins: 1024,
  maxSeenJoinIds: 65536,
  maxCandidatesPerJoin: 64,
};

export type HostJoinEvent =
  | { type: 'offer'; joinId: Uint8Array; role: LinkRole; timestampMs: bigint; displayName: string; sdp: string; joinerFingerprint: Uint8Array }
  | ({ type: 'candidate'; joinId: Uint8Array; role: LinkRole } & IceCandidateMessage)
  | { type: 'end_of_candidates'; joinId: Uint8Array; role: LinkRole };

interface Join {
  role: LinkRole;
  phase: 'offered' | 'answered' | 'expired';
  acceptedMs: number;
  opener: Opener;
  sealer: Sealer | null;
  offerHash: Uint8Array;
  joinerFingerprint: Uint8Array;
  candidates: number;
  joinerDone: boolean;
}

interface Room {
  secret: Uint8Array;
  locator: Uint8Array;
}

function fail(code: ConstructorParameters<typeof HandshakeFailure>[0]): never {
  throw new HandshakeFailure(code);
}

/** The host's first counter of a join: random below 2^62 (see docs/PROTOCOL.md §1.3). */
export function firstHostCounter(randomBits: bigint): bigint {
  return BigInt.asUintN(64, randomBits) >> 2n;
}

export class HostHandshake {
  private readonly rooms: [Room, Room];
  private readonly joins = new Map<string, Join>();
  private readonly seen = new Map<string, number>(); // join id (hex) -> remembered until (ms)

  constructor(
    private readonly signer: HostSigner,
    viewerSecret: Uint8Array,
    participantSecret: Uint8Array,
    private readonly options: HostHandshakeOptions = DEFAULT_HOST_HANDSHAKE,
  ) {
    if (viewerSecret.length !== 32 || participantSecret.length !== 32 || toHex(viewerSecret) === toHex(participantSecret)) {
      fail('invalid_argument');
    }
    const room = (secret: Uint8Array, role: LinkRole): Room => ({
      secret: secret.slice(),
      locator: roomLocator(secret, role, signer.publicKey),
    });
    this.rooms = [room(viewerSecret, 0), room(participantSecret, 1)];
  }

  locator(role: LinkRole): Uint8Array {
    return this.rooms[role].locator;
  }
  get pendingJoins(): number {
    return this.joins.size;
  }
  get seenJoinIds(): number {
    return this.seen.size;
  }

  /** The beacon greeting peer `to` of the `role` room, from the host's rendezvous id `from`. */
  async beacon(role: LinkRole, to: bigint, from: bigint): Promise<Uint8Array> {
    const signature = await this.signer.sign(beaconTranscript(this.locator(role), to, from));
    return concat(Uint8Array.of(BEACON_TAG), signature);
  }

  /** The same greeting handing out `servers` (our own STUN/TURN): an ICE beacon, sealed with
   *  the room's beacon key under `nonce` (12 random bytes by default) and signed. */
  async iceBeacon(
    role: LinkRole,
    to: bigint,
    from: bigint,
    servers: IceServerEntry[],
    nonce: Uint8Array = randomBytes(ICE_BEACON_NONCE_SIZE),
  ): Promise<Uint8Array> {
    if (nonce.length !== ICE_BEACON_NONCE_SIZE) throw new HandshakeFailure('invalid_argument');
    let list: Uint8Array;
    try {
      list = encodeIceList(servers);
    } catch {
      throw new HandshakeFailure('invalid_argument');
    }
    const room = this.rooms[role];
    const key = beaconKey(room.secret, role, this.signer.publicKey);
    const sealed = concat(nonce, chacha20poly1305(key, nonce, room.locator).encrypt(list));
    const signature = await this.signer.sign(iceBeaconTranscript(room.locator, to, from, sealed));
    return concat(Uint8Array.of(ICE_BEACON_TAG), signature, sealed);
  }

  /** Forgets attempts older than the join timeout and seen ids past their time. */
  expire(nowMs: number): void {
    for (const [id, until] of this.seen) if (until < nowMs) this.seen.delete(id);
    for (const [id, join] of this.joins) {
      if (Math.abs(nowMs - join.acceptedMs) > this.options.joinTimeoutMs) this.joins.delete(id);
    }
  }

  forget(joinId: Uint8Array): void {
    this.joins.delete(toHex(joinId));
  }

  /** One envelope from a joiner at host time `nowMs`. Throws HandshakeFailure. */
  receive(envelope: Uint8Array, nowMs: number): HostJoinEvent {
    this.expire(nowMs);
    if (envelope.length > MAX_ENVELOPE_SIZE) fail('envelope_too_large');
    if (envelope.length < ENVELOPE_OVERHEAD) fail('envelope_too_short');
    if (envelope[0] !== ENVELOPE_VERSION) fail('unknown_envelope_version');
    if (envelope[1] !== 0 && envelope[1] !== 1) fail('unknown_direction');
    if (envelope[1] !== 0) fail('wrong_direction');
    const joinId = envelope.slice(2, 18);
    const key = toHex(joinId);
    const join = this.joins.get(key);
    if (!join) {
      // Cheap refusals before any key derivation or decryption.
      if (this.seen.has(key)) fail('offer_replayed');
      if (readU64be(envelope, 18) !== 0n) fail('unknown_join');
      return this.receiveOffer(envelope, joinId, nowMs);
    }
    const plaintext = this.open(join.opener, envelope);
    const m = decodeMessage(plaintext);
    if (m.type !== 'candidate' && m.type !== 'end_of_candidates') fail('unexpected_message');
    if (join.phase === 'expired' || join.joinerDone) fail('unexpected_message');
    if (join.candidates >= this.options.maxCandidatesPerJoin) fail('too_many_candidates');
    join.candidates += 1;
    if (m.type === 'end_of_candidates') {
      join.joinerDone = true;
      return { type: 'end_of_candidates', joinId, role: join.role };
    }
    return { type: 'candidate', joinId, role: join.role, mlineIndex: m.mlineIndex, mid: m.mid, candidate: m.candidate };
  }

  private open(opener: Opener, envelope: Uint8Array): Uint8Array {
    try {
      return opener.open(envelope);
    } catch (e) {
      if (e instanceof EnvelopeFailure) fail(ENVELOPE_TO_HANDSHAKE[e.code]);
      throw e;
    }
  }

  private remember(key: string, until: number): boolean {
    if (this.seen.size >= this.options.maxSeenJoinIds) {
      // Full: forget the id closest to expiry, so a flood cannot lock newcomers out.
      let oldest: string | null = null;
      let oldestUntil = Infinity;
      for (const [id, t] of this.seen) {
        if (t < oldestUntil) {
          oldest = id;
          oldestUntil = t;
        }
      }
      if (oldest === null) return false;
      this.seen.delete(oldest);
    }
    this.seen.set(key, until);
    return true;
  }

  private receiveOffer(envelope: Uint8Array, joinId: Uint8Array, nowMs: number): HostJoinEvent {
    let role: LinkRole | null = null;
    let opener: Opener | null = null;
    let plaintext: Uint8Array | null = null;
    for (const r of [0, 1] as LinkRole[]) {
      const room = this.rooms[r];
      const candidate = new Opener(sealKey(room.secret, r, this.signer.publicKey, 0, joinId), 0, joinId, room.locator);
      try {
        plaintext = candidate.open(envelope);
      } catch {
        continue;
      }
      role = r;
      opener = candidate;
      break;
    }
    if (role === null || !opener || !plaintext) fail('open_failed');
    const m = decodeMessage(plaintext);
    if (m.type !== 'offer') fail('unexpected_message');
    let joinerFingerprint: Uint8Array;
    try {
      joinerFingerprint = extractSdpFingerprint(m.sdp);
    } catch {
      fail('bad_sdp');
    }
    if (this.joins.size >= this.options.maxPendingJoins) fail('too_many_joins');
    const ts = Number(m.timestampMs);
    const inWindow = Math.abs(ts - nowMs) <= this.options.offerWindowMs;
    const until = (inWindow ? ts : nowMs) + this.options.offerWindowMs;
    const key = toHex(joinId);
    if (!this.remember(key, until)) fail('too_many_joins');
    this.joins.set(key, {
      role,
      phase: inWindow ? 'offered' : 'expired',
      acceptedMs: nowMs,
      opener,
      sealer: null,
      offerHash: sha256(plaintext),
      joinerFingerprint,
      candidates: 0,
      joinerDone: false,
    });
    if (!inWindow) fail('offer_expired');
    return { type: 'offer', joinId, role, timestampMs: m.timestampMs, displayName: m.displayName, sdp: m.sdp, joinerFingerprint };
  }

  private pending(joinId: Uint8Array): Join {
    return this.joins.get(toHex(joinId)) ?? fail('unknown_join');
  }

  private sealFirst(join: Join, joinId: Uint8Array, plaintext: Uint8Array, randomBits: bigint): Uint8Array {
    const room = this.rooms[join.role];
    join.sealer = new Sealer(sealKey(room.secret, join.role, this.signer.publicKey, 1, joinId), 1, joinId, room.locator, firstHostCounter(randomBits));
    return this.seal(join.sealer, plaintext);
  }

  private seal(sealer: Sealer, plaintext: Uint8Array): Uint8Array {
    try {
      return sealer.seal(plaintext);
    } catch (e) {
      if (e instanceof EnvelopeFailure) fail(ENVELOPE_TO_HANDSHAKE[e.code]);
      throw e;
    }
  }

  /** Signs and seals the answer to a pending offer (once); `randomBits`: 64 random bits. */
  async sealAnswer(joinId: Uint8Array, sdpAnswer: string, randomBits: bigint): Promise<Uint8Array> {
    const join = this.pending(joinId);
    if (join.phase !== 'offered') fail('wrong_state');
    if (!validSdpBytes(utf8(sdpAnswer))) fail('invalid_argument');
    let hostFingerprint: Uint8Array;
    try {
      hostFingerprint = extractSdpFingerprint(sdpAnswer);
    } catch {
      fail('bad_sdp');
    }
    const room = this.rooms[join.role];
    const transcript = answerTranscript(room.locator, joinId, join.offerHash, sdpAnswer, join.joinerFingerprint, hostFingerprint);
    join.phase = 'answered'; // before the await: a second call for this join is refused
    const signature = await this.signer.sign(transcript);
    return this.sealFirst(join, joinId, encodeMessage({ type: 'answer', signature, sdp: sdpAnswer }), randomBits);
  }

  /** Signs and seals a rejection of an unanswered offer, then forgets the attempt. */
  async sealRejection(joinId: Uint8Array, reason: RejectReason, randomBits: bigint): Promise<Uint8Array> {
    const join = this.pending(joinId);
    if (join.phase === 'answered') fail('wrong_state');
    this.joins.delete(toHex(joinId)); // nothing can follow a rejection; the id stays seen
    const transcript = rejectionTranscript(this.rooms[join.role].locator, joinId, join.offerHash, reason);
    const signature = await this.signer.sign(transcript);
    return this.sealFirst(join, joinId, encodeMessage({ type: 'rejection', reason, signature }), randomBits);
  }

  private answered(joinId: Uint8Array): Sealer {
    const join = this.pending(joinId);
    if (join.phase !== 'answered' || !join.sealer) fail('wrong_state');
    return join.sealer;
  }

  sealCandidate(joinId: Uint8Array, c: IceCandidateMessage): Uint8Array {
    return this.seal(this.answered(joinId), encodeMessage({ type: 'candidate', ...c }));
  }

  sealEndOfCandidates(joinId: Uint8Array): Uint8Array {
    return this.seal(this.answered(joinId), encodeMessage({ type: 'end_of_candidates' }));
  }
}
