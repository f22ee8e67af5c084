import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/protocol/bytes';
import { decodeFrame, encodeFrame, FrameDecoder, FrameError, type Event, type Frame, type Position } from '../src/protocol/frames';
import { loadVectors } from './vectors';

const V = loadVectors('frames.json');

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

function hexOf(h: Json): string {
  if (typeof h === 'string') return h;
  return h.hex + h.then_repeat.hex.repeat(h.then_repeat.times);
}

const big = (x: Json): bigint => BigInt(x);

/** JSON vector -> Frame. */
function eventFromJson(e: Json): Event {
  switch (e.type) {
    case 'turn_started':
      return { seq: big(e.seq), type: e.type, turn: big(e.turn), role: e.role, author: e.author, at_ms: big(e.at_ms) };
    case 'text_delta':
      return { seq: big(e.seq), type: e.type, turn: big(e.turn), span: big(e.span), bytes: fromHex(e.bytes_hex) };
    case 'turn_ended':
      return {
        seq: big(e.seq),
        type: e.type,
        turn: big(e.turn),
        end: e.end,
        reason: e.reason,
        token_count: big(e.token_count),
        at_ms: big(e.at_ms),
      };
    case 'peer_joined':
      return { seq: big(e.seq), type: e.type, peer: big(e.peer), role: e.role, name: e.name };
    case 'peer_left':
      return { seq: big(e.seq), type: e.type, peer: big(e.peer) };
    case 'session_meta':
      return { seq: big(e.seq), type: e.type, title: e.title, model: e.model };
    case 'thinking_delta':
      return { seq: big(e.seq), type: e.type, turn: big(e.turn), span: big(e.span), bytes: fromHex(e.bytes_hex) };
  }
  throw new Error(`unknown event ${e.type}`);
}

function frameFromJson(f: Json): Frame {
  switch (f.type) {
    case 'hello':
      return { type: 'hello', version: f.version, last_seq: big(f.last_seq), display_name: f.display_name };
    case 'welcome':
      return {
        type: 'welcome',
        version: f.version,
        session_id: fromHex(f.session_id),
        role: f.role,
        peer: big(f.peer),
        head_seq: big(f.head_seq),
      };
    case 'events':
      return { type: 'events', events: f.events.map(eventFromJson) };
    case 'delta':
    case 'thinking':
      return { type: f.type, bytes: fromHex(f.bytes_hex) };
    case 'prompt':
      return { type: 'prompt', prompt_id: big(f.prompt_id), text: f.text };
    case 'cancel':
      return { type: 'cancel', turn: big(f.turn) };
    case 'ping':
    case 'pong':
      return { type: f.type, nonce: big(f.nonce) };
    case 'error':
      return { type: 'error', code: big(f.code), text: f.text };
    case 'bye':
      return { type: 'bye', reason: big(f.reason), text: f.text };
    case 'ack':
      return { type: 'ack', last_seq: big(f.last_seq) };
    case 'signature':
      return { type: 'signature', seq: big(f.seq), turns: big(f.turns), signature: fromHex(f.signature_hex) };
  }
  throw new Error(`unknown frame ${f.type}`);
}

/** Frame -> the vectors' JSON shape (numbers above 2^53-1 as decimal strings). */
function toJson(x: unknown, key = ''): Json {
  if (typeof x === 'bigint') return x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x.toString();
  if (x instanceof Uint8Array) return toHex(x);
  if (Array.isArray(x)) return x.map((v) => toJson(v));
  if (x && typeof x === 'object') {
    const out: Json = {};
    for (const [k, v] of Object.entries(x)) {
      const name = k === 'bytes' ? 'bytes_hex' : k === 'signature' ? 'signature_hex' : k;
      out[name] = toJson(v, k);
    }
    return out;
  }
  void key;
  return x;
}

function position(p: Json): Position {
  return { last_seq: big(p.last_seq), open_turn: p.open_turn === null ? null : big(p.open_turn) };
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof FrameError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('frames.json valid', () => {
  for (const v of V.valid) {
    it(v.name, () => {
      const bytes = fromHex(hexOf(v.hex));
      expect(toJson(decodeFrame(bytes))).toEqual(v.frame);
      expect(toHex(encodeFrame(frameFromJson(v.frame)))).toBe(hexOf(v.hex));
    });
  }
});

describe('frames.json invalid', () => {
  for (const v of V.invalid) {
    it(`${v.name} -> ${v.error}`, () => {
      const bytes = fromHex(hexOf(v.hex));
      if (v.decoder) {
        const d = new FrameDecoder(position(v.decoder));
        expect(errorOf(() => d.decode(bytes))).toBe(v.error);
        expect(d.position).toEqual(position(v.decoder));
      } else {
        expect(errorOf(() => decodeFrame(bytes))).toBe(v.error);
      }
    });
  }

  it('covers every error name', () => {
    const names = new Set(V.invalid.map((v: Json) => v.error));
    expect(names.size).toBe(18);
  });

  it('covers every frame and event type', () => {
    const frames = new Set(V.valid.map((v: Json) => v.frame.type));
    const events = new Set(V.valid.flatMap((v: Json) => (v.frame.events ?? []).map((e: Json) => e.type)));
    expect(frames.size).toBe(13);
    expect(events.size).toBe(7);
  });
});

describe('frames.json streams', () => {
  for (const s of V.streams) {
    it(s.name, () => {
      const d = new FrameDecoder(position(s.start));
      for (const f of s.frames) {
        expect(toJson(d.decode(fromHex(hexOf(f.hex))))).toEqual(f.decoded);
      }
      expect(d.position).toEqual(position(s.end));
    });
  }
});

describe('frame codec properties', () => {
  it('every strict prefix of a non-delta valid frame is truncated', () => {
    for (const v of V.valid) {
      if (v.frame.type === 'delta' || v.frame.type === 'thinking') continue;
      const bytes = fromHex(hexOf(v.hex));
      for (let n = 0; n < bytes.length; n++) {
        expect(errorOf(() => decodeFrame(bytes.subarray(0, n))), `${v.name} prefix ${n}`).toBe('truncated');
      }
    }
  });

  it('a refused frame leaves the decoder position unchanged', () => {
    const d = new FrameDecoder({ last_seq: 0n, open_turn: null });
    d.decode(fromHex('030101010101016d0a'));
    const before = d.position;
    expect(errorOf(() => d.decode(fromHex('03020201010101016d0a')))).not.toBe('no error');
    expect(d.position).toEqual(before);
  });
});
