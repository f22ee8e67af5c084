import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../src/protocol/bytes';
import { ACK_BYTES, ACK_DELAY_MS, decodeFrame, encodeFrame, STATUS, type Event } from '../src/protocol/frames';
import { ClientSession, cleanDisplayName, positionAfter, Transcript } from '../src/client/session';

const sid = fromHex('000102030405060708090a0b0c0d0e0f');
const welcome = (role: 'viewer' | 'participant' = 'participant', session = sid) =>
  encodeFrame({ type: 'welcome', version: 1, session_id: session, role, peer: 2n, head_seq: 0n });
const events = (...ev: Event[]) => encodeFrame({ type: 'events', events: ev });
const delta = (b: Uint8Array) => encodeFrame({ type: 'delta', bytes: b });

describe('Transcript', () => {
  it('reassembles UTF-8 split across deltas', () => {
    const s = new ClientSession('ada');
    s.receive(welcome());
    s.receive(events({ seq: 1n, type: 'turn_started', turn: 1n, role: 'assistant', author: 'm', at_ms: 0n }));
    const euro = utf8('a€b😀c'); // multi-byte characters split at every byte
    for (const b of euro) s.receive(delta(Uint8Array.of(b)));
    expect(s.transcript.turns[0].text).toBe('a€b😀c');
    s.receive(events({ seq: 1n + BigInt(euro.length) + 1n, type: 'turn_ended', turn: 1n, end: 'done', reason: '', token_count: 3n, at_ms: 0n }));
    expect(s.transcript.turns[0].open).toBe(false);
    expect(s.position).toEqual({ last_seq: BigInt(euro.length) + 2n, open_turn: null });
  });

  it('a truncated character at the end of a turn becomes U+FFFD', () => {
    const t = new Transcript();
    t.apply({ seq: 1n, type: 'turn_started', turn: 1n, role: 'assistant', author: 'm', at_ms: 0n });
    t.apply({ seq: 2n, type: 'text_delta', turn: 1n, span: 1n, bytes: fromHex('61e282') });
    expect(t.turns[0].text).toBe('a');
    t.apply({ seq: 3n, type: 'turn_ended', turn: 1n, end: 'error', reason: 'x', token_count: 1n, at_ms: 0n });
    expect(t.turns[0].text).toBe('a\ufffd');
  });

  it('keeps thinking apart from the answer, each reassembled across frames', () => {
    const s = new ClientSession('ada');
    s.receive(welcome());
    s.receive(events({ seq: 1n, type: 'turn_started', turn: 1n, role: 'assistant', author: 'r1', at_ms: 0n }));
    const think = utf8('hmm €');
    for (const b of think) s.receive(encodeFrame({ type: 'thinking', bytes: Uint8Array.of(b) }));
    s.receive(delta(utf8('Four')));
    const t = s.transcript.turns[0];
    expect([t.thinking, t.text]).toEqual(['hmm €', 'Four']);
    expect(s.position).toEqual({ last_seq: BigInt(think.length) + 2n, open_turn: 1n });
  });

  it('tracks peers and session meta', () => {
    const t = new Transcript();
    t.apply({ seq: 1n, type: 'session_meta', title: 'Trip', model: 'llama' });
    t.apply({ seq: 2n, type: 'peer_joined', peer: 3n, role: 'viewer', name: 'bob' });
    t.apply({ seq: 3n, type: 'peer_joined', peer: 4n, role: 'participant', name: 'ada' });
    t.apply({ seq: 4n, type: 'peer_left', peer: 3n });
    expect([t.title, t.model, t.peers.size]).toEqual(['Trip', 'llama', 1]);
  });
});

describe('ClientSession', () => {
  it('says hello with its last sequence and resumes from restored events', () => {
    const restored: Event[] = [
      { seq: 1n, type: 'turn_started', turn: 1n, role: 'user', author: 'ada', at_ms: 0n },
      { seq: 2n, type: 'text_delta', turn: 1n, span: 3n, bytes: utf8('hi!') },
    ];
    const s = new ClientSession('ada', { sessionId: sid, events: restored });
    expect(s.position).toEqual({ last_seq: 4n, open_turn: 1n });
    expect(decodeFrame(s.hello())).toEqual({ type: 'hello', version: 5, last_seq: 4n, display_name: 'ada', relay_capacity: 0n });
    expect(s.transcript.turns[0].text).toBe('hi!');
    expect(s.receive(welcome())[0]).toMatchObject({ type: 'welcomed', resumed: true });
    s.receive(delta(utf8(' more')));
    expect(s.transcript.turns[0].text).toBe('hi! more');
    expect(s.position.last_seq).toBe(5n);
  });

  it('takes in a stored copy restored after it was made, before the hello', () => {
    const restored: Event[] = [
      { seq: 1n, type: 'turn_started', turn: 1n, role: 'user', author: 'ada', at_ms: 0n },
      { seq: 2n, type: 'text_delta', turn: 1n, span: 3n, bytes: utf8('hi!') },
    ];
    const s = new ClientSession('ada');
    const before = s.transcript;
    s.restore(sid, restored);
    expect(s.transcript).not.toBe(before);
    expect(s.position).toEqual({ last_seq: 4n, open_turn: 1n });
    expect(decodeFrame(s.hello())).toEqual({ type: 'hello', version: 5, last_seq: 4n, display_name: 'ada', relay_capacity: 0n });
    expect(s.receive(welcome())[0]).toMatchObject({ type: 'welcomed', resumed: true });
    s.receive(delta(utf8(' more')));
    expect(s.transcript.turns[0].text).toBe('hi! more');
    // Once the session has started (or been restored), a late restore is refused.
    expect(() => s.restore(sid, restored)).toThrow();
    const w = new ClientSession('ada');
    w.receive(welcome());
    expect(() => w.restore(sid, restored)).toThrow();
  });

  it('notices another session behind the same link', () => {
    const s = new ClientSession('ada', { sessionId: sid, events: [] });
    expect(s.receive(welcome('participant', fromHex('ff'.repeat(16))))).toEqual([{ type: 'session_changed' }]);
    expect(s.welcomed).toBe(false);
  });

  it('only participants prompt and cancel', () => {
    const v = new ClientSession('bob');
    expect(() => v.prompt('x')).toThrow(/not connected/);
    v.receive(welcome('viewer'));
    expect(() => v.prompt('x')).toThrow(/viewers/);
    const p = new ClientSession('ada');
    p.receive(welcome('participant'));
    expect(toHex(p.prompt('What is 2+2?'))).toBe('05010c5768617420697320322b323f');
    expect(p.cancel()).toBeNull();
    p.receive(events({ seq: 1n, type: 'turn_started', turn: 5n, role: 'assistant', author: 'm', at_ms: 0n }));
    expect(toHex(p.cancel()!)).toBe('0605');
  });

  it('rejects bad frames whole', () => {
    const s = new ClientSession('ada');
    s.receive(welcome());
    expect(() => s.receive(delta(utf8('x')))).toThrow(/no_open_turn/);
    expect(() => s.receive(events({ seq: 2n, type: 'peer_left', peer: 1n }))).toThrow(/sequence_gap/);
    expect(s.position).toEqual({ last_seq: 0n, open_turn: null });
  });

  it('reports host errors, byes, pings', () => {
    const s = new ClientSession('ada');
    expect(s.receive(encodeFrame({ type: 'error', code: 6n, text: 'busy' }))).toEqual([{ type: 'host_error', code: 6n, text: 'busy' }]);
    expect(s.receive(encodeFrame({ type: 'bye', reason: 8n, text: 'bye' }))).toEqual([{ type: 'host_left', reason: 8n, text: 'bye' }]);
    expect(s.receive(encodeFrame({ type: 'ping', nonce: 9n }))).toEqual([{ type: 'ping', nonce: 9n }]);
  });

  it('positionAfter follows turns', () => {
    expect(positionAfter([{ seq: 1n, type: 'turn_started', turn: 7n, role: 'assistant', author: '', at_ms: 0n }])).toEqual({
      last_seq: 1n,
      open_turn: 7n,
    });
  });
});

describe('cleanDisplayName', () => {
  it('drops controls, bounds the size, never empty', () => {
    expect(cleanDisplayName('a\u0000b\u0085c\u007f')).toBe('abc');
    expect(cleanDisplayName('')).toBe('guest');
    expect(cleanDisplayName('   ')).toBe('guest');
    expect(new TextEncoder().encode(cleanDisplayName('é'.repeat(40))).length).toBe(64);
    expect(cleanDisplayName('😀'.repeat(20))).toBe('😀'.repeat(16));
  });
});

describe('Acks (protocol version 2)', () => {
  const welcomeV = (version: number) =>
    encodeFrame({ type: 'welcome', version, session_id: sid, role: 'viewer', peer: 2n, head_seq: 0n });
  const started = events({ seq: 1n, type: 'turn_started', turn: 1n, role: 'assistant', author: 'm', at_ms: 0n });

  it('acks at once after a pause, then at most every ACK_DELAY_MS', () => {
    const s = new ClientSession('ada');
    s.receive(welcomeV(2));
    expect(s.takeAck(1000)).toBeNull(); // nothing held yet
    s.receive(started);
    expect(decodeFrame(s.takeAck(1000)!)).toEqual({ type: 'ack', last_seq: 1n });
    expect(s.ackDueMs()).toBeNull();
    s.receive(delta(utf8('a')));
    expect(s.takeAck(1010)).toBeNull();
    expect(s.ackDueMs()).toBe(1000 + ACK_DELAY_MS);
    expect(decodeFrame(s.takeAck(1000 + ACK_DELAY_MS)!)).toEqual({ type: 'ack', last_seq: 2n });
  });

  it('acks at once when ACK_BYTES are unacknowledged', () => {
    const s = new ClientSession('ada');
    s.receive(welcomeV(2));
    s.receive(started);
    s.takeAck(1000);
    s.receive(delta(new Uint8Array(ACK_BYTES)));
    expect(decodeFrame(s.takeAck(1001)!)).toEqual({ type: 'ack', last_seq: 2n });
  });

  it('never acks on a version 1 link, and steps down a version after each refusal', () => {
    const v1 = new ClientSession('old');
    v1.receive(welcomeV(1));
    v1.receive(started);
    expect(v1.takeAck(1000)).toBeNull();
    expect(v1.ackDueMs()).toBeNull();
    const s = new ClientSession('ada');
    expect(decodeFrame(s.hello())).toMatchObject({ version: 5, relay_capacity: 0n });
    s.receive(encodeFrame({ type: 'error', code: STATUS.unsupported_version, text: '1 to 4' }));
    expect(decodeFrame(s.hello())).toEqual({ type: 'hello', version: 4, last_seq: 0n, display_name: 'ada' });
    s.receive(encodeFrame({ type: 'error', code: STATUS.unsupported_version, text: '1 to 3' }));
    expect(decodeFrame(s.hello())).toMatchObject({ version: 3 });
    s.receive(encodeFrame({ type: 'error', code: STATUS.unsupported_version, text: '1 to 2' }));
    expect(decodeFrame(s.hello())).toMatchObject({ version: 2 });
    s.receive(encodeFrame({ type: 'error', code: STATUS.unsupported_version, text: 'v1 only' }));
    expect(decodeFrame(s.hello())).toMatchObject({ version: 1 });
    s.receive(encodeFrame({ type: 'error', code: STATUS.unsupported_version, text: 'v1 only' }));
    expect(decodeFrame(s.hello())).toMatchObject({ version: 1 });
  });
});
