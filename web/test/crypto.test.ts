import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { base64urlEncode } from '../src/protocol/base64url';
import { concat, fromHex, toHex, utf8 } from '../src/protocol/bytes';
import { EnvelopeFailure, Opener, Sealer } from '../src/protocol/envelope';
import {
  answerTranscript,
  beaconTranscript,
  decodeMessage,
  ed25519Verify,
  encodeMessage,
  HandshakeFailure,
  JoinerHandshake,
  rejectionTranscript,
  verifyHostBeacon,
  warmUpEd25519,
} from '../src/protocol/handshake';
import { parseInviteLink } from '../src/protocol/invite';
import { HKDF_SALT, locatorInfo, roomLocator, sealInfo, sealKey, type Direction } from '../src/protocol/keys';
import { extractSdpFingerprint, SdpFingerprintFailure } from '../src/protocol/sdp';
import { loadVectors } from './vectors';

const C = loadVectors('crypto.json');
const H = C.handshake;

describe('crypto.json primitives', () => {
  for (const v of C.hkdf_sha256) {
    it(`hkdf ${v.name}`, () => {
      const okm = hkdf(sha256, fromHex(v.ikm_hex), fromHex(v.salt_hex), fromHex(v.info_hex), v.length);
      expect(toHex(okm)).toBe(v.okm_hex);
    });
  }
  for (const v of C.chacha20_poly1305) {
    it(`aead ${v.name}`, () => {
      const out = chacha20poly1305(fromHex(v.key_hex), fromHex(v.nonce_hex), fromHex(v.aad_hex)).encrypt(fromHex(v.plaintext_hex));
      expect(toHex(out)).toBe(v.ciphertext_hex + v.tag_hex);
    });
  }
  for (const v of C.ed25519) {
    it(`ed25519 ${v.name}`, () => {
      expect(toHex(ed25519.getPublicKey(fromHex(v.seed_hex)))).toBe(v.public_key_hex);
      expect(toHex(ed25519.sign(fromHex(v.message_hex), fromHex(v.seed_hex)))).toBe(v.signature_hex);
      expect(ed25519Verify(fromHex(v.public_key_hex), fromHex(v.message_hex), fromHex(v.signature_hex))).toBe(true);
      const bad = fromHex(v.signature_hex);
      bad[0] ^= 1;
      expect(ed25519Verify(fromHex(v.public_key_hex), fromHex(v.message_hex), bad)).toBe(false);
    });
  }
});

describe('crypto.json key_schedule', () => {
  for (const v of C.key_schedule) {
    it(v.name, () => {
      const secret = fromHex(v.secret_hex);
      const hk = fromHex(v.host_public_key_hex);
      const jid = fromHex(v.join_id_hex);
      expect(toHex(HKDF_SALT)).toBe(v.hkdf_salt_hex);
      expect(toHex(locatorInfo(v.role, hk))).toBe(v.locator_info_hex);
      const loc = roomLocator(secret, v.role, hk);
      expect(toHex(loc)).toBe(v.room_locator_hex);
      expect(base64urlEncode(loc)).toBe(v.room_locator_b64url);
      expect(toHex(sealInfo(0, v.role, hk, jid))).toBe(v.joiner_to_host_info_hex);
      expect(toHex(sealInfo(1, v.role, hk, jid))).toBe(v.host_to_joiner_info_hex);
      expect(toHex(sealKey(secret, v.role, hk, 0, jid))).toBe(v.joiner_to_host_key_hex);
      expect(toHex(sealKey(secret, v.role, hk, 1, jid))).toBe(v.host_to_joiner_key_hex);
    });
  }
});

describe('crypto.json envelopes', () => {
  const room = C.envelopes.room;
  const secret = fromHex(room.secret_hex);
  const hk = fromHex(room.host_public_key_hex);
  const locator = fromHex(room.room_locator_hex);
  it('room locator', () => expect(toHex(roomLocator(secret, room.role, hk))).toBe(room.room_locator_hex));
  for (const v of C.envelopes.valid) {
    it(`valid: ${v.name}`, () => {
      const dir = Number(v.direction) as Direction;
      const jid = fromHex(v.join_id_hex);
      const key = sealKey(secret, room.role, hk, dir, jid);
      expect(toHex(key)).toBe(v.key_hex);
      const sealer = new Sealer(key, dir, jid, locator, BigInt(v.counter));
      const env = sealer.seal(fromHex(v.plaintext_hex));
      expect(toHex(env)).toBe(v.envelope_hex);
      expect(toHex(concat(env.subarray(0, 26), locator))).toBe(v.aad_hex);
      const opener = new Opener(key, dir, jid, locator);
      expect(toHex(opener.open(env))).toBe(v.plaintext_hex);
      expect(() => opener.open(env)).toThrow(EnvelopeFailure);
    });
  }
  const receiverError = (r: { direction: number; join_id_hex: string; last_counter: string | null }, env: Uint8Array) => {
    const dir = r.direction as Direction;
    const jid = fromHex(r.join_id_hex);
    const opener = new Opener(sealKey(secret, room.role, hk, dir, jid), dir, jid, locator, r.last_counter === null ? null : BigInt(r.last_counter));
    try {
      opener.open(env);
      return null;
    } catch (e) {
      if (e instanceof EnvelopeFailure) return e.code;
      throw e;
    }
  };
  for (const v of C.envelopes.invalid) {
    it(`invalid: ${v.name} -> ${v.expected_error}`, () => {
      expect(receiverError(v.receiver, fromHex(v.envelope_hex))).toBe(v.expected_error);
    });
  }
  it('oversize', () => {
    const o = C.envelopes.oversize;
    const env = new Uint8Array(o.total_length);
    env.set(fromHex(o.envelope_prefix_hex));
    for (const dir of [0, 1]) {
      expect(receiverError({ direction: dir, join_id_hex: '606162636465666768696a6b6c6d6e6f', last_counter: null }, env)).toBe(o.expected_error);
    }
  });
});

describe('crypto.json sdp_fingerprints', () => {
  for (const v of C.sdp_fingerprints) {
    it(v.name, () => {
      if (v.expected_error) {
        let got = 'no error';
        try {
          extractSdpFingerprint(v.sdp);
        } catch (e) {
          got = (e as SdpFingerprintFailure).code;
        }
        expect(got).toBe(v.expected_error);
      } else {
        expect(toHex(extractSdpFingerprint(v.sdp))).toBe(v.fingerprint_hex);
      }
    });
  }
});

describe('crypto.json handshake (joiner side)', () => {
  const link = parseInviteLink(H.viewer_link);
  const hostSeed = fromHex(H.host_seed_hex);

  function start(): JoinerHandshake {
    return new JoinerHandshake(link, H.display_name, H.offer_sdp, BigInt(H.now_ms), fromHex(H.join_id_hex));
  }

  it('link and locators', () => {
    expect(toHex(link.hostKey)).toBe(H.host_public_key_hex);
    expect(base64urlEncode(roomLocator(link.secret, link.role, link.hostKey))).toBe(H.viewer_room_locator_b64url);
    const p = parseInviteLink(H.rejection.participant_link);
    expect(base64urlEncode(roomLocator(p.secret, p.role, p.hostKey))).toBe(H.participant_room_locator_b64url);
  });

  it('offer, candidates and end of candidates are sealed exactly', () => {
    const h = start();
    expect(toHex(h.offerEnvelope)).toBe(H.offer_envelope_hex);
    const offerPlain = encodeMessage({ type: 'offer', timestampMs: BigInt(H.now_ms), displayName: H.display_name, sdp: H.offer_sdp });
    expect(toHex(offerPlain)).toBe(H.offer_plaintext_hex);
    expect(toHex(sha256(offerPlain))).toBe(H.offer_plaintext_sha256_hex);
    const c = H.joiner_candidate;
    const cm = { mlineIndex: c.mline_index, mid: c.mid, candidate: c.candidate };
    expect(toHex(encodeMessage({ type: 'candidate', ...cm }))).toBe(c.plaintext_hex);
    expect(toHex(h.sealCandidate(cm))).toBe(c.envelope_hex);
    expect(toHex(h.sealEndOfCandidates())).toBe(H.joiner_end_of_candidates_envelope_hex);
  });

  it('answer transcript and signature', () => {
    const t = answerTranscript(
      roomLocator(link.secret, link.role, link.hostKey),
      fromHex(H.join_id_hex),
      fromHex(H.offer_plaintext_sha256_hex),
      H.answer_sdp,
      fromHex(H.joiner_fingerprint_hex),
      fromHex(H.host_fingerprint_hex),
    );
    expect(toHex(t)).toBe(H.answer_transcript_hex);
    expect(t.length).toBe(196);
    expect(toHex(ed25519.sign(t, hostSeed))).toBe(H.answer_signature_hex);
    const m = decodeMessage(fromHex(H.answer_plaintext_hex));
    expect(m.type).toBe('answer');
    expect(toHex(encodeMessage(m))).toBe(H.answer_plaintext_hex);
  });

  it('verifies the answer, then accepts host candidates', () => {
    const h = start();
    expect(() => h.receive(fromHex(H.host_candidate.envelope_hex))).toThrow(HandshakeFailure);
    const h2 = start();
    const ev = h2.receive(fromHex(H.answer_envelope_hex));
    expect(ev.type).toBe('answer');
    if (ev.type === 'answer') {
      expect(ev.sdp).toBe(H.answer_sdp);
      expect(toHex(ev.hostFingerprint)).toBe(H.host_fingerprint_hex);
    }
    expect(h2.state).toBe('answered');
    const c = h2.receive(fromHex(H.host_candidate.envelope_hex));
    expect(c).toEqual({ type: 'candidate', mlineIndex: 0, mid: H.host_candidate.mid, candidate: H.host_candidate.candidate });
    expect(h2.receive(fromHex(H.host_end_of_candidates_envelope_hex))).toEqual({ type: 'end_of_candidates' });
    // Replays are refused.
    expect(() => h2.receive(fromHex(H.answer_envelope_hex))).toThrow(/replayed/);
  });

  it('fails closed on an answer signed by another key', () => {
    const h = start();
    // Re-seal the genuine answer with a signature from a different key.
    const otherSeed = new Uint8Array(32).fill(7);
    const plain = fromHex(H.answer_plaintext_hex);
    const forged = plain.slice();
    forged.set(ed25519.sign(fromHex(H.answer_transcript_hex), otherSeed), 1);
    const jid = fromHex(H.join_id_hex);
    const key = sealKey(link.secret, link.role, link.hostKey, 1, jid);
    const env = new Sealer(key, 1, jid, roomLocator(link.secret, link.role, link.hostKey), 5n).seal(forged);
    expect(() => h.receive(env)).toThrow(/bad_signature/);
    expect(h.state).toBe('failed');
    expect(() => h.receive(fromHex(H.answer_envelope_hex))).toThrow(/closed/);
  });

  it('verifies a signed rejection', () => {
    const r = H.rejection;
    const p = parseInviteLink(r.participant_link);
    const h = new JoinerHandshake(p, r.display_name, H.offer_sdp, BigInt(H.now_ms), fromHex(r.join_id_hex));
    expect(toHex(h.offerEnvelope)).toBe(r.offer_envelope_hex);
    const offerHash = sha256(
      encodeMessage({ type: 'offer', timestampMs: BigInt(H.now_ms), displayName: r.display_name, sdp: H.offer_sdp }),
    );
    const t = rejectionTranscript(roomLocator(p.secret, p.role, p.hostKey), fromHex(r.join_id_hex), offerHash, Number(r.reason) as 1);
    expect(toHex(t)).toBe(r.transcript_hex);
    expect(h.receive(fromHex(r.envelope_hex))).toEqual({ type: 'rejection', reason: Number(r.reason) });
    expect(h.state).toBe('rejected');
  });

  it('refuses offers it cannot bind (no fingerprint, bad name)', () => {
    expect(() => new JoinerHandshake(link, 'x', 'v=0\r\n', 1n)).toThrow(/bad_sdp/);
    expect(() => new JoinerHandshake(link, 'a\u0085b', H.offer_sdp, 1n)).toThrow(/invalid_argument/);
    expect(() => new JoinerHandshake(link, 'x'.repeat(65), H.offer_sdp, 1n)).toThrow(/invalid_argument/);
  });

  it('host beacons verify only for the right recipient and sender', () => {
    const loc = roomLocator(link.secret, link.role, link.hostKey);
    const sig = ed25519.sign(beaconTranscript(loc, 5n, 9n), hostSeed);
    const beacon = concat(Uint8Array.of(0xb1), sig);
    expect(verifyHostBeacon(link, beacon, 5n, 9n)).toBe(true);
    expect(verifyHostBeacon(link, beacon, 6n, 9n)).toBe(false);
    expect(verifyHostBeacon(link, beacon, 5n, 8n)).toBe(false);
    expect(verifyHostBeacon(link, beacon.subarray(0, 64), 5n, 9n)).toBe(false);
    expect(beaconTranscript(loc, 5n, 9n).length).toBe(utf8('tokencast/v1/beacon').length + 1 + 32 + 16);
  });

  it('message decoding is strict', () => {
    const bad = ['', '00', '04ff', '0501' + '00'.repeat(63), '0504' + '00'.repeat(64), '03000001', '0300000130'];
    for (const hex of bad) expect(() => decodeMessage(fromHex(hex)), hex).toThrow(/malformed_message/);
  });
});

describe('warmUpEd25519', () => {
  it('verifies the RFC 8032 test 1 signature (so it exercises the whole verification)', () => {
    expect(warmUpEd25519()).toBe(true);
  });
});
