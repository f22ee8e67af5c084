// The relay stream (docs/PROTOCOL.md section 6) against tests/vectors/relay.json: the chain and
// checkpoint message as the C++ writer computes them, the stream released record by record,
// every tampering case failing at the same frame with the same error, strict decoding errors;
// resuming under a new parent and joining from an anchor. Then the browser as a relay's child
// (tests/vectors/relay_link.json `introduction`, `links`): the signed relay answer, relay_hello and
// relay_welcome, and RelayChildLink fed the host's records.
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromHex, readU64be, toHex } from '../src/protocol/bytes';
import {
  decodeRelayFrame,
  RelayError,
  RelayVerifier,
  relayChainGenesis,
  relayChainNext,
  relayCheckpointMessage,
  type VerifiedRecord,
} from '../src/protocol/relay';
import { loadVectors } from './vectors';
import { sha256 } from '@noble/hashes/sha2.js';
import { Opener, Sealer } from '../src/protocol/envelope';
import { deriveKey, roomLocator, sealKey } from '../src/protocol/keys';
import { decodeMessage, encodeMessage, HandshakeFailure, JoinerHandshake, relayAnswerTranscript } from '../src/protocol/handshake';
import { extractSdpFingerprint } from '../src/protocol/sdp';
import type { InviteLink } from '../src/protocol/invite';
import {
  decodeRelayHello,
  decodeRelayWelcome,
  encodeRelayHello,
  encodeRelayWelcome,
  decodeFrame,
  encodeFrame,
  FrameDecoder,
  FrameError,
  type Event,
} from '../src/protocol/frames';
import { RelayFanout } from '../src/protocol/relay-fanout';
import { hostRouteChannel, MAX_ROUTE_PLAINTEXT, MAX_ROUTE_SEAL_BYTES, relayRouteChannel, routeKeys, RouteOpener, RouteSealer } from '../src/protocol/route';
import { EnvelopeFailure } from '../src/protocol/envelope';
import { ClientSession, type SessionEvent } from '../src/client/session';
import { RELAY_PING_EVERY_MS, RELAY_SILENCE_MS, RelayChildFailure, RelayChildLink } from '../src/client/relay-child';

const V = loadVectors('relay.json');
const sessionId = fromHex(V.session_id_hex);
const hostKey = fromHex(V.host_public_key_hex);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const streamFrames: Uint8Array[] = V.stream.frames.map((f: any) => fromHex(f.hex));

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof RelayError) return e.code;
    throw e;
  }
  return 'none';
}

describe('relay.json', () => {
  it('has the host key of its seed, and the same genesis, chain and checkpoint message', () => {
    expect(toHex(ed25519.getPublicKey(fromHex(V.host_key_seed_hex)))).toBe(V.host_public_key_hex);
    let chain = relayChainGenesis(sessionId, hostKey);
    expect(toHex(chain)).toBe(V.genesis_hex);
    const chains: string[] = [];
    let index = 0n;
    for (const f of V.stream.frames) {
      if (f.append_hex === undefined) continue;
      chain = relayChainNext(chain, ++index, fromHex(f.append_hex));
      chains.push(toHex(chain));
    }
    expect(chains).toEqual(V.stream.chain_hex);
    const cm = V.checkpoint_message;
    expect(toHex(relayCheckpointMessage(sessionId, BigInt(cm.index), fromHex(cm.chain_hex)))).toBe(cm.message_hex);
  });

  it('releases each record once a signature covers it, as the C++ verifier does', () => {
    const v = new RelayVerifier(sessionId, hostKey);
    for (const f of V.stream.frames) {
      const out = v.accept(fromHex(f.hex));
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      expect(out.map((r) => ({ index: Number(r.index), payload_hex: toHex(r.payload) }))).toEqual(f.released);
    }
    expect(v.unverifiedRecords).toBe(0);
  });

  for (const t of V.tampered) {
    it(`detects a tampering relay: ${t.name}`, () => {
      const v = new RelayVerifier(sessionId, hostKey);
      const released: string[] = [];
      let error = 'none';
      let at = -1;
      for (let i = 0; i < t.frames.length; i++) {
        const s = t.frames[i];
        const bytes = typeof s === 'number' ? streamFrames[s] : fromHex(s);
        error = codeOf(() => v.accept(bytes).forEach((r) => released.push(toHex(r.payload))));
        if (error !== 'none') {
          at = i;
          break;
        }
      }
      expect(error).toBe(t.error);
      expect(at).toBe(t.error_at);
      expect(released).toEqual(t.released_payloads_hex);
      expect(v.failed?.code).toBe(t.error);
      expect(codeOf(() => v.accept(streamFrames[0]))).toBe(t.error); // failed for good
    });
  }

  for (const t of V.invalid) {
    it(`refuses ${t.name}`, () => {
      expect(codeOf(() => decodeRelayFrame(fromHex(t.hex)))).toBe(t.error);
    });
  }

  it('releases the host\'s section 4 stream: a client decoder takes it from the start', () => {
    const v = new RelayVerifier(sessionId, hostKey);
    const decoder = new FrameDecoder();
    let text = '';
    for (const f of streamFrames) {
      for (const r of v.accept(f)) {
        const frame = decoder.decode(r.payload);
        if (frame.type === 'events') {
          for (const e of frame.events) if (e.type === 'text_delta') text += new TextDecoder().decode(e.bytes);
        }
      }
    }
    expect(text).toBe('Hello, world');
    expect(decoder.position).toEqual({ last_seq: 8n, open_turn: null });
  });

  it('refuses an oversized frame before reading it', () => {
    expect(codeOf(() => decodeRelayFrame(new Uint8Array(V.max_frame_bytes + 1).fill(0x20)))).toBe('oversized');
  });
});

describe('RelayVerifier', () => {
  it('resumes under a new parent from its verified position with no gap and no duplicate', () => {
    const first = new RelayVerifier(sessionId, hostKey);
    const got: VerifiedRecord[] = [];
    for (const f of streamFrames.slice(0, 4)) got.push(...first.accept(f)); // 4th record still waits
    expect(first.unverifiedRecords).toBe(1);
    const resume = first.verified;
    const again = new RelayVerifier(sessionId, hostKey, resume);
    for (const f of streamFrames) {
      if (decodeRelayFrame(f).index > resume.index) got.push(...again.accept(f));
    }
    const all = streamFrames.filter((f) => decodeRelayFrame(f).kind !== 'checkpoint').length;
    expect(got.map((r) => Number(r.index))).toEqual(Array.from({ length: all }, (_, i) => i + 1));
  });

  it('joins late from a checkpoint anchor, and refuses a forged one', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const cpAt = V.stream.frames.findIndex((f: any) => f.checkpoint);
    const anchor = streamFrames[cpAt];
    const v = RelayVerifier.fromAnchor(sessionId, hostKey, anchor);
    expect(v.verified.index).toBe(decodeRelayFrame(anchor).index);
    const released = streamFrames.slice(cpAt + 1).flatMap((f) => v.accept(f));
    expect(released.length).toBeGreaterThan(0);
    const forged = anchor.slice();
    forged[2] ^= 1;
    expect(codeOf(() => RelayVerifier.fromAnchor(sessionId, hostKey, forged))).toBe('bad_signature');
    expect(codeOf(() => RelayVerifier.fromAnchor(sessionId, hostKey, streamFrames[0]))).toBe('no_anchor');
  });

  it('bounds the records waiting for a signature', () => {
    const v = new RelayVerifier(sessionId, hostKey, undefined, { maxUnverifiedRecords: 1 });
    expect(codeOf(() => v.accept(Uint8Array.of(0x20, 0x01, 0x61)))).toBe('none');
    expect(codeOf(() => v.accept(Uint8Array.of(0x20, 0x02, 0x61)))).toBe('backlog_full');
  });
});

// ---------------------------------------------------------------- the browser as a relay's child

const L = loadVectors('relay_link.json');
const RA = L.introduction.relay_answer;
const linkHostKey = fromHex(L.host_public_key_hex);
const linkSession = fromHex(L.session_id_hex);
// relay_peer_id is above 2^53 (JSON numbers lose it): the vector's documented value, checked
// against the number's nearest double.
const RELAY_PEER_ID = 0x1122334455667788n;

function viewerLink(): InviteLink {
  return { baseUrl: 'https://example.invalid/', role: 0, secret: fromHex(RA.viewer_secret_hex), hostKey: linkHostKey, alternates: [] };
}

function joiner(): JoinerHandshake {
  return new JoinerHandshake(viewerLink(), RA.display_name, RA.offer_sdp, BigInt(RA.now_ms), fromHex(RA.join_id_hex));
}

/** The host's side of the vector's join: seals `plaintext` as the host did (the same counter, read
 *  from the vector's envelope header: host_counter_bits is above 2^53, which JSON numbers lose). */
function hostSeal(plaintext: Uint8Array): Uint8Array {
  const link = viewerLink();
  const joinId = fromHex(RA.join_id_hex);
  const key = sealKey(link.secret, link.role, link.hostKey, 1, joinId);
  return new Sealer(key, 1, joinId, roomLocator(link.secret, link.role, link.hostKey), readU64be(fromHex(RA.envelope_hex), 18)).seal(plaintext);
}

function handshakeCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof HandshakeFailure) return e.code;
    throw e;
  }
  return 'none';
}

describe('relay_link.json introduction.relay_answer (joiner side)', () => {
  it('has the relay peer id of the docs', () => expect(Number(RELAY_PEER_ID)).toBe(RA.relay_peer_id));

  it('seals the same offer, computes the same transcript and opens and verifies the relay answer', () => {
    const h = joiner();
    expect(toHex(h.offerEnvelope)).toBe(RA.offer_envelope_hex);
    const offerPlain = new Opener(
      sealKey(viewerLink().secret, 0, linkHostKey, 0, fromHex(RA.join_id_hex)),
      0,
      fromHex(RA.join_id_hex),
      h.locator,
    ).open(h.offerEnvelope);
    const t = relayAnswerTranscript(
      h.locator,
      fromHex(RA.join_id_hex),
      sha256(offerPlain),
      RA.relay_answer_sdp,
      extractSdpFingerprint(RA.offer_sdp),
      extractSdpFingerprint(RA.relay_answer_sdp),
      RELAY_PEER_ID,
    );
    expect(toHex(t)).toBe(RA.transcript_hex);
    expect(t.length).toBe(210);
    expect(toHex(ed25519.sign(t, fromHex(L.host_seed_hex)))).toBe(RA.signature_hex);
    const m = decodeMessage(fromHex(RA.plaintext_hex));
    expect(m.type).toBe('relay_answer');
    expect(toHex(encodeMessage(m))).toBe(RA.plaintext_hex);
    expect(toHex(hostSeal(fromHex(RA.plaintext_hex)))).toBe(RA.envelope_hex);

    const ev = h.receive(fromHex(RA.envelope_hex));
    expect(ev.type).toBe('relay_answer');
    if (ev.type !== 'relay_answer') return;
    expect(ev.sdp).toBe(RA.relay_answer_sdp);
    expect(ev.relayPeerId).toBe(RELAY_PEER_ID);
    expect(toHex(ev.relayFingerprint)).toBe(toHex(extractSdpFingerprint(RA.relay_answer_sdp)));
    expect(h.state).toBe('answered');
    // Either answer once: a second one is refused (here: the same envelope again, a replay).
    expect(handshakeCode(() => h.receive(fromHex(RA.envelope_hex)))).toBe('replayed');
  });

  const plain = () => fromHex(RA.plaintext_hex);
  const sdpAt = 1 + 64 + 8;
  const tampered: [string, (p: Uint8Array) => void, string][] = [
    ['a byte of the signature', (p) => (p[1 + 10] ^= 0x01), 'bad_signature'],
    ['a byte of the relay peer id', (p) => (p[1 + 64 + 7] ^= 0x01), 'bad_signature'],
    ['a byte of the SDP (its o= line)', (p) => (p[sdpAt + 8] = p[sdpAt + 8] === 0x31 ? 0x32 : 0x31), 'bad_signature'],
    ['the relay certificate in the SDP', (p) => {
      const s = new TextDecoder().decode(p.subarray(sdpAt));
      const i = s.indexOf('CC:CC');
      p[sdpAt + i] = 0x44; // 'D'
    }, 'bad_signature'],
    ['the SDP fingerprint line removed', (p) => {
      const s = new TextDecoder().decode(p.subarray(sdpAt));
      const i = s.indexOf('a=fingerprint');
      p[sdpAt + i] = 0x62; // 'b=fingerprint': no fingerprint left
    }, 'bad_sdp'],
  ];
  for (const [what, tamper, code] of tampered) {
    it(`refuses a relay answer with ${what} (fails closed)`, () => {
      const p = plain();
      tamper(p);
      const h = joiner();
      expect(handshakeCode(() => h.receive(hostSeal(p)))).toBe(code);
      expect(h.state).toBe('failed');
      expect(handshakeCode(() => h.receive(fromHex(RA.envelope_hex)))).toBe('closed');
    });
  }

  it('refuses an answer signature presented as a relay answer (the labels differ)', () => {
    // The same signature over the relay answer transcript cannot verify as an answer: make an
    // answer message with the relay's SDP and the relay answer's signature.
    const h = joiner();
    const m = decodeMessage(plain());
    if (m.type !== 'relay_answer') throw new Error('vector');
    const answer = encodeMessage({ type: 'answer', signature: m.signature, sdp: m.sdp });
    expect(handshakeCode(() => h.receive(hostSeal(answer)))).toBe('bad_signature');
  });

  it('decodes strictly: short, empty SDP, NUL in SDP', () => {
    const p = plain();
    expect(() => decodeMessage(p.subarray(0, 73))).toThrow(/malformed_message/);
    expect(() => decodeMessage(p.subarray(0, 40))).toThrow(/malformed_message/);
    const nul = p.slice();
    nul[nul.length - 1] = 0;
    expect(() => decodeMessage(nul)).toThrow(/malformed_message/);
  });
});

function frameCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof FrameError) return e.code;
    throw e;
  }
  return 'none';
}

describe('relay_link.json introduction.child_link', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const byName = (n: string) => fromHex(L.introduction.child_link.find((f: any) => f.name === n).hex);

  it('relay_hello from the genesis and relay_welcome, byte for byte', () => {
    const hello = decodeRelayHello(byName('relay_hello_genesis'));
    expect(hello.version).toBe(5);
    expect(hello.last_index).toBe(0n);
    expect(toHex(hello.chain_hash)).toBe(toHex(relayChainGenesis(linkSession, linkHostKey)));
    expect(toHex(encodeRelayHello(hello))).toBe(toHex(byName('relay_hello_genesis')));
    const welcome = decodeRelayWelcome(byName('relay_welcome'));
    expect(welcome).toEqual({ version: 5, session_id: linkSession, head_index: 4n });
    expect(toHex(encodeRelayWelcome(welcome))).toBe(toHex(byName('relay_welcome')));
    // A child whose session knows the session id and holds nothing says exactly that hello.
    const s = new ClientSession('child');
    s.restore(linkSession, []);
    expect(toHex(new RelayChildLink(s, linkHostKey, 0).hello())).toBe(toHex(byName('relay_hello_genesis')));
  });

  it('relay_hello from a child holding events without a chain position, byte for byte', () => {
    const held = byName('relay_hello_held_without_chain');
    expect(decodeRelayHello(held)).toEqual({ version: 5, last_index: 4n, chain_hash: new Uint8Array(32) });
    // The events of the fresh link, held as if the host had sent them plain.
    const a = run(new ClientSession('child'), relayFramesOf(fresh), 4n);
    const s = new ClientSession('child');
    s.restore(linkSession, a.events);
    expect(toHex(new RelayChildLink(s, linkHostKey, 0).hello())).toBe(toHex(held));
  });

  it('decodes strictly: version first, bounds, trailing bytes', () => {
    const w = byName('relay_welcome');
    const h = byName('relay_hello_genesis');
    expect(frameCode(() => decodeRelayWelcome(Uint8Array.of(...w, 0)))).toBe('trailing_bytes');
    expect(frameCode(() => decodeRelayWelcome(w.subarray(0, w.length - 1)))).toBe('truncated');
    expect(frameCode(() => decodeRelayWelcome(w.subarray(0, 10)))).toBe('truncated');
    expect(frameCode(() => decodeRelayWelcome(Uint8Array.of(0x13, 4, ...w.subarray(2))))).toBe('unknown_version');
    expect(frameCode(() => decodeRelayWelcome(Uint8Array.of(0x13, 6)))).toBe('unknown_version');
    expect(frameCode(() => decodeRelayWelcome(Uint8Array.of(0x13, 0x85, 0x00, ...w.subarray(2))))).toBe('bad_varint');
    expect(frameCode(() => decodeRelayWelcome(h))).toBe('unexpected_frame');
    expect(frameCode(() => decodeRelayWelcome(new Uint8Array(0)))).toBe('truncated');
    expect(frameCode(() => decodeRelayWelcome(new Uint8Array(16385)))).toBe('oversized');
    expect(frameCode(() => decodeRelayHello(Uint8Array.of(...h, 1)))).toBe('trailing_bytes');
    expect(frameCode(() => decodeRelayHello(h.subarray(0, h.length - 1)))).toBe('truncated');
    expect(frameCode(() => decodeRelayHello(Uint8Array.of(0x12, 1, 0)))).toBe('unknown_version');
  });
});

// ---------------------------------------------------------------- RelayChildLink with the links' records

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const relayFramesOf = (link: any): Uint8Array[] => link.frames.map(fromHex).filter((f: Uint8Array) => f[0] >= 0x20 && f[0] <= 0x22);
const fresh = L.links[0];
const resumed = L.links[1];
const welcomeAt = (head: bigint, sid = linkSession) => encodeRelayWelcome({ version: 5, session_id: sid, head_index: head });

function childFailure(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof RelayChildFailure) return `${e.code}:${e.detail}`;
    throw e;
  }
  return 'none';
}

interface Run {
  session: ClientSession;
  link: RelayChildLink;
  events: Event[];
}

function run(session: ClientSession, frames: Uint8Array[], head: bigint): Run {
  const link = new RelayChildLink(session, linkHostKey, 0);
  link.hello();
  const events: Event[] = [];
  const take = (evs: SessionEvent[]) => evs.forEach((e) => e.type === 'applied' && events.push(...e.events));
  take(link.receive(welcomeAt(head), 1));
  for (const f of frames) take(link.receive(f, 2));
  return { session, link, events };
}

const lastText = (s: ClientSession) => s.transcript.turns[s.transcript.turns.length - 1].text;
const seqs = (events: Event[]) => events.map((e) => e.seq);

describe('RelayChildLink', () => {
  it('a first join under a relay: zero hash, the session from the welcome, the records released as verified', () => {
    const s = new ClientSession('child');
    const link = new RelayChildLink(s, linkHostKey, 0);
    expect(toHex(link.hello())).toBe('120500' + '00'.repeat(32));
    const r = run(s, relayFramesOf(fresh), 4n);
    expect(toHex(s.sessionId!)).toBe(L.session_id_hex);
    expect(s.viaRelay).toBe(true);
    expect(seqs(r.events)).toEqual([1n, 2n, 3n, 4n]);
    expect(s.position.last_seq).toBe(BigInt(fresh.last_seq));
    expect(lastText(s)).toBe(fresh.text);
    expect(s.relayVerified?.index).toBe(4n);
    // No ack on a relay link.
    expect(s.takeAck(1e9)).toBeNull();
  });

  it('releases nothing before a signature covers it', () => {
    const s = new ClientSession('child');
    const link = new RelayChildLink(s, linkHostKey, 0);
    link.hello();
    link.receive(welcomeAt(4n), 1);
    const frames = relayFramesOf(fresh);
    for (const f of frames.slice(0, -1)) expect(link.receive(f, 2)).toEqual([]);
    expect(s.position.last_seq).toBe(0n);
    expect(link.receive(frames[frames.length - 1], 3).length).toBe(4); // one per record
    expect(s.position.last_seq).toBe(4n);
  });

  it('resumes under a new relay from the chain position it verified', () => {
    const a = run(new ClientSession('child'), relayFramesOf(fresh), 4n);
    a.session.linkLost();
    const link = new RelayChildLink(a.session, linkHostKey, 0);
    const hello = decodeRelayHello(link.hello());
    expect(hello.last_index).toBe(4n);
    expect(toHex(hello.chain_hash)).toBe(toHex(a.session.relayVerified!.chain));
    const b = run(a.session, relayFramesOf(resumed), 9n);
    expect(seqs(b.events)).toEqual([5n, 6n, 7n, 8n, 9n]);
    expect(lastText(a.session)).toBe(resumed.text);
    expect(b.link.skipped).toBe(0);
  });

  it('a viewer that held the plain stream starts from the anchor; records it holds are verified, not applied', () => {
    const a = run(new ClientSession('child'), relayFramesOf(fresh), 4n);
    const b = run(a.session, relayFramesOf(resumed), 9n);
    const all = [...a.events, ...b.events];
    // Held up to 6 from the host's plain stream: no chain position.
    const held = all.filter((e) => e.seq <= 6n);
    const s = new ClientSession('child');
    s.restore(linkSession, held);
    const link = new RelayChildLink(s, linkHostKey, 0);
    const hello = decodeRelayHello(link.hello());
    expect(hello.last_index).toBe(6n);
    expect(toHex(hello.chain_hash)).toBe('00'.repeat(32));
    // The relay anchors at 4 (its newest signed index <= 6) and sends 5.. again.
    const c = run(s, relayFramesOf(resumed), 9n);
    expect(seqs(c.events)).toEqual([7n, 8n, 9n]);
    expect(c.link.skipped).toBe(2);
    expect(s.transcript.turns.map((t) => t.text)).toEqual(a.session.transcript.turns.map((t) => t.text));
    expect(s.relayVerified?.index).toBe(9n);
  });

  it('refuses an anchor above what it holds', () => {
    const s = new ClientSession('child');
    s.restore(linkSession, []);
    const a = run(new ClientSession('child'), relayFramesOf(fresh), 4n);
    // Holds 1..3 only; the relay anchors at 4.
    const t = new ClientSession('child');
    t.restore(linkSession, a.events.filter((e) => e.seq <= 3n));
    const link = new RelayChildLink(t, linkHostKey, 0);
    link.hello();
    link.receive(welcomeAt(9n), 1);
    expect(childFailure(() => link.receive(relayFramesOf(resumed)[0], 2))).toBe('relay:out_of_order');
  });

  it('detects a tampering relay: an altered record releases nothing and fails', () => {
    const frames = relayFramesOf(fresh);
    const altered = frames.map((f) => f.slice());
    altered[2][altered[2].length - 1] ^= 0x01; // record 3's payload
    const s = new ClientSession('child');
    const link = new RelayChildLink(s, linkHostKey, 0);
    link.hello();
    link.receive(welcomeAt(4n), 1);
    for (const f of altered.slice(0, -1)) link.receive(f, 2);
    expect(childFailure(() => link.receive(altered[altered.length - 1], 3))).toBe('relay:bad_signature');
    expect(s.position.last_seq).toBe(0n);
    expect(s.transcript.turns.length).toBe(0);
  });

  it('detects a dropped and a replayed record', () => {
    const frames = relayFramesOf(fresh);
    const start = () => {
      const link = new RelayChildLink(new ClientSession('child'), linkHostKey, 0);
      link.hello();
      link.receive(welcomeAt(4n), 1);
      return link;
    };
    const dropped = start();
    dropped.receive(frames[0], 2);
    expect(childFailure(() => dropped.receive(frames[2], 2))).toBe('relay:out_of_order');
    const replayed = start();
    replayed.receive(frames[0], 2);
    expect(childFailure(() => replayed.receive(frames[0], 2))).toBe('relay:out_of_order');
  });

  it('a wrong session, a second welcome, frames before the welcome, host frames and a bye end the link', () => {
    const known = new ClientSession('child');
    known.restore(linkSession, []);
    const k = new RelayChildLink(known, linkHostKey, 0);
    k.hello();
    expect(childFailure(() => k.receive(welcomeAt(4n, new Uint8Array(16).fill(9)), 1))).toBe('wrong_session:');

    const early = new RelayChildLink(new ClientSession('child'), linkHostKey, 0);
    early.hello();
    expect(childFailure(() => early.receive(relayFramesOf(fresh)[0], 1))).toMatch(/^frame:/);

    const l = new RelayChildLink(new ClientSession('child'), linkHostKey, 0);
    l.hello();
    l.receive(welcomeAt(4n), 1);
    expect(childFailure(() => l.receive(welcomeAt(4n), 1))).toMatch(/^frame:/);
    // A relay forwards records only: an events or delta frame of its own is refused.
    expect(childFailure(() => l.receive(fromHex('0401'), 1))).toBe('frame:unexpected_frame');
    expect(childFailure(() => l.receive(fromHex(fresh.frames[1]), 1))).toBe('frame:unexpected_frame');
    expect(childFailure(() => l.receive(fromHex('0701'), 1))).toMatch(/^frame:/);
    expect(l.receive(fromHex('0801'), 1)).toEqual([]); // a pong
    expect(childFailure(() => l.receive(fromHex('0a0000'), 1))).toBe('relay_left:');
  });

  it('a record whose payload is not an event frame is refused', () => {
    // A relay cannot forge one (it would not verify); the host's records are events. Here a
    // verifier-valid stream is not at hand, so the check is on a record this client signs itself.
    const seed = fromHex(L.host_seed_hex);
    const payload = fromHex('0a0000'); // a bye as a record payload
    const h1 = relayChainNext(relayChainGenesis(linkSession, linkHostKey), 1n, payload);
    const sig = ed25519.sign(relayCheckpointMessage(linkSession, 1n, h1), seed);
    const frame = Uint8Array.of(0x21, 1, ...sig, ...payload);
    const link = new RelayChildLink(new ClientSession('child'), linkHostKey, 0);
    link.hello();
    link.receive(welcomeAt(1n), 1);
    expect(childFailure(() => link.receive(frame, 2))).toBe('frame:unexpected_frame');
  });

  it('pings every 500 ms and gives a silent relay up after 1,500 ms', () => {
    const link = new RelayChildLink(new ClientSession('child'), linkHostKey, 1000);
    link.hello();
    expect(link.tick(1000 + RELAY_PING_EVERY_MS - 1)).toBeNull();
    expect(toHex(link.tick(1000 + RELAY_PING_EVERY_MS)!)).toBe('0701');
    expect(toHex(link.tick(1000 + 2 * RELAY_PING_EVERY_MS)!)).toBe('0702');
    link.receive(welcomeAt(0n), 1000 + RELAY_SILENCE_MS); // heard: the clock restarts
    expect(link.tick(1000 + 2 * RELAY_SILENCE_MS)).not.toBeNull();
    expect(childFailure(() => link.tick(1000 + 2 * RELAY_SILENCE_MS + 1))).toMatch(/^stalled:/);
  });
});

describe('relay_link.json introduction.frames (host <-> relay)', () => {
  it('a child never takes them: refused on its link to a relay; its client decoder takes only the host\'s', () => {
    for (const f of L.introduction.frames) {
      const bytes = fromHex(f.hex);
      // relay_intro and relay_candidate go host -> relay (a relaying joiner takes them off its
      // host link); what a relay sends is unexpected_frame for a client.
      // relay_candidate and relay_route go either way.
      const clientTakes = f.from === 'host' || bytes[0] === 0x11 || bytes[0] === 0x15;
      expect(frameCode(() => new FrameDecoder().decode(bytes))).toBe(clientTakes ? 'none' : 'unexpected_frame');
      expect(frameCode(() => new ClientSession('c').receive(bytes))).toBe('unexpected_frame');
      const link = new RelayChildLink(new ClientSession('child'), linkHostKey, 0);
      link.hello();
      expect(childFailure(() => link.receive(bytes, 1))).toBe('frame:unexpected_frame');
      link.receive(welcomeAt(0n), 1);
      expect(childFailure(() => link.receive(bytes, 1))).toBe('frame:unexpected_frame');
    }
  });
});

// ---------------------------------------------------------------- the browser's own relay link to the host

describe('relay_link.json links: the host link of a viewer that offers to relay (ClientSession)', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const all = (link: any): Uint8Array[] => link.frames.map(fromHex);

  function feed(s: ClientSession, frames: Uint8Array[]): Event[] {
    const events: Event[] = [];
    for (const f of frames) for (const e of s.receive(f)) if (e.type === 'applied') events.push(...e.events);
    return events;
  }

  it('says the version 5 hello with its capacity and decodes the version 5 welcome, byte for byte', () => {
    const s = new ClientSession('relay');
    s.offerRelay(2, linkHostKey);
    expect(toHex(s.hello())).toBe(fresh.hello_hex);
    const welcome = decodeFrame(fromHex(fresh.frames[0]));
    expect(welcome).toMatchObject({ type: 'welcome', version: 5, relay_stream: true });
    expect(toHex(encodeFrame(welcome))).toBe(fresh.frames[0]);
    expect(decodeFrame(fromHex(fresh.hello_hex))).toMatchObject({ type: 'hello', version: 5, relay_capacity: 2n });
    // Capacity is bounded (64), and without a host key nothing is offered.
    const big = new ClientSession('relay');
    big.offerRelay(1000, linkHostKey);
    expect(decodeFrame(big.hello())).toMatchObject({ relay_capacity: 64n });
    expect(decodeFrame(new ClientSession('x').hello())).toMatchObject({ version: 5, relay_capacity: 0n });
  });

  it('a fresh link and a resumed one (the host anchors at the last sequence): the text, no gap, no duplicate', () => {
    const s = new ClientSession('relay');
    s.offerRelay(2, linkHostKey);
    const first = feed(s, all(fresh));
    expect(s.relayStream).toBe(true);
    expect(seqs(first)).toEqual([1n, 2n, 3n, 4n]);
    expect(lastText(s)).toBe(fresh.text);
    expect(s.relayVerified?.index).toBe(4n);
    expect(s.hostRelayVerified?.index).toBe(4n);
    expect(s.takeAck(1e9)).not.toBeNull(); // acks go out (the host accepts and ignores them)
    s.linkLost();
    expect(toHex(s.hello())).toBe(resumed.hello_hex);
    const second = feed(s, all(resumed));
    expect(seqs(second)).toEqual([5n, 6n, 7n, 8n, 9n]);
    expect(s.position.last_seq).toBe(BigInt(resumed.last_seq));
    expect(lastText(s)).toBe(resumed.text);
  });

  it('resumed from the plain stream (events held, no chain position): a verifier starts from the anchor', () => {
    const a = new ClientSession('relay');
    a.offerRelay(2, linkHostKey);
    const events = feed(a, all(fresh));
    const s = new ClientSession('relay');
    s.restore(linkSession, events);
    s.offerRelay(2, linkHostKey);
    expect(s.relayVerified).toBeNull();
    feed(s, all(resumed));
    expect(s.position.last_seq).toBe(9n);
    expect(lastText(s)).toBe(resumed.text);
    expect(s.relayVerified?.index).toBe(9n);
  });

  it('releases nothing a signature does not cover, and refuses tampering, a wrong anchor and an unoffered stream', () => {
    const frames = all(fresh);
    const s = new ClientSession('relay');
    s.offerRelay(2, linkHostKey);
    feed(s, frames.slice(0, -1));
    expect(s.position.last_seq).toBe(0n); // records 1..3 wait for the signed record 4
    const last = frames[frames.length - 1].slice();
    last[last.length - 1] ^= 1;
    expect(() => s.receive(last)).toThrow(RelayError);
    expect(s.position.last_seq).toBe(0n);

    // A record altered before its signature: the signature no longer verifies.
    const t = new ClientSession('relay');
    t.offerRelay(2, linkHostKey);
    const altered = frames.map((f) => f.slice());
    altered[3][altered[3].length - 1] ^= 1;
    let code = 'none';
    try {
      feed(t, altered);
    } catch (e) {
      code = e instanceof RelayError ? e.code : String(e);
    }
    expect(code).toBe('bad_signature');
    expect(t.position.last_seq).toBe(0n);

    // The anchor must be for the last sequence held.
    const a = new ClientSession('relay');
    a.offerRelay(2, linkHostKey);
    const events = feed(a, frames);
    const held3 = new ClientSession('relay');
    held3.restore(linkSession, events.slice(0, 3));
    held3.offerRelay(2, linkHostKey);
    const r = all(resumed);
    held3.receive(r[0]);
    held3.receive(r[1]);
    expect(() => held3.receive(r[2])).toThrow(RelayError);

    // A welcome with relay_stream to a client that never offered: refused.
    expect(() => new ClientSession('x').receive(frames[0])).toThrow(FrameError);
    // Relay frames on a plain link: refused.
    const plain = new ClientSession('x');
    plain.receive(encodeFrame({ type: 'welcome', version: 5, session_id: linkSession, role: 'viewer', peer: 1n, head_seq: 0n, relay_stream: false }));
    expect(() => plain.receive(frames[2])).toThrow(FrameError);
  });

  it('a browser relay serves what its host link verified to a child (RelayFanout), byte for byte', () => {
    const s = new ClientSession('relay');
    s.offerRelay(2, linkHostKey);
    let fanout: RelayFanout | null = null;
    const take = (frames: Uint8Array[]) => {
      for (const f of frames) {
        const was = s.welcomed;
        s.receive(f);
        if (!was) {
          fanout ??= new RelayFanout(s.sessionId!, linkHostKey);
          if (s.hostRelayVerified) fanout.setBase(s.hostRelayVerified);
        } else if (f[0] >= 0x20 && f[0] <= 0x22) fanout!.add(f);
      }
    };
    take(all(fresh));
    s.linkLost();
    take(all(resumed));
    // A new child from the genesis (never welcomed: all-zero hash) gets everything from record 1.
    const child = new ClientSession('child');
    const link = new RelayChildLink(child, linkHostKey, 0);
    const serving = fanout!.serve(decodeRelayHello(link.hello()))!;
    expect(serving.anchor).toBeNull();
    link.receive(encodeRelayWelcome(serving.welcome), 1);
    for (const f of serving.frames) link.receive(f, 1);
    expect(child.position.last_seq).toBe(9n);
    expect(child.transcript.turns.map((t) => t.text)).toEqual(s.transcript.turns.map((t) => t.text));
    // A child that held 1..4 from the plain stream: anchored at a signed index <= 4.
    const events = child.transcript.turns.length ? feedEventsOf(all(fresh)) : [];
    const held = new ClientSession('child');
    held.restore(linkSession, events);
    const l2 = new RelayChildLink(held, linkHostKey, 0);
    const s2 = fanout!.serve(decodeRelayHello(l2.hello()))!;
    expect(s2.anchor).not.toBeNull();
    l2.receive(encodeRelayWelcome(s2.welcome), 1);
    l2.receive(s2.anchor!, 1);
    for (const f of s2.frames) l2.receive(f, 1);
    expect(held.position.last_seq).toBe(9n);
    expect(held.transcript.turns.map((t) => t.text)).toEqual(s.transcript.turns.map((t) => t.text));
  });

  function feedEventsOf(frames: Uint8Array[]): Event[] {
    const a = new ClientSession('relay');
    a.offerRelay(2, linkHostKey);
    return feed(a, frames);
  }
});

describe('relay_link.json introduction.frames: the host <-> relay codec', () => {
  it('decodes and re-encodes every frame byte for byte', () => {
    for (const f of L.introduction.frames) {
      const bytes = fromHex(f.hex);
      const frame = decodeFrame(bytes);
      expect(frame.type).toBe(f.name.replace(/_(full|child|relay|down|up)$/, ''));
      expect(toHex(encodeFrame(frame))).toBe(f.hex);
    }
    expect(decodeFrame(fromHex('100201'))).toEqual({ type: 'relay_refuse', child: 2n, reason: 'full' });
  });

  it('decodes strictly: bounds and character sets as the C++ codec', () => {
    expect(frameCode(() => decodeFrame(Uint8Array.of(0x10, 1, 4)))).toBe('bad_enum');
    expect(frameCode(() => decodeFrame(Uint8Array.of(0x0f, 1, 0)))).toBe('string_too_long'); // empty SDP
    expect(frameCode(() => decodeFrame(Uint8Array.of(0x0f, 1, 2, 0x61, 0)))).toBe('invalid_utf8');
    expect(frameCode(() => decodeFrame(Uint8Array.of(0x0f, 1, 3, 0x61)))).toBe('truncated');
    expect(frameCode(() => decodeFrame(Uint8Array.of(0x11, 1, 0x80, 0x80, 0x04, 0, 1, 0x61)))).toBe('bad_enum'); // mline 65536
    expect(frameCode(() => decodeFrame(Uint8Array.of(0x11, 1, 0, 33, ...new Uint8Array(33).fill(0x61), 1, 0x61)))).toBe('string_too_long');
    expect(frameCode(() => decodeFrame(Uint8Array.of(0x11, 1, 0, 1, 0x0a, 1, 0x61)))).toBe('invalid_utf8');
    expect(frameCode(() => decodeFrame(Uint8Array.of(0x11, 1, 0, 0, 0)))).toBe('string_too_long'); // empty candidate
    expect(frameCode(() => decodeFrame(Uint8Array.of(0x14, 1, 0)))).toBe('trailing_bytes');
    expect(frameCode(() => encodeFrame({ type: 'relay_candidate', child: 1n, mline_index: 0, mid: '0', candidate: 'a\nb' }))).toBe('invalid_utf8');
    // A welcome's relay_stream is 0 or 1.
    const w = fromHex(fresh.frames[0]);
    expect(frameCode(() => decodeFrame(Uint8Array.of(...w.subarray(0, w.length - 1), 2)))).toBe('bad_enum');
  });
});

describe('relay_link.json introduction.route: relays below relays', () => {
  const R = L.introduction.route;
  it('derives the route keys of the relay answer join, as the C++ key schedule does', () => {
    // info = label | 0x00 | role | host_public_key | join_id (docs/PROTOCOL.md section 1.2).
    const info = (label: string) =>
      Uint8Array.of(...new TextEncoder().encode(label), 0, 0, ...linkHostKey, ...fromHex(R.join_id_hex));
    const secret = fromHex(RA.viewer_secret_hex);
    expect(toHex(deriveKey(secret, info('tokencast/v1/route/host-to-relay')))).toBe(R.host_to_relay_key_hex);
    expect(toHex(deriveKey(secret, info('tokencast/v1/route/relay-to-host')))).toBe(R.relay_to_host_key_hex);
  });

  it('decodes and re-encodes the frames that carry seals; a seal is passed on byte for byte', () => {
    const seals: Record<string, string> = {};
    for (const f of R.frames) {
      const frame = decodeFrame(fromHex(f.hex));
      expect(frame.type).toBe(f.link === 'parent_to_host' ? 'relay_route' : 'relay_routed');
      expect(toHex(encodeFrame(frame))).toBe(f.hex);
      if (frame.type === 'relay_route' || frame.type === 'relay_routed') {
        const dir = f.name.endsWith('_down') ? 'down' : 'up';
        seals[dir] ??= toHex(frame.sealed);
        expect(toHex(frame.sealed)).toBe(seals[dir]); // the same bytes on both hops
      }
      // Both go either way: a relay's decoder of its host link takes them.
      expect(frameCode(() => new FrameDecoder().decode(fromHex(f.hex)))).toBe('none');
    }
    expect(seals.down).toBe(R.seals[0].sealed_hex);
    expect(seals.up).toBe(R.seals[1].sealed_hex);
  });

  const routeCode = (f: () => unknown): string => {
    try {
      f();
      return 'none';
    } catch (e) {
      return e instanceof EnvelopeFailure ? e.code : String(e);
    }
  };
  const keysOfVector = () => routeKeys(fromHex(RA.viewer_secret_hex), 0, linkHostKey, fromHex(R.join_id_hex));

  it('route.ts: routeKeys gives the vector keys; each seal opens at its own end only, once', () => {
    const keys = keysOfVector();
    expect(toHex(keys.hostToRelay)).toBe(R.host_to_relay_key_hex);
    expect(toHex(keys.relayToHost)).toBe(R.relay_to_host_key_hex);
    const [down, up] = R.seals;
    expect(down.from).toBe('host');
    expect(up.from).toBe('relay');
    // The wrong end (the other direction's key) cannot open either; nor does it burn a counter.
    expect(routeCode(() => relayRouteChannel(keys).opener.open(fromHex(up.sealed_hex)))).toBe('open_failed');
    expect(routeCode(() => hostRouteChannel(keys).opener.open(fromHex(down.sealed_hex)))).toBe('open_failed');
    const relay = relayRouteChannel(keys);
    const host = hostRouteChannel(keys);
    expect(toHex(relay.opener.open(fromHex(down.sealed_hex)))).toBe(down.plaintext_hex);
    expect(toHex(host.opener.open(fromHex(up.sealed_hex)))).toBe(up.plaintext_hex);
    expect(routeCode(() => relay.opener.open(fromHex(down.sealed_hex)))).toBe('replayed');
    expect(routeCode(() => host.opener.open(fromHex(up.sealed_hex)))).toBe('replayed');
    // The inner frames: a relay_intro down, a relay_offer{3} up.
    expect(decodeFrame(fromHex(down.plaintext_hex)).type).toBe('relay_intro');
    expect(decodeFrame(fromHex(up.plaintext_hex))).toEqual({ type: 'relay_offer', capacity: 3n });
  });

  it('route.ts: sealing the plaintexts at counter 0 gives the vector bytes exactly; counters grow', () => {
    const keys = keysOfVector();
    const host = hostRouteChannel(keys);
    const relay = relayRouteChannel(keys);
    expect(toHex(host.sealer.seal(fromHex(R.seals[0].plaintext_hex)))).toBe(R.seals[0].sealed_hex);
    expect(toHex(relay.sealer.seal(fromHex(R.seals[1].plaintext_hex)))).toBe(R.seals[1].sealed_hex);
    const next = relay.sealer.seal(Uint8Array.of(0x17, 1));
    expect(readU64be(next, 0)).toBe(1n);
    expect(toHex(host.opener.open(fromHex(R.seals[1].sealed_hex)))).toBe('1703');
    expect(toHex(host.opener.open(next))).toBe('1701');
  });

  it('route.ts: refuses tampered, replayed, reordered, short and oversized seals', () => {
    const keys = keysOfVector();
    const sealer = new RouteSealer(keys.relayToHost);
    const a = sealer.seal(Uint8Array.of(0x17, 2)); // counter 0
    const b = sealer.seal(Uint8Array.of(0x17, 3)); // counter 1
    const c = sealer.seal(Uint8Array.of(0x17, 4)); // counter 2
    const opener = new RouteOpener(keys.relayToHost);
    for (const i of [0, 7, 8, a.length - 1]) {
      const t = a.slice();
      t[i] ^= 1;
      // Bit flips in the counter change the nonce; in the body or tag the tag fails.
      expect(routeCode(() => opener.open(t))).toBe('open_failed');
    }
    expect(routeCode(() => opener.open(a.subarray(0, 23)))).toBe('too_short');
    expect(routeCode(() => opener.open(new Uint8Array(MAX_ROUTE_SEAL_BYTES + 1)))).toBe('too_large');
    // Forgeries burned nothing: counter 0 still opens; a gap is allowed, going back is not.
    expect(toHex(opener.open(a))).toBe('1702');
    expect(toHex(opener.open(c))).toBe('1704');
    expect(routeCode(() => opener.open(b))).toBe('replayed');
    expect(routeCode(() => opener.open(a))).toBe('replayed');
    // Size bounds: the largest plaintext seals to exactly the largest seal, which opens.
    expect(routeCode(() => sealer.seal(new Uint8Array(MAX_ROUTE_PLAINTEXT + 1)))).toBe('too_large');
    const big = sealer.seal(new Uint8Array(MAX_ROUTE_PLAINTEXT).fill(7));
    expect(big.length).toBe(16373);
    expect(opener.open(big).length).toBe(MAX_ROUTE_PLAINTEXT);
  });

  it('decodes strictly: nothing sealed, a capacity out of 1..64, and relay_offer only towards the host', () => {
    expect(frameCode(() => decodeFrame(Uint8Array.of(0x15, 1)))).toBe('truncated');
    expect(frameCode(() => decodeFrame(Uint8Array.of(0x16)))).toBe('truncated');
    expect(frameCode(() => decodeFrame(Uint8Array.of(0x17, 0)))).toBe('bad_enum');
    expect(frameCode(() => decodeFrame(Uint8Array.of(0x17, 65)))).toBe('bad_enum');
    expect(frameCode(() => decodeFrame(Uint8Array.of(0x17, 4, 0)))).toBe('trailing_bytes');
    expect(toHex(encodeFrame({ type: 'relay_offer', capacity: 4n }))).toBe('1704');
    expect(frameCode(() => new FrameDecoder().decode(Uint8Array.of(0x17, 4)))).toBe('unexpected_frame');
  });
});
