// The host side in TypeScript: the join handshake against crypto.json (the host's answer,
// candidates and rejection byte for byte), and the session log, catch-up, outbound queue, flow
// control and host session against the rules of docs/PROTOCOL.md §4.
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../src/protocol/bytes';
import { decodeFrame, encodeFrame, FrameDecoder, PROMPT_AWAITS_APPROVAL, PROMPT_DECLINED, STATUS, type Event, type Frame } from '../src/protocol/frames';
import { HandshakeFailure, JoinerHandshake, MIN_ICE_BEACON_SIZE, openHostBeacon, verifyHostBeacon } from '../src/protocol/handshake';
import { HostHandshake, type HostSigner } from '../src/protocol/host-handshake';
import { parseInviteLink } from '../src/protocol/invite';
import { planCatchup } from '../src/host/catchup';
import { FlowControl, DEFAULT_FLOW } from '../src/host/flow-control';
import { LogError, SessionLog } from '../src/host/log';
import { OutboundQueue } from '../src/host/outbound-queue';
import { HostSession, hostSessionConfig, type ChatMessage, type ConnId, type HostIo } from '../src/host/host-session';
import { chatCompletionsUrl, corsAdvice, generate } from '../src/host/llm';
import { signedExport } from '../src/client/signed-export';
import { parseSignedTranscript, signTranscript, transcriptFromEvents } from '../src/protocol/transcript';
import { loadVectors } from './vectors';

const H = loadVectors('crypto.json').handshake;

export function seedSigner(seed: Uint8Array): HostSigner {
  return { publicKey: ed25519.getPublicKey(seed), sign: async (m) => ed25519.sign(m, seed) };
}

function vectorHost(): HostHandshake {
  return new HostHandshake(seedSigner(fromHex(H.host_seed_hex)), fromHex(H.viewer_secret_hex), fromHex(H.participant_secret_hex));
}

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as HandshakeFailure).code;
  }
  return 'none';
};

describe('crypto.json handshake (host side)', () => {
  it('opens the offer, answers and sends candidates byte for byte', async () => {
    const host = vectorHost();
    expect(toHex(host.locator(0))).toBe(toHex(parseLocator(H.viewer_link)));
    const offer = host.receive(fromHex(H.offer_envelope_hex), H.host_now_ms);
    expect(offer.type).toBe('offer');
    if (offer.type !== 'offer') return;
    expect(offer.role).toBe(0);
    expect(offer.displayName).toBe(H.display_name);
    expect(offer.sdp).toBe(H.offer_sdp);
    expect(toHex(offer.joinerFingerprint)).toBe(H.joiner_fingerprint_hex);
    const answer = await host.sealAnswer(offer.joinId, H.answer_sdp, fromHex(H.host_random_hex).reduce((a, b) => (a << 8n) | BigInt(b), 0n));
    expect(toHex(answer)).toBe(H.answer_envelope_hex);
    const c = H.host_candidate;
    expect(toHex(host.sealCandidate(offer.joinId, { mlineIndex: c.mline_index, mid: c.mid, candidate: c.candidate }))).toBe(c.envelope_hex);
    expect(toHex(host.sealEndOfCandidates(offer.joinId))).toBe(H.host_end_of_candidates_envelope_hex);
    const jc = host.receive(fromHex(H.joiner_candidate.envelope_hex), H.host_now_ms);
    expect(jc).toMatchObject({ type: 'candidate', candidate: H.joiner_candidate.candidate, mid: '0', mlineIndex: 0 });
    expect(host.receive(fromHex(H.joiner_end_of_candidates_envelope_hex), H.host_now_ms).type).toBe('end_of_candidates');
    // Nothing after the joiner's end of candidates; the same offer again is a replay.
    expect(code(() => host.receive(fromHex(H.joiner_end_of_candidates_envelope_hex), H.host_now_ms))).toBe('replayed');
    host.forget(offer.joinId);
    expect(code(() => host.receive(fromHex(H.offer_envelope_hex), H.host_now_ms))).toBe('offer_replayed');
  });

  it('signs the rejection on the participant link byte for byte', async () => {
    const host = vectorHost();
    const r = H.rejection;
    const offer = host.receive(fromHex(r.offer_envelope_hex), H.host_now_ms);
    expect(offer).toMatchObject({ type: 'offer', role: 1, displayName: r.display_name });
    const env = await host.sealRejection(offer.joinId, r.reason, BigInt(r.host_first_counter) << 2n);
    expect(toHex(env)).toBe(r.envelope_hex);
    expect(host.pendingJoins).toBe(0);
  });

  it('refuses offers outside the time window, unknown joins and foreign rooms', () => {
    const host = vectorHost();
    expect(code(() => host.receive(fromHex(H.offer_envelope_hex), H.now_ms + 300_001))).toBe('offer_expired');
    const other = new HostHandshake(seedSigner(fromHex(H.host_seed_hex)), new Uint8Array(32).fill(9), new Uint8Array(32).fill(8));
    expect(code(() => other.receive(fromHex(H.offer_envelope_hex), H.host_now_ms))).toBe('open_failed');
    expect(code(() => other.receive(fromHex(H.joiner_candidate.envelope_hex), H.host_now_ms))).toBe('unknown_join');
    expect(code(() => other.receive(fromHex(H.answer_envelope_hex), H.host_now_ms))).toBe('wrong_direction');
  });

  it('interoperates with the TypeScript joiner, beacon included', async () => {
    const seed = new Uint8Array(32).fill(7);
    const signer = seedSigner(seed);
    const viewer = new Uint8Array(32).fill(1);
    const host = new HostHandshake(signer, viewer, new Uint8Array(32).fill(2));
    const link = parseInviteLink(`http://127.0.0.1:8080/j#${b64(Uint8Array.of(1, 0, ...viewer, ...signer.publicKey))}`);
    expect(verifyHostBeacon(link, await host.beacon(0, 5n, 9n), 5n, 9n)).toBe(true);
    expect(verifyHostBeacon(link, await host.beacon(0, 5n, 9n), 6n, 9n)).toBe(false);
    const joiner = new JoinerHandshake(link, 'Ada', H.offer_sdp, BigInt(H.now_ms));
    const offer = host.receive(joiner.offerEnvelope, H.now_ms);
    const answer = await host.sealAnswer(offer.joinId, H.answer_sdp, 12345n);
    expect(joiner.receive(answer)).toMatchObject({ type: 'answer', sdp: H.answer_sdp });
  });
});

function parseLocator(link: string): Uint8Array {
  const l = parseInviteLink(link);
  return vectorHost().locator(l.role);
}

function b64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// ---------------------------------------------------------------- log, catch-up, queue

function sampleLog(): SessionLog {
  const log = new SessionLog();
  log.append({ type: 'session_meta', title: 't', model: 'm' });
  log.append({ type: 'turn_started', turn: 1n, role: 'user', author: 'a', at_ms: 1n });
  log.append({ type: 'text_delta', turn: 1n, span: 1n, bytes: utf8('hi') });
  log.append({ type: 'turn_ended', turn: 1n, end: 'done', reason: '', token_count: 0n, at_ms: 2n });
  log.append({ type: 'turn_started', turn: 2n, role: 'assistant', author: 'm', at_ms: 3n });
  for (const w of ['Hel', 'lo', ', ', 'world']) log.append({ type: 'text_delta', turn: 2n, span: 1n, bytes: utf8(w) });
  return log;
}

describe('session log', () => {
  it('enforces the turn rules and growing turn ids', () => {
    const log = sampleLog();
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as LogError).code;
      }
      return 'none';
    };
    expect(err(() => log.append({ type: 'turn_started', turn: 3n, role: 'user', author: '', at_ms: 0n }))).toBe('turn_already_open');
    expect(err(() => log.append({ type: 'text_delta', turn: 1n, span: 1n, bytes: utf8('x') }))).toBe('turn_mismatch');
    expect(err(() => log.append({ type: 'text_delta', turn: 2n, span: 1n, bytes: new Uint8Array(16321) }))).toBe('delta_too_large');
    log.append({ type: 'turn_ended', turn: 2n, end: 'done', reason: '', token_count: 4n, at_ms: 4n });
    expect(err(() => log.append({ type: 'turn_started', turn: 2n, role: 'user', author: '', at_ms: 0n }))).toBe('stale_turn_id');
    expect(err(() => log.append({ type: 'session_meta', title: 'x'.repeat(1025), model: '' }))).toBe('string_too_long');
    expect(err(() => SessionLog.fromEvents([{ seq: 2n, type: 'peer_left', peer: 1n }]))).toBe('sequence_gap');
  });
});

/** Feeds host frames to a client decoder from `start`; returns the events it applied. */
function clientApplies(frames: Uint8Array[], start: { last_seq: bigint; open_turn: bigint | null }) {
  const d = new FrameDecoder(start);
  const events: Event[] = [];
  for (const f of frames) {
    const frame = d.decode(f);
    if (frame.type === 'events') events.push(...frame.events);
  }
  return { events, position: d.position };
}

function textOf(events: Event[], turn: bigint): string {
  return events
    .filter((e): e is Extract<Event, { type: 'text_delta' }> => e.type === 'text_delta' && e.turn === turn)
    .map((e) => new TextDecoder().decode(e.bytes))
    .join('');
}

describe('catch-up', () => {
  it('merges runs of deltas and resumes mid-turn exactly', () => {
    const log = sampleLog();
    const all = planCatchup(log, 0n);
    expect(all).toHaveLength(1);
    const frame = decodeFrame(all[0].bytes) as Extract<Frame, { type: 'events' }>;
    expect(frame.events.map((e) => e.type)).toEqual(['session_meta', 'turn_started', 'text_delta', 'turn_ended', 'turn_started', 'text_delta']);
    expect(frame.events[5]).toMatchObject({ seq: 6n, span: 4n });
    const mid = planCatchup(log, 7n);
    const applied = clientApplies(
      mid.map((f) => f.bytes),
      { last_seq: 7n, open_turn: 2n },
    );
    expect(textOf(applied.events, 2n)).toBe(', world');
    expect(applied.position.last_seq).toBe(9n);
  });

  it('splits a long run between log deltas only, each frame within 16 KiB', () => {
    const log = new SessionLog();
    log.append({ type: 'turn_started', turn: 1n, role: 'assistant', author: 'm', at_ms: 0n });
    for (let i = 0; i < 100; i++) log.append({ type: 'text_delta', turn: 1n, span: 1n, bytes: new Uint8Array(1000).fill(97) });
    const frames = planCatchup(log, 0n);
    expect(frames.length).toBeGreaterThan(6);
    for (const f of frames) expect(f.bytes.length).toBeLessThanOrEqual(16384);
    const applied = clientApplies(
      frames.map((f) => f.bytes),
      { last_seq: 0n, open_turn: null },
    );
    expect(applied.position.last_seq).toBe(101n);
    expect(textOf(applied.events, 1n).length).toBe(100_000);
  });
});

describe('outbound queue', () => {
  it('sends live deltas as delta frames, merges while slow, and overflows to slow_consumer', () => {
    const log = sampleLog();
    const q = OutboundQueue.create(log, 0n, 200);
    const catchup = q.pop()!;
    expect(catchup[0]).toBe(3);
    expect(q.pop()).toBeNull();
    expect(q.state).toBe('live');
    const e1 = log.append({ type: 'text_delta', turn: 2n, span: 1n, bytes: utf8('!') });
    q.pushEvent(e1);
    expect(toHex(q.pop()!)).toBe('0421');
    q.pushEvent(log.append({ type: 'text_delta', turn: 2n, span: 1n, bytes: utf8('a') }));
    q.pushEvent(log.append({ type: 'text_delta', turn: 2n, span: 1n, bytes: utf8('b') }));
    const merged = decodeFrame(q.pop()!) as Extract<Frame, { type: 'events' }>;
    expect(merged.events[0]).toMatchObject({ seq: 11n, span: 2n });
    expect(() => {
      for (let i = 0; i < 150; i++) q.pushEvent(log.append({ type: 'peer_left', peer: BigInt(i) }));
    }).toThrow('overflowed');
    expect(decodeFrame(q.pop()!)).toMatchObject({ type: 'error', code: 3n });
    expect(decodeFrame(q.pop()!)).toMatchObject({ type: 'bye', reason: 3n });
    expect(q.state).toBe('closed');
  });
});

describe('flow control', () => {
  it('holds frames beyond the window until an ack, and paces live frames', () => {
    const f = new FlowControl(DEFAULT_FLOW, true, 0n);
    expect(f.maySend(5000, false, 0).send).toBe(true); // nothing in flight: always
    f.sent(1n, 5000, false, 0);
    expect(f.maySend(10, false, 0).send).toBe(false);
    f.acked(1n, 20);
    expect(f.inFlight).toBe(0);
    expect(f.window).toBeGreaterThanOrEqual(DEFAULT_FLOW.minWindowBytes);
    expect(() => f.acked(5n, 30)).toThrow();
    f.sent(2n, 10, true, 100);
    expect(f.maySend(10, true, 105)).toEqual({ send: false, retryAtMs: 116 });
  });

  it('measures an expired minimum round trip again after draining to the floor', () => {
    const flow = { ...DEFAULT_FLOW, paceIntervalMs: 0 };
    const f = new FlowControl(flow, true, 0n);
    f.sent(1n, 100, false, 0);
    f.acked(1n, 20); // the path: 20 ms
    let seq = 1n;
    let now = 20;
    while (now < 10_000) {
      f.sent(++seq, 100, false, now); // a standing queue: 200 ms each
      now += 200;
      f.acked(seq, now);
    }
    expect(f.draining).toBe(false);
    f.sent(++seq, 100, false, now);
    f.sent(++seq, 100, false, now + 1);
    f.acked(seq - 1n, now + 200); // past the horizon, behind the queue: drain, not a new minimum
    expect(f.draining).toBe(true);
    expect(f.window).toBe(flow.minWindowBytes);
    f.acked(seq, now + 201); // sent before the drain: measures nothing
    expect(f.draining).toBe(true);
    expect(f.maySend(2000, false, now + 210).send).toBe(true);
    f.sent(++seq, 2000, false, now + 210);
    f.acked(seq, now + 240); // sent during the drain: 30 ms is the path's round trip
    expect(f.draining).toBe(false);
    expect(f.window).toBeGreaterThan(flow.minWindowBytes);
  });
});

// ---------------------------------------------------------------- host session

class RecordingIo implements HostIo {
  persisted: Event[] = [];
  ready = new Set<ConnId>();
  generations: { turn: bigint; history: ChatMessage[] }[] = [];
  cancelled = 0;
  persist(e: Event) {
    this.persisted.push(e);
  }
  framesReady(c: ConnId) {
    this.ready.add(c);
  }
  wakeAt() {}
  startGeneration(turn: bigint, history: ChatMessage[]) {
    this.generations.push({ turn, history });
  }
  cancelGeneration() {
    this.cancelled++;
  }
}

function drain(s: HostSession, conn: ConnId, now: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let f = s.nextFrame(conn, now); f; f = s.nextFrame(conn, now)) out.push(f.bytes);
  return out;
}

const SID = fromHex('000102030405060708090a0b0c0d0e0f');

/** A participant that said hello as `name` and was sent its welcome. */
function joinParticipant(s: HostSession, name: string): ConnId {
  const c = s.peerOpened('participant', 0);
  s.peerFrame(c, encodeFrame({ type: 'hello', version: 2, last_seq: 0n, display_name: name }), 0);
  s.durable(s.status.head);
  drain(s, c, 0);
  return c;
}
const flowOff = { ...DEFAULT_FLOW, paceIntervalMs: 0 };

describe('host session', () => {
  it('welcomes, streams an answer to a participant and a viewer, and resumes a viewer with no gap', () => {
    const io = new RecordingIo();
    const s = HostSession.create(hostSessionConfig(SID, { flow: flowOff }), [], io, 0);
    const sync = () => s.durable(s.status.head);
    const p = s.peerOpened('participant', 0);
    s.peerFrame(p, encodeFrame({ type: 'hello', version: 2, last_seq: 0n, display_name: 'Ada' }), 0);
    sync();
    const v = s.peerOpened('viewer', 0);
    s.peerFrame(v, encodeFrame({ type: 'hello', version: 1, last_seq: 0n, display_name: 'host' }), 0);
    sync();
    const pFrames = drain(s, p, 1);
    expect(decodeFrame(pFrames[0])).toMatchObject({ type: 'welcome', version: 2, role: 'participant', peer: 1n });
    const vFrames = drain(s, v, 1);
    expect(decodeFrame(vFrames[0])).toMatchObject({ type: 'welcome', version: 1, role: 'viewer', peer: 2n });
    s.peerFrame(p, encodeFrame({ type: 'prompt', prompt_id: 1n, text: 'why?' }), 2);
    sync();
    expect(io.generations).toHaveLength(1);
    expect(io.generations[0].history).toEqual([{ role: 'user', content: 'why?' }]);
    const turn = io.generations[0].turn;
    const viewerFrames = [...vFrames];
    for (const word of ['Be', 'cause', '.']) {
      s.llmDelta(turn, word);
      sync();
      viewerFrames.push(...drain(s, v, 3));
    }
    // The viewer drops here; it resumes from where it is.
    const held = clientApplies(viewerFrames, { last_seq: 0n, open_turn: null });
    s.peerClosed(v);
    s.llmDelta(turn, ' Done');
    s.llmDone(turn, 4n, 4);
    sync();
    const v2 = s.peerOpened('viewer', 5);
    s.peerFrame(v2, encodeFrame({ type: 'hello', version: 2, last_seq: held.position.last_seq, display_name: 'Bo' }), 5);
    sync();
    const rest = clientApplies(drain(s, v2, 6), held.position);
    const all = [...held.events, ...rest.events];
    expect(textOf(all, turn)).toBe('Because. Done');
    expect(rest.position.last_seq).toBe(s.status.head);
    // The viewer's reserved name was replaced.
    expect(all.some((e) => e.type === 'peer_joined' && e.name === 'guest-2')).toBe(true);
  });

  it('refuses viewers prompting, a resume past the head, and acks on version 1', () => {
    const io = new RecordingIo();
    const s = HostSession.create(hostSessionConfig(SID), [], io, 0);
    const v = s.peerOpened('viewer', 0);
    s.peerFrame(v, encodeFrame({ type: 'hello', version: 1, last_seq: 0n, display_name: 'x' }), 0);
    s.peerFrame(v, encodeFrame({ type: 'prompt', prompt_id: 1n, text: 'hi' }), 0);
    const frames = drain(s, v, 0).map(decodeFrame);
    expect(frames.find((f) => f.type === 'error')).toMatchObject({ code: 4n });
    s.peerFrame(v, encodeFrame({ type: 'ack', last_seq: 0n }), 0);
    expect(drain(s, v, 0).map(decodeFrame).map((f) => f.type)).toEqual(['error', 'bye']);
    const late = s.peerOpened('viewer', 0);
    s.peerFrame(late, encodeFrame({ type: 'hello', version: 2, last_seq: 99n, display_name: 'x' }), 0);
    expect(drain(s, late, 0).map(decodeFrame)[0]).toMatchObject({ type: 'error', code: 5n });
  });

  it('protocol version 5: a hello offering a relay capacity is welcomed as version 4 (no relay stream here), and host <-> relay frames are refused', () => {
    const io = new RecordingIo();
    const s = HostSession.create(hostSessionConfig(SID), [], io, 0);
    const v = s.peerOpened('viewer', 0);
    s.peerFrame(v, encodeFrame({ type: 'hello', version: 5, last_seq: 0n, display_name: 'Rae', relay_capacity: 4n }), 0);
    s.durable(s.status.head);
    const welcome = decodeFrame(drain(s, v, 0)[0]);
    expect(welcome).toEqual({ type: 'welcome', version: 4, session_id: SID, role: 'viewer', peer: 1n, head_seq: 0n });
    // Acks work as on any version 2+ link.
    s.peerFrame(v, encodeFrame({ type: 'ack', last_seq: 0n }), 1);
    expect(drain(s, v, 1).map(decodeFrame).filter((f) => f.type === 'error')).toEqual([]);
    s.peerFrame(v, encodeFrame({ type: 'relay_child_gone', child: 1n }), 2);
    expect(drain(s, v, 2).map(decodeFrame).map((f) => f.type)).toEqual(['error', 'bye']);
  });

  it('restores a stored log: an open turn ends with an error, present peers leave', () => {
    const io = new RecordingIo();
    const s1 = HostSession.create(hostSessionConfig(SID), [], io, 0);
    const p = s1.peerOpened('participant', 0);
    s1.peerFrame(p, encodeFrame({ type: 'hello', version: 2, last_seq: 0n, display_name: 'Ada' }), 0);
    s1.hostPrompt('q', 1);
    s1.llmDelta(io.generations[0].turn, 'partial');
    const io2 = new RecordingIo();
    const s2 = HostSession.create(hostSessionConfig(SID), io.persisted, io2, 2);
    expect(io2.persisted.map((e) => e.type)).toEqual(['turn_ended', 'peer_left']);
    expect(s2.status.turn).toBeNull();
  });

  it('lets only the asker or the host stop an answer: a third participant is refused', () => {
    const io = new RecordingIo();
    const s = HostSession.create(hostSessionConfig(SID, { flow: flowOff }), [], io, 0);
    const join = (name: string) => joinParticipant(s, name);
    const asker = join('Ada');
    const other = join('Bo');
    s.peerFrame(asker, encodeFrame({ type: 'prompt', prompt_id: 1n, text: 'why?' }), 1);
    const turn = io.generations[0].turn;
    s.llmDelta(turn, 'Because');
    s.durable(s.status.head);
    drain(s, other, 1);
    s.peerFrame(other, encodeFrame({ type: 'cancel', turn }), 2);
    expect(io.cancelled).toBe(0);
    expect(s.status.turn).toBe(turn);
    expect(drain(s, other, 2).map(decodeFrame)).toEqual([
      { type: 'error', code: STATUS.not_permitted, text: 'only the asker or the host can stop this answer' },
    ]);
    s.peerFrame(asker, encodeFrame({ type: 'cancel', turn }), 3);
    expect(io.cancelled).toBe(1);
    expect(s.status.turn).toBeNull();
    expect(io.persisted.at(-1)).toMatchObject({ type: 'turn_ended', turn, end: 'cancelled', reason: 'cancelled by Ada' });
    // The host's own prompt: no participant may stop it, the host may.
    s.hostPrompt('and?', 4);
    const hostTurn = io.generations[1].turn;
    s.peerFrame(asker, encodeFrame({ type: 'cancel', turn: hostTurn }), 5);
    expect(s.status.turn).toBe(hostTurn);
    s.hostCancel(6);
    expect(s.status.turn).toBeNull();
    expect(io.cancelled).toBe(2);
  });

  it('removes a peer by its exact shown name: bye removed, its queued prompts dropped', () => {
    const io = new RecordingIo();
    const s = HostSession.create(hostSessionConfig(SID, { flow: flowOff }), [], io, 0);
    const join = (name: string) => joinParticipant(s, name);
    const ada = join('Ada');
    const bo = join('Bo');
    s.hostPrompt('first', 1); // generating: later prompts queue
    s.peerFrame(bo, encodeFrame({ type: 'prompt', prompt_id: 1n, text: 'queued' }), 2);
    expect(s.removePeer('bo')).toBeNull(); // exact match only
    expect(s.removePeer('Bo')).toBe(bo);
    expect(s.removePeer('Bo')).toBeNull(); // closing: no longer active
    expect(drain(s, bo, 3).map(decodeFrame).at(-1)).toEqual({ type: 'bye', reason: STATUS.removed, text: 'the host removed you from the session' });
    expect(s.activePeers().map((p) => p.name)).toEqual(['Ada']);
    s.llmDone(io.generations[0].turn, 1n, 4);
    expect(io.generations).toHaveLength(1); // Bo's queued prompt was dropped
    s.peerClosed(bo);
    expect(s.activePeers().map((p) => p.conn)).toEqual([ada]);
  });

  it('with approval on, participants\' prompts wait for the host: accepted ones are answered in turn, rejected ones told', () => {
    const io = new RecordingIo();
    const s = HostSession.create(hostSessionConfig(SID, { flow: flowOff, approvePrompts: true }), [], io, 0);
    const ada = joinParticipant(s, 'ada');
    const cy = joinParticipant(s, 'cy');
    s.peerFrame(ada, encodeFrame({ type: 'prompt', prompt_id: 1n, text: 'first' }), 1);
    s.peerFrame(cy, encodeFrame({ type: 'prompt', prompt_id: 1n, text: 'spam' }), 1);
    expect(io.generations).toHaveLength(0); // nothing reaches the model yet
    expect(s.status.heldPrompts).toBe(2);
    expect(io.persisted.some((e) => e.type === 'turn_started')).toBe(false); // nor the transcript
    s.durable(s.status.head);
    expect(drain(s, ada, 1).map(decodeFrame).filter((f) => f.type !== 'events')).toEqual([{ type: 'error', code: STATUS.busy, text: PROMPT_AWAITS_APPROVAL }]);
    const held = s.heldPrompts();
    expect(held).toEqual([
      { id: held[0].id, author: 'ada', text: 'first' },
      { id: held[1].id, author: 'cy', text: 'spam' },
    ]);
    expect(s.approvePrompt(99, 2)).toBe(false);
    expect(s.declinePrompt(held[1].id)).toBe(true);
    expect(s.declinePrompt(held[1].id)).toBe(false);
    s.durable(s.status.head);
    expect(drain(s, cy, 2).map(decodeFrame).at(-1)).toEqual({ type: 'error', code: STATUS.not_permitted, text: PROMPT_DECLINED });
    expect(s.approvePrompt(held[0].id, 3)).toBe(true);
    expect(io.generations).toHaveLength(1);
    expect(io.generations[0].history.at(-1)).toEqual({ role: 'user', content: 'first' });
    expect(io.persisted.find((e) => e.type === 'turn_started')).toMatchObject({ role: 'user', author: 'ada' });
    expect(s.status.heldPrompts).toBe(0);
    // The host's own prompts never wait.
    s.llmDone(io.generations[0].turn, 1n, 4);
    s.hostPrompt('mine', 5);
    expect(io.generations).toHaveLength(2);
    // Switched off: new prompts go straight to the queue; one already held stays held.
    s.peerFrame(cy, encodeFrame({ type: 'prompt', prompt_id: 2n, text: 'held before' }), 6);
    s.setApprovePrompts(false);
    expect(s.approvePrompts).toBe(false);
    s.llmDone(io.generations[1].turn, 1n, 7);
    s.peerFrame(ada, encodeFrame({ type: 'prompt', prompt_id: 2n, text: 'straight' }), 8);
    expect(io.generations.map((g) => g.history.at(-1)!.content)).toEqual(['first', 'mine', 'straight']);
    expect(s.heldPrompts().map((p) => p.text)).toEqual(['held before']);
    // A removed participant's held prompts go with it.
    expect(s.removePeer('cy')).toBe(cy);
    expect(s.heldPrompts()).toEqual([]);
  });

  it('with approval on, a participant\'s held prompts count against its pending limit, and the held list is bounded', () => {
    const io = new RecordingIo();
    const s = HostSession.create(hostSessionConfig(SID, { flow: flowOff, approvePrompts: true, maxHeldPrompts: 3, maxPendingPromptsPerPeer: 2 }), [], io, 0);
    const ada = joinParticipant(s, 'ada');
    const bo = joinParticipant(s, 'bo');
    const texts = (c: ConnId) => {
      s.durable(s.status.head);
      return drain(s, c, 1)
        .map(decodeFrame)
        .flatMap((f) => (f.type === 'error' ? [f.text] : []));
    };
    for (const t of ['a1', 'a2', 'a3']) s.peerFrame(ada, encodeFrame({ type: 'prompt', prompt_id: 1n, text: t }), 1);
    expect(texts(ada)).toEqual([PROMPT_AWAITS_APPROVAL, PROMPT_AWAITS_APPROVAL, 'you have too many prompts waiting; try later']);
    for (const t of ['b1', 'b2']) s.peerFrame(bo, encodeFrame({ type: 'prompt', prompt_id: 1n, text: t }), 1);
    expect(texts(bo)).toEqual([PROMPT_AWAITS_APPROVAL, 'the host has too many prompts to review; try later']);
    expect(s.heldPrompts().map((p) => p.text)).toEqual(['a1', 'a2', 'b1']);
    // A rejection frees its author's slot.
    s.declinePrompt(s.heldPrompts()[0].id);
    s.peerFrame(ada, encodeFrame({ type: 'prompt', prompt_id: 1n, text: 'a4' }), 2);
    expect(texts(ada).at(-1)).toBe(PROMPT_AWAITS_APPROVAL);
    expect(s.heldPrompts().map((p) => p.text)).toEqual(['a2', 'b1', 'a4']);
  });

  it('protocol version 4: signs the transcript after each ended turn and sends it to version 4 peers only', async () => {
    const seed = new Uint8Array(32).fill(3);
    const signer = { publicKey: ed25519.getPublicKey(seed), sign: async (m: Uint8Array) => ed25519.sign(m, seed) };
    const io = new (class extends RecordingIo {
      signing: Promise<void> = Promise.resolve();
      signTranscript(seq: bigint) {
        // What the page's runtime does: sign the durable log up to seq, report it back.
        this.signing = this.signing.then(async () => {
          const content = transcriptFromEvents(SID, s.durableEvents().filter((e) => e.seq <= seq));
          const signed = await signTranscript(content, signer);
          s.signed({ seq, turns: BigInt(content.turns.length), signature: signed.signature });
        });
      }
    })();
    const s = HostSession.create(hostSessionConfig(SID, { flow: flowOff }), [], io, 0);
    const sync = () => s.durable(s.status.head);
    const v4 = s.peerOpened('viewer', 0);
    s.peerFrame(v4, encodeFrame({ type: 'hello', version: 4, last_seq: 0n, display_name: 'Ann' }), 0);
    const v3 = s.peerOpened('viewer', 0);
    s.peerFrame(v3, encodeFrame({ type: 'hello', version: 3, last_seq: 0n, display_name: 'Bo' }), 0);
    sync();
    s.hostPrompt('why?', 1);
    sync();
    s.llmDelta(io.generations[0].turn, 'Because.');
    s.llmDone(io.generations[0].turn, 1n, 2);
    sync();
    await io.signing;
    const sig = s.latestSignature()!;
    expect(sig.turns).toBe(2n);
    const kinds = (frames: Uint8Array[]) => frames.map((f) => decodeFrame(f).type);
    const f4 = drain(s, v4, 3);
    expect(kinds(f4).filter((k) => k === 'signature')).toHaveLength(2); // the question's end, then the answer's
    expect(kinds(drain(s, v3, 3))).not.toContain('signature');
    const held = clientApplies(f4.filter((f) => decodeFrame(f).type !== 'signature'), { last_seq: 0n, open_turn: null });
    const out = signedExport(SID, signer.publicKey, held.events, sig);
    if (!out.ok) throw new Error(out.reason);
    expect(parseSignedTranscript(utf8(out.file)).turns.map((t) => t.text)).toEqual(['why?', 'Because.']);
    // A late version 4 joiner gets the latest signature right after its welcome.
    const late = s.peerOpened('viewer', 4);
    s.peerFrame(late, encodeFrame({ type: 'hello', version: 4, last_seq: 0n, display_name: 'Cy' }), 4);
    sync();
    expect(kinds(drain(s, late, 5)).slice(0, 2)).toEqual(['welcome', 'signature']);
  });

  it('with no model, what the host types is the answer', () => {
    const io = new RecordingIo();
    const s = HostSession.create(hostSessionConfig(SID, { llmAttached: false, hostName: 'Eve' }), [], io, 0);
    s.hostPrompt('typed answer', 1);
    expect(io.persisted.map((e) => e.type)).toEqual(['turn_started', 'text_delta', 'turn_ended']);
    expect(io.persisted[0]).toMatchObject({ role: 'assistant', author: 'Eve' });
  });
});

// ---------------------------------------------------------------- host.json (C++ generated)

const HV = loadVectors('host.json');

describe('host.json sessions: the browser host sends what the C++ host sends', () => {
  for (const v of HV.sessions) {
    it(v.name, () => {
      const c = v.config;
      const io = new RecordingIo();
      const config = hostSessionConfig(fromHex(c.session_id_hex), {
        modelName: c.model_name,
        hostName: c.host_name,
        llmAttached: c.llm_attached,
        noModelReason: c.no_model_reason,
        restartReason: c.restart_reason,
        maxPendingBytes: c.max_pending_bytes,
        flow: { ...DEFAULT_FLOW, paceIntervalMs: c.pace_interval_ms },
      });
      const stored = (c.stored as string[]).map((h) => (decodeFrame(fromHex(h)) as Extract<Frame, { type: 'events' }>).events[0]);
      let s: HostSession | null = null;
      let mark = 0;
      const turn = () => io.generations[io.generations.length - 1]?.turn ?? 0n;
      for (const [i, step] of (v.steps as Record<string, unknown>[]).entries()) {
        const now = step.at_ms as number;
        const where = `step ${i} (${step.op})`;
        switch (step.op) {
          case 'created':
            s = HostSession.create(config, stored, io, c.created_at_ms);
            break;
          case 'open':
            expect(s!.peerOpened(step.role as 'viewer' | 'participant', now), where).toBe(step.conn);
            break;
          case 'frame':
            s!.peerFrame(step.conn as number, fromHex(step.hex as string), now);
            break;
          case 'durable':
            s!.durable(s!.status.head);
            break;
          case 'host_prompt':
            s!.hostPrompt(step.text as string, now);
            break;
          case 'llm_delta':
            s!.llmDelta(turn(), fromHex(step.hex as string));
            break;
          case 'llm_done':
            s!.llmDone(turn(), BigInt(step.token_count as number), now);
            break;
          case 'host_cancel':
            s!.hostCancel(now);
            break;
          case 'set_meta':
            s!.setMeta(step.title as string, step.model as string);
            break;
          case 'closed':
            s!.peerClosed(step.conn as number);
            break;
          case 'drain': {
            const frames: string[] = [];
            let closed = false;
            for (let f = s!.nextFrame(step.conn as number, now); f; f = s!.nextFrame(step.conn as number, now)) {
              frames.push(toHex(f.bytes));
              closed ||= f.last;
            }
            expect(frames, where).toEqual(step.frames);
            expect(closed, where).toBe(step.closed);
            continue;
          }
          default:
            throw new Error(`unknown op ${String(step.op)}`);
        }
        const persisted = io.persisted.slice(mark).map((e) => toHex(encodeFrame({ type: 'events', events: [e] })));
        mark = io.persisted.length;
        expect(persisted, where).toEqual(step.persisted);
      }
      expect(io.generations.map((g) => ({ turn: Number(g.turn), history: g.history }))).toEqual(v.generations);
      expect(io.cancelled).toBe(v.cancels);
      expect(planCatchup(s!.sessionLog, 0n).map((f) => toHex(f.bytes))).toEqual(v.log_frames);
    });
  }
});

describe('host.json beacons', () => {
  for (const b of HV.beacons) {
    it(`beacon role ${b.role} to ${b.to}`, async () => {
      const host = new HostHandshake(seedSigner(fromHex(b.host_seed_hex)), fromHex(b.viewer_secret_hex), fromHex(b.participant_secret_hex));
      expect(toHex(await host.beacon(b.role, BigInt(b.to), BigInt(b.from)))).toBe(b.beacon_hex);
    });
  }
});

describe('host.json ice_beacons', () => {
  for (const b of HV.ice_beacons) {
    const seed = fromHex(b.host_seed_hex);
    const secret = fromHex(b.role === 0 ? b.viewer_secret_hex : b.participant_secret_hex);
    const link = { baseUrl: 'https://rv.example.net', alternates: [], role: b.role, secret, hostKey: ed25519.getPublicKey(seed) };
    it(`ICE beacon role ${b.role} to ${b.to}: made byte for byte`, async () => {
      const host = new HostHandshake(seedSigner(seed), fromHex(b.viewer_secret_hex), fromHex(b.participant_secret_hex));
      expect(toHex(await host.iceBeacon(b.role, BigInt(b.to), BigInt(b.from), b.servers, fromHex(b.nonce_hex)))).toBe(b.beacon_hex);
    });
    it(`ICE beacon role ${b.role} to ${b.to}: the joiner opens it to the servers, and nothing else`, () => {
      const beacon = fromHex(b.beacon_hex);
      expect(openHostBeacon(link, beacon, BigInt(b.to), BigInt(b.from))).toEqual(b.servers);
      expect(openHostBeacon(link, beacon, BigInt(b.to) + 1n, BigInt(b.from))).toBeNull();
      expect(openHostBeacon(link, beacon, BigInt(b.to), BigInt(b.from) + 1n)).toBeNull();
      expect(openHostBeacon({ ...link, role: (1 - b.role) as 0 | 1 }, beacon, BigInt(b.to), BigInt(b.from))).toBeNull();
      for (let i = 0; i < beacon.length; i++) {
        const flipped = beacon.slice();
        flipped[i] ^= 1;
        expect(openHostBeacon(link, flipped, BigInt(b.to), BigInt(b.from)), `byte ${i}`).toBeNull();
      }
      expect(openHostBeacon(link, beacon.subarray(0, beacon.length - 1), BigInt(b.to), BigInt(b.from))).toBeNull();
      const stripped = beacon.slice(0, 65);
      stripped[0] = 0xb1;
      expect(openHostBeacon(link, stripped, BigInt(b.to), BigInt(b.from))).toBeNull();
    });
  }
  it('a plain beacon opens to no servers; a list the codec refuses is not sealed', async () => {
    const b = HV.beacons[1];
    const seed = fromHex(b.host_seed_hex);
    const link = { baseUrl: 'https://rv.example.net', alternates: [], role: 1 as const, secret: fromHex(b.participant_secret_hex), hostKey: ed25519.getPublicKey(seed) };
    expect(openHostBeacon(link, fromHex(b.beacon_hex), BigInt(b.to), BigInt(b.from))).toEqual([]);
    const host = new HostHandshake(seedSigner(seed), fromHex(b.viewer_secret_hex), fromHex(b.participant_secret_hex));
    await expect(host.iceBeacon(1, 5n, 9n, [])).rejects.toThrow(/invalid_argument/);
    await expect(host.iceBeacon(1, 5n, 9n, [{ url: 'turn:a', username: 'u', credential: 'with space' }])).rejects.toThrow(/invalid_argument/);
    const beacon = await host.iceBeacon(1, 5n, 9n, [{ url: 'stun:x', username: '', credential: '' }]);
    expect(beacon.length).toBe(MIN_ICE_BEACON_SIZE);
    expect(openHostBeacon(link, beacon, 5n, 9n)).toEqual([{ url: 'stun:x', username: '', credential: '' }]);
  });
});

// ---------------------------------------------------------------- the model source

describe('model source (OpenAI-compatible SSE)', () => {
  async function serve(handler: (res: import('node:http').ServerResponse) => void) {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => handler(res));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as import('node:net').AddressInfo).port;
    return { url: `http://127.0.0.1:${port}/v1`, close: () => new Promise<void>((r) => server.close(() => r())) };
  }
  const run = (url: string) =>
    new Promise<{ text: string; end: string }>((resolve) => {
      let text = '';
      generate({ baseUrl: url, apiKey: 'k', model: 'm' }, [{ role: 'user', content: 'hi' }], {
        delta: (t) => (text += t),
        done: (n) => resolve({ text, end: `done ${n}` }),
        error: (r) => resolve({ text, end: `error ${r}` }),
      });
    });

  it('joins deltas split anywhere across reads, stops at [DONE]', async () => {
    const s = await serve((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const body =
        ['Hel', 'lo ', 'wörld'].map((c) => `data: ${JSON.stringify({ choices: [{ delta: { content: c } }] })}\n\n`).join('') +
        ': a comment\n\ndata: [DONE]\n\n';
      const bytes = Buffer.from(body);
      for (let i = 0; i < bytes.length; i += 7) res.write(bytes.subarray(i, i + 7));
      res.end();
    });
    expect(await run(s.url)).toEqual({ text: 'Hello wörld', end: 'done 3' });
    await s.close();
  });

  it('reports an HTTP error and an error chunk', async () => {
    const s = await serve((res) => res.writeHead(500).end());
    expect((await run(s.url)).end).toBe('error the model server answered HTTP 500');
    await s.close();
    const e = await serve((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: ${JSON.stringify({ error: { message: 'model not found' } })}\n\n`);
    });
    expect((await run(e.url)).end).toBe('error model not found');
    await e.close();
  });

  it('advises on CORS for llama-server and Ollama', () => {
    const a = corsAdvice('http://127.0.0.1:8080/v1', 'http://192.168.1.20:8080');
    expect(a).toContain('--cors-origins http://192.168.1.20:8080');
    expect(a).toContain('OLLAMA_ORIGINS=http://192.168.1.20:8080');
    expect(chatCompletionsUrl('http://x:1/v1/')).toBe('http://x:1/v1/chat/completions');
  });
});
