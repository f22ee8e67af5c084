// Frames and events, protocol versions 1 to 5 (docs/PROTOCOL.md, section 4; version 2 adds
// the ack frame, version 3 thinking, version 4 the host's transcript signature, version 5 relaying:
// the hello's relay_capacity, the welcome's relay_stream and the host <-> relay introduction
// frames 0x0e-0x11 and 0x14), and the stateful client
// decoder that turns delta and thinking frames into sequenced deltas. Checks run in the documented
// order so that every defect gets the same error name as in the C++ reference.
import { concat, decodeUtf8, U64_MAX, utf8 } from './bytes';

/** The newest version this client speaks (and decodes); it also understands hosts that speak only 1. */
export const PROTOCOL_VERSION = 5;
/** The newest version the browser host serves: it welcomes a version 5 hello as version 4
 *  (no relay stream; docs/web.md). */
export const HOST_PROTOCOL_VERSION = 4;
/** From this version on a hello may offer a relay capacity and a welcome grant the relay stream. */
export const RELAY_VERSION = 5;
/** From this version on a host sends a turn's thinking (thinking frame, thinking_delta). */
export const THINKING_VERSION = 3;
/** From this version on a host sends its signature over the transcript after each ended turn. */
export const SIGNATURE_VERSION = 4;
export const SIGNATURE_BYTES = 64;
export const MIN_PROTOCOL_VERSION = 1;
/** A version 2 client acknowledges within this long of receiving events, and at once when this
 *  many bytes of them are unacknowledged (docs/PROTOCOL.md section 4.8). */
export const ACK_DELAY_MS = 50;
export const ACK_BYTES = 4096;
export const MAX_FRAME_BYTES = 16384;
export const MAX_LABEL_BYTES = 1024;

export type FrameErrorName =
  | 'truncated'
  | 'oversized'
  | 'unknown_version'
  | 'unknown_frame_type'
  | 'unknown_event_type'
  | 'bad_varint'
  | 'trailing_bytes'
  | 'sequence_gap'
  | 'string_too_long'
  | 'bad_enum'
  | 'invalid_utf8'
  | 'empty_batch'
  | 'bad_span'
  | 'bad_sequence'
  | 'unexpected_frame'
  | 'no_open_turn'
  | 'turn_mismatch'
  | 'turn_already_open';

export const FRAME_ERROR_VALUES: Record<FrameErrorName, number> = {
  truncated: 1,
  oversized: 2,
  unknown_version: 3,
  unknown_frame_type: 4,
  unknown_event_type: 5,
  bad_varint: 6,
  trailing_bytes: 7,
  sequence_gap: 8,
  string_too_long: 9,
  bad_enum: 10,
  invalid_utf8: 11,
  empty_batch: 12,
  bad_span: 13,
  bad_sequence: 14,
  unexpected_frame: 15,
  no_open_turn: 16,
  turn_mismatch: 17,
  turn_already_open: 18,
};

/** The C++ category's messages (src/core/wire/frame_errors.cpp): a host quotes them in its
 *  protocol_error frames, so both hosts send the same bytes. */
export const FRAME_ERROR_MESSAGES: Record<FrameErrorName, string> = {
  truncated: 'frame truncated',
  oversized: 'frame larger than 16384 bytes',
  unknown_version: 'unknown protocol version',
  unknown_frame_type: 'unknown frame type',
  unknown_event_type: 'unknown event type',
  bad_varint: 'non-canonical or over-64-bit varint',
  trailing_bytes: 'trailing bytes after the last field',
  sequence_gap: 'events do not continue the last sequence held',
  string_too_long: 'label longer than 1024 bytes',
  bad_enum: 'enum value out of range',
  invalid_utf8: 'text is not valid UTF-8',
  empty_batch: 'events frame with no events',
  bad_span: 'invalid event span',
  bad_sequence: 'sequence 0 or beyond 2^64-1',
  unexpected_frame: 'frame not allowed in this direction',
  no_open_turn: 'turn event while no turn is open',
  turn_mismatch: 'turn event for a turn that is not open',
  turn_already_open: 'turn started while another is open',
};

export class FrameError extends Error {
  constructor(readonly code: FrameErrorName) {
    super(`frame: ${code}`);
  }
}

function err(code: FrameErrorName): never {
  throw new FrameError(code);
}

export const TURN_ROLES = ['user', 'assistant', 'system'] as const;
export const TURN_ENDS = ['done', 'cancelled', 'error'] as const;
export const PEER_ROLES = ['viewer', 'participant', 'host'] as const;
export type TurnRole = (typeof TURN_ROLES)[number];
export type TurnEnd = (typeof TURN_ENDS)[number];
export type PeerRole = (typeof PEER_ROLES)[number];

export const STATUS = {
  normal: 0n,
  protocol_error: 1n,
  unsupported_version: 2n,
  slow_consumer: 3n,
  not_permitted: 4n,
  resume_unavailable: 5n,
  busy: 6n,
  internal: 7n,
  shutdown: 8n,
  removed: 9n,
} as const;

/** The error text (status busy) a host sends a participant whose prompt waits for the host's
 *  approval (`tokencast host --approve`, the host page's toggle; C++ kPromptAwaitsApproval), and
 *  the one (status not_permitted) when the host rejects it. Hosts send them; clients recognize
 *  them to say what happened rather than a generic "busy". */
export const PROMPT_AWAITS_APPROVAL = "your prompt waits for the host's approval";
export const PROMPT_DECLINED = 'the host declined your prompt';

export type Event =
  | { seq: bigint; type: 'turn_started'; turn: bigint; role: TurnRole; author: string; at_ms: bigint }
  | { seq: bigint; type: 'text_delta'; turn: bigint; span: bigint; bytes: Uint8Array }
  | { seq: bigint; type: 'turn_ended'; turn: bigint; end: TurnEnd; reason: string; token_count: bigint; at_ms: bigint }
  | { seq: bigint; type: 'peer_joined'; peer: bigint; role: PeerRole; name: string }
  | { seq: bigint; type: 'peer_left'; peer: bigint }
  | { seq: bigint; type: 'session_meta'; title: string; model: string }
  | { seq: bigint; type: 'thinking_delta'; turn: bigint; span: bigint; bytes: Uint8Array };

/** The two kinds of a turn's streamed bytes: its answer and its reasoning. */
export type DeltaEvent = Extract<Event, { type: 'text_delta' | 'thinking_delta' }>;
export function isDelta(e: Event): e is DeltaEvent {
  return e.type === 'text_delta' || e.type === 'thinking_delta';
}

export type Frame =
  /** Version 5: `relay_capacity` (0 when absent or below version 5). */
  | { type: 'hello'; version: number; last_seq: bigint; display_name: string; relay_capacity?: bigint }
  /** Version 5: `relay_stream`, the link carries the relay stream (docs/PROTOCOL.md section 6). */
  | {
      type: 'welcome';
      version: number;
      session_id: Uint8Array;
      role: 'viewer' | 'participant';
      peer: bigint;
      head_seq: bigint;
      relay_stream?: boolean;
    }
  | { type: 'events'; events: Event[] }
  | { type: 'delta'; bytes: Uint8Array }
  | { type: 'prompt'; prompt_id: bigint; text: string }
  | { type: 'cancel'; turn: bigint }
  | { type: 'ping'; nonce: bigint }
  | { type: 'pong'; nonce: bigint }
  | { type: 'error'; code: bigint; text: string }
  | { type: 'bye'; reason: bigint; text: string }
  | { type: 'ack'; last_seq: bigint }
  | { type: 'thinking'; bytes: Uint8Array }
  /** Version 4: the host's Ed25519 signature over the signed transcript (section 5) of the log
   *  up to sequence `seq` (a turn_ended), which holds `turns` turns. Not a log event. */
  | { type: 'signature'; seq: bigint; turns: bigint; signature: Uint8Array }
  /** Version 5, host -> relay: place child `child` below you; `sdp` is its offer. */
  | { type: 'relay_intro'; child: bigint; sdp: string }
  /** Version 5, relay -> host: the relay's answer for child `child`. */
  | { type: 'relay_accept'; child: bigint; sdp: string }
  /** Version 5, relay -> host: the relay will not take child `child`. */
  | { type: 'relay_refuse'; child: bigint; reason: RelayRefuseReason }
  /** Version 5, either way: one trickled ICE candidate of child `child`'s connection. */
  | { type: 'relay_candidate'; child: bigint; mline_index: number; mid: string; candidate: string }
  /** Version 5, relay -> host: a child the relay had accepted is gone (once per child). */
  | { type: 'relay_child_gone'; child: bigint }
  /** Version 5, either way between the host and a relay: a route seal for (host -> relay) or
   *  from (relay -> host) the relay's child `child`, which relays too (docs/PROTOCOL.md section
   *  6, "Relays below relays"). The relay passes it on unopened. */
  | { type: 'relay_route'; child: bigint; sealed: Uint8Array }
  /** Version 5, either way between a relay and its child: a route seal, one hop on. */
  | { type: 'relay_routed'; sealed: Uint8Array }
  /** Version 5, relay -> host, only inside a route seal: relays for `capacity` children. */
  | { type: 'relay_offer'; capacity: bigint };

export const RELAY_REFUSE_REASONS = ['refused', 'full', 'bad_offer', 'leaving'] as const;
export type RelayRefuseReason = (typeof RELAY_REFUSE_REASONS)[number];
/** The introduction frames' field bounds (docs/PROTOCOL.md section 4.3). */
export const MAX_RELAY_SDP_BYTES = 32 * 1024;
/** A relay_offer's capacity: 1..64 (kMaxRelayOfferCapacity). */
export const MAX_RELAY_OFFER_CAPACITY = 64n;
export const MAX_RELAY_MID_BYTES = 32;
export const MAX_RELAY_CANDIDATE_BYTES = 1024;

/** The C++ check_relay_* rules: a length out of bounds is string_too_long, a byte outside the
 *  field's character set invalid_utf8. */
function checkRelaySdp(b: Uint8Array): void {
  if (b.length === 0 || b.length > MAX_RELAY_SDP_BYTES) err('string_too_long');
  if (b.includes(0) || decodeUtf8(b) === null) err('invalid_utf8');
}
function checkPrintable(b: Uint8Array, min: number, max: number): void {
  if (b.length < min || b.length > max) err('string_too_long');
  for (const c of b) if (c < 0x20 || c > 0x7e) err('invalid_utf8');
}

// ---------------------------------------------------------------- encoding

class Writer {
  private parts: number[] = [];
  private chunks: Uint8Array[] = [];
  byte(b: number): void {
    this.parts.push(b);
  }
  varint(v: bigint): void {
    if (v < 0n || v > U64_MAX) throw new RangeError('varint out of range');
    while (v >= 0x80n) {
      this.parts.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.parts.push(Number(v));
  }
  zigzag(v: bigint): void {
    const s = BigInt.asIntN(64, v);
    this.varint(BigInt.asUintN(64, (s << 1n) ^ (s >> 63n)));
  }
  raw(bytes: Uint8Array): void {
    this.flush();
    this.chunks.push(bytes);
  }
  bytes(bytes: Uint8Array): void {
    this.varint(BigInt(bytes.length));
    this.raw(bytes);
  }
  label(text: string): void {
    const b = utf8(text);
    if (b.length > MAX_LABEL_BYTES) throw new FrameError('string_too_long');
    this.bytes(b);
  }
  private flush(): void {
    if (this.parts.length) {
      this.chunks.push(Uint8Array.from(this.parts));
      this.parts = [];
    }
  }
  finish(): Uint8Array {
    this.flush();
    return concat(...this.chunks);
  }
}

function enumIndex<T extends string>(values: readonly T[], v: T): bigint {
  const i = values.indexOf(v);
  if (i < 0) throw new FrameError('bad_enum');
  return BigInt(i);
}

function writeEvent(w: Writer, e: Event): void {
  switch (e.type) {
    case 'turn_started':
      w.byte(1);
      w.varint(e.turn);
      w.varint(enumIndex(TURN_ROLES, e.role));
      w.label(e.author);
      w.zigzag(e.at_ms);
      break;
    case 'text_delta':
    case 'thinking_delta':
      if (e.span < 1n) throw new FrameError('bad_span');
      w.byte(e.type === 'text_delta' ? 2 : 7);
      w.varint(e.turn);
      w.varint(e.span);
      w.bytes(e.bytes);
      break;
    case 'turn_ended':
      w.byte(3);
      w.varint(e.turn);
      w.varint(enumIndex(TURN_ENDS, e.end));
      w.label(e.reason);
      w.varint(e.token_count);
      w.zigzag(e.at_ms);
      break;
    case 'peer_joined':
      w.byte(4);
      w.varint(e.peer);
      w.varint(enumIndex(PEER_ROLES, e.role));
      w.label(e.name);
      break;
    case 'peer_left':
      w.byte(5);
      w.varint(e.peer);
      break;
    case 'session_meta':
      w.byte(6);
      w.label(e.title);
      w.label(e.model);
      break;
  }
}

/** The bytes of one event as an events frame carries it (the host's batching counts them). */
export function encodeEvent(e: Event): Uint8Array {
  const w = new Writer();
  writeEvent(w, e);
  return w.finish();
}

export function varintSize(v: bigint): number {
  let n = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    n += 1;
  }
  return n;
}

/** Type byte, first_seq and count of an events frame. */
export function eventsHeaderSize(firstSeq: bigint, count: number): number {
  return 1 + varintSize(firstSeq) + varintSize(BigInt(count));
}

/** A text_delta event of `length` bytes, as encoded. */
export function deltaEventSize(turn: bigint, span: bigint, length: number): number {
  return 1 + varintSize(turn) + varintSize(span) + varintSize(BigInt(length)) + length;
}

export function eventSize(e: Event): number {
  return isDelta(e) ? deltaEventSize(e.turn, e.span, e.bytes.length) : encodeEvent(e).length;
}

export function encodeFrame(f: Frame): Uint8Array {
  const w = new Writer();
  switch (f.type) {
    case 'hello':
      w.byte(1);
      w.varint(BigInt(f.version));
      w.varint(f.last_seq);
      w.label(f.display_name);
      if (f.version < RELAY_VERSION && (f.relay_capacity ?? 0n) !== 0n) throw new FrameError('bad_enum');
      if (f.version >= RELAY_VERSION) w.varint(f.relay_capacity ?? 0n);
      break;
    case 'welcome':
      if (f.session_id.length !== 16) throw new RangeError('session id must be 16 bytes');
      w.byte(2);
      w.varint(BigInt(f.version));
      w.raw(f.session_id);
      w.varint(enumIndex(['viewer', 'participant'], f.role));
      w.varint(f.peer);
      w.varint(f.head_seq);
      if (f.version < RELAY_VERSION && f.relay_stream) throw new FrameError('bad_enum');
      if (f.version >= RELAY_VERSION) w.varint(f.relay_stream ? 1n : 0n);
      break;
    case 'events': {
      if (f.events.length === 0) throw new FrameError('empty_batch');
      w.byte(3);
      let seq = f.events[0].seq;
      if (seq < 1n) throw new FrameError('bad_sequence');
      w.varint(seq);
      w.varint(BigInt(f.events.length));
      for (const e of f.events) {
        if (e.seq !== seq) throw new FrameError('bad_sequence');
        writeEvent(w, e);
        seq += eventSpan(e);
      }
      break;
    }
    case 'delta':
      w.byte(4);
      w.raw(f.bytes);
      break;
    case 'thinking':
      w.byte(12);
      w.raw(f.bytes);
      break;
    case 'prompt':
      w.byte(5);
      w.varint(f.prompt_id);
      w.bytes(utf8(f.text));
      break;
    case 'cancel':
      w.byte(6);
      w.varint(f.turn);
      break;
    case 'ping':
    case 'pong':
      w.byte(f.type === 'ping' ? 7 : 8);
      w.varint(f.nonce);
      break;
    case 'error':
      w.byte(9);
      w.varint(f.code);
      w.label(f.text);
      break;
    case 'bye':
      w.byte(10);
      w.varint(f.reason);
      w.label(f.text);
      break;
    case 'ack':
      w.byte(11);
      w.varint(f.last_seq);
      break;
    case 'signature':
      if (f.seq < 1n) throw new FrameError('bad_sequence');
      if (f.signature.length !== SIGNATURE_BYTES) throw new FrameError('truncated');
      w.byte(13);
      w.varint(f.seq);
      w.varint(f.turns);
      w.raw(f.signature);
      break;
    case 'relay_intro':
    case 'relay_accept': {
      const sdp = utf8(f.sdp);
      checkRelaySdp(sdp);
      w.byte(f.type === 'relay_intro' ? 0x0e : 0x0f);
      w.varint(f.child);
      w.bytes(sdp);
      break;
    }
    case 'relay_refuse':
      w.byte(0x10);
      w.varint(f.child);
      w.varint(enumIndex(RELAY_REFUSE_REASONS, f.reason));
      break;
    case 'relay_candidate': {
      const mid = utf8(f.mid);
      const candidate = utf8(f.candidate);
      checkPrintable(mid, 0, MAX_RELAY_MID_BYTES);
      checkPrintable(candidate, 1, MAX_RELAY_CANDIDATE_BYTES);
      if (!Number.isInteger(f.mline_index) || f.mline_index < 0 || f.mline_index > 0xffff) throw new FrameError('bad_enum');
      w.byte(0x11);
      w.varint(f.child);
      w.varint(BigInt(f.mline_index));
      w.bytes(mid);
      w.bytes(candidate);
      break;
    }
    case 'relay_child_gone':
      w.byte(0x14);
      w.varint(f.child);
      break;
    case 'relay_route':
      if (f.sealed.length === 0) throw new FrameError('truncated');
      w.byte(0x15);
      w.varint(f.child);
      w.raw(f.sealed);
      break;
    case 'relay_routed':
      if (f.sealed.length === 0) throw new FrameError('truncated');
      w.byte(0x16);
      w.raw(f.sealed);
      break;
    case 'relay_offer':
      if (f.capacity < 1n || f.capacity > MAX_RELAY_OFFER_CAPACITY) throw new FrameError('bad_enum');
      w.byte(0x17);
      w.varint(f.capacity);
      break;
  }
  const out = w.finish();
  if (out.length > MAX_FRAME_BYTES) throw new FrameError('oversized');
  return out;
}

// ---------------------------------------------------------------- decoding

class Reader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}
  get remaining(): number {
    return this.b.length - this.pos;
  }
  byte(): number {
    if (this.pos >= this.b.length) err('truncated');
    return this.b[this.pos++];
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; ; i++) {
      if (this.pos >= this.b.length) err('truncated');
      const byte = this.b[this.pos++];
      if (i === 9 && byte > 0x01) err('bad_varint');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) err('bad_varint');
        return result;
      }
      shift += 7n;
    }
  }
  zigzag(): bigint {
    const u = this.varint();
    return BigInt.asIntN(64, (u >> 1n) ^ -(u & 1n));
  }
  take(n: number): Uint8Array {
    if (n > this.remaining) err('truncated');
    const out = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  length(): number {
    const v = this.varint();
    if (v > BigInt(this.remaining)) err('truncated');
    return Number(v);
  }
  bytes(): Uint8Array {
    return this.take(this.length());
  }
  label(): string {
    const v = this.varint();
    if (v > BigInt(MAX_LABEL_BYTES)) err('string_too_long');
    const raw = this.take(Number(v));
    const s = decodeUtf8(raw);
    if (s === null) err('invalid_utf8');
    return s;
  }
  text(): string {
    const s = decodeUtf8(this.bytes());
    if (s === null) err('invalid_utf8');
    return s;
  }
  rest(): Uint8Array {
    const out = this.b.slice(this.pos);
    this.pos = this.b.length;
    return out;
  }
}

/** A `bytes` length with an upper bound, checked before the bytes are read (string_too_long),
 *  then against what is left (truncated), as the C++ Reader::bytes does. */
function boundedLength(r: Reader, max: number): number {
  const v = r.varint();
  if (v > BigInt(max)) err('string_too_long');
  if (v > BigInt(r.remaining)) err('truncated');
  return Number(v);
}

function readEnum<T>(r: Reader, values: readonly T[]): T {
  const v = r.varint();
  if (v >= BigInt(values.length)) err('bad_enum');
  return values[Number(v)];
}

function readVersion(r: Reader): number {
  const v = r.varint();
  if (v < BigInt(MIN_PROTOCOL_VERSION) || v > BigInt(PROTOCOL_VERSION)) err('unknown_version');
  return Number(v);
}

function readEvent(r: Reader, seq: bigint): Event {
  const type = r.byte();
  switch (type) {
    case 1: {
      const turn = r.varint();
      const role = readEnum(r, TURN_ROLES);
      const author = r.label();
      const at_ms = r.zigzag();
      return { seq, type: 'turn_started', turn, role, author, at_ms };
    }
    case 2:
    case 7: {
      const turn = r.varint();
      const span = r.varint();
      if (span === 0n) err('bad_span');
      const bytes = r.bytes();
      return { seq, type: type === 2 ? 'text_delta' : 'thinking_delta', turn, span, bytes };
    }
    case 3: {
      const turn = r.varint();
      const end = readEnum(r, TURN_ENDS);
      const reason = r.label();
      const token_count = r.varint();
      const at_ms = r.zigzag();
      return { seq, type: 'turn_ended', turn, end, reason, token_count, at_ms };
    }
    case 4: {
      const peer = r.varint();
      const role = readEnum(r, PEER_ROLES);
      const name = r.label();
      return { seq, type: 'peer_joined', peer, role, name };
    }
    case 5:
      return { seq, type: 'peer_left', peer: r.varint() };
    case 6: {
      const title = r.label();
      const model = r.label();
      return { seq, type: 'session_meta', title, model };
    }
  }
  err('unknown_event_type');
}

export function eventSpan(e: Event): bigint {
  return isDelta(e) ? e.span : 1n;
}

/** Stateless decoding of one frame (a delta frame stays a delta frame). */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length > MAX_FRAME_BYTES) err('oversized');
  if (bytes.length === 0) err('truncated');
  const r = new Reader(bytes);
  const type = r.byte();
  let frame: Frame;
  switch (type) {
    case 1: {
      const version = readVersion(r);
      const last_seq = r.varint();
      const display_name = r.label();
      frame = { type: 'hello', version, last_seq, display_name };
      if (version >= RELAY_VERSION) frame.relay_capacity = r.varint();
      break;
    }
    case 2: {
      const version = readVersion(r);
      const session_id = r.take(16);
      const role = readEnum(r, ['viewer', 'participant'] as const);
      const peer = r.varint();
      const head_seq = r.varint();
      frame = { type: 'welcome', version, session_id, role, peer, head_seq };
      if (version >= RELAY_VERSION) frame.relay_stream = readEnum(r, [false, true] as const);
      break;
    }
    case 3: {
      const first = r.varint();
      if (first === 0n) err('bad_sequence');
      const count = r.varint();
      if (count === 0n) err('empty_batch');
      const events: Event[] = [];
      let seq = first;
      for (let i = 0n; i < count; i++) {
        const e = readEvent(r, seq);
        // The event covers [seq, seq + span - 1]; that must stay within u64.
        const last = seq + eventSpan(e) - 1n;
        if (seq > U64_MAX || last > U64_MAX) err('bad_sequence');
        events.push(e);
        seq = last + 1n;
      }
      frame = { type: 'events', events };
      break;
    }
    case 4:
      return { type: 'delta', bytes: r.rest() };
    case 12:
      return { type: 'thinking', bytes: r.rest() };
    case 5: {
      const prompt_id = r.varint();
      const text = r.text();
      frame = { type: 'prompt', prompt_id, text };
      break;
    }
    case 6:
      frame = { type: 'cancel', turn: r.varint() };
      break;
    case 7:
    case 8:
      frame = { type: type === 7 ? 'ping' : 'pong', nonce: r.varint() };
      break;
    case 9:
    case 10: {
      const code = r.varint();
      const text = r.label();
      frame = type === 9 ? { type: 'error', code, text } : { type: 'bye', reason: code, text };
      break;
    }
    case 11:
      frame = { type: 'ack', last_seq: r.varint() };
      break;
    case 13: {
      const seq = r.varint();
      if (seq === 0n) err('bad_sequence');
      const turns = r.varint();
      frame = { type: 'signature', seq, turns, signature: r.take(SIGNATURE_BYTES) };
      break;
    }
    case 0x0e:
    case 0x0f: {
      const child = r.varint();
      const sdp = r.take(boundedLength(r, MAX_RELAY_SDP_BYTES));
      checkRelaySdp(sdp);
      frame = { type: type === 0x0e ? 'relay_intro' : 'relay_accept', child, sdp: decodeUtf8(sdp)! };
      break;
    }
    case 0x10: {
      const child = r.varint();
      frame = { type: 'relay_refuse', child, reason: readEnum(r, RELAY_REFUSE_REASONS) };
      break;
    }
    case 0x11: {
      const child = r.varint();
      const index = r.varint();
      if (index > 0xffffn) err('bad_enum');
      const mid = r.take(boundedLength(r, MAX_RELAY_MID_BYTES));
      checkPrintable(mid, 0, MAX_RELAY_MID_BYTES);
      const candidate = r.take(boundedLength(r, MAX_RELAY_CANDIDATE_BYTES));
      checkPrintable(candidate, 1, MAX_RELAY_CANDIDATE_BYTES);
      frame = { type: 'relay_candidate', child, mline_index: Number(index), mid: decodeUtf8(mid)!, candidate: decodeUtf8(candidate)! };
      break;
    }
    case 0x14:
      frame = { type: 'relay_child_gone', child: r.varint() };
      break;
    case 0x15: {
      const child = r.varint();
      if (r.remaining === 0) err('truncated'); // nothing sealed
      frame = { type: 'relay_route', child, sealed: r.rest() };
      break;
    }
    case 0x16:
      if (r.remaining === 0) err('truncated');
      frame = { type: 'relay_routed', sealed: r.rest() };
      break;
    case 0x17: {
      const capacity = r.varint();
      if (capacity < 1n || capacity > MAX_RELAY_OFFER_CAPACITY) err('bad_enum');
      frame = { type: 'relay_offer', capacity };
      break;
    }
    default:
      err('unknown_frame_type');
  }
  if (r.remaining !== 0) err('trailing_bytes');
  return frame;
}

// ---------------------------------------------------------------- stateful client decoder

export interface Position {
  last_seq: bigint;
  open_turn: bigint | null;
}

/**
 * The client's decoder: checks sequences and turn rules, turns delta frames into text_delta
 * events, and keeps the position. A frame that fails is rejected whole (position unchanged).
 */
export class FrameDecoder {
  private pos: Position;

  constructor(start: Position = { last_seq: 0n, open_turn: null }) {
    this.pos = { ...start };
  }

  get position(): Position {
    return { ...this.pos };
  }

  decode(bytes: Uint8Array): Frame {
    const frame = decodeFrame(bytes);
    switch (frame.type) {
      case 'hello':
      case 'prompt':
      case 'cancel':
      case 'ack':
      case 'relay_accept':
      case 'relay_refuse':
      case 'relay_child_gone':
      case 'relay_offer':
        return err('unexpected_frame');
      case 'delta':
      case 'thinking': {
        if (this.pos.open_turn === null) err('no_open_turn');
        if (this.pos.last_seq === U64_MAX) err('bad_sequence');
        const seq = this.pos.last_seq + 1n;
        const type = frame.type === 'delta' ? 'text_delta' : 'thinking_delta';
        const event: Event = { seq, type, turn: this.pos.open_turn, span: 1n, bytes: frame.bytes };
        this.pos = { last_seq: seq, open_turn: this.pos.open_turn };
        return { type: 'events', events: [event] };
      }
      case 'events': {
        if (frame.events[0].seq !== this.pos.last_seq + 1n) err('sequence_gap');
        let open = this.pos.open_turn;
        let last = this.pos.last_seq;
        for (const e of frame.events) {
          switch (e.type) {
            case 'turn_started':
              if (open !== null) err('turn_already_open');
              open = e.turn;
              break;
            case 'text_delta':
            case 'thinking_delta':
            case 'turn_ended':
              if (open === null) err('no_open_turn');
              if (open !== e.turn) err('turn_mismatch');
              if (e.type === 'turn_ended') open = null;
              break;
            default:
              break;
          }
          last = e.seq + eventSpan(e) - 1n;
        }
        this.pos = { last_seq: last, open_turn: open };
        return frame;
      }
      default:
        return frame;
    }
  }
}

// ---------------------------------------------------------------- a child's link to its relay

/** The version of a child's link to its relay (docs/PROTOCOL.md section 6, "Introducing a child
 *  to its relay"): relay_hello and relay_welcome exist from version 5 on, the version this client
 *  speaks on such links (its host links stay at PROTOCOL_VERSION). */
export const RELAY_LINK_VERSION = 5;
export const RELAY_HELLO = 0x12;
export const RELAY_WELCOME = 0x13;
/** relay_routed: a route seal on a relay <-> child link (section 6, "Relays below relays"). */
export const RELAY_ROUTED = 0x16;
export const CHAIN_HASH_BYTES = 32;

/** child -> relay, the first frame on the link: the last record the child verified (0 for none)
 *  and the chain hash it holds there (the genesis for 0; all zero when it holds events up to
 *  last_index without a chain position, or nothing and no session yet). */
export interface RelayHello {
  version: number;
  last_index: bigint;
  chain_hash: Uint8Array;
}

/** relay -> child: the session the relay forwards and its own last verified record. */
export interface RelayWelcome {
  version: number;
  session_id: Uint8Array;
  head_index: bigint;
}

function readRelayVersion(r: Reader): number {
  const v = r.varint();
  if (v < BigInt(RELAY_LINK_VERSION) || v > BigInt(RELAY_LINK_VERSION)) err('unknown_version');
  return Number(v);
}

function startRelayFrame(bytes: Uint8Array, type: number): Reader {
  if (bytes.length > MAX_FRAME_BYTES) err('oversized');
  if (bytes.length === 0) err('truncated');
  const r = new Reader(bytes);
  if (r.byte() !== type) err('unexpected_frame');
  return r;
}

export function encodeRelayHello(f: RelayHello): Uint8Array {
  if (f.version !== RELAY_LINK_VERSION) throw new FrameError('unknown_version');
  if (f.chain_hash.length !== CHAIN_HASH_BYTES) throw new FrameError('truncated');
  const w = new Writer();
  w.byte(RELAY_HELLO);
  w.varint(BigInt(f.version));
  w.varint(f.last_index);
  w.raw(f.chain_hash);
  return w.finish();
}

/** Strict: version first (5 only), then the fields, nothing after them. */
export function decodeRelayHello(bytes: Uint8Array): RelayHello {
  const r = startRelayFrame(bytes, RELAY_HELLO);
  const version = readRelayVersion(r);
  const last_index = r.varint();
  const chain_hash = r.take(CHAIN_HASH_BYTES);
  if (r.remaining !== 0) err('trailing_bytes');
  return { version, last_index, chain_hash };
}

export function encodeRelayWelcome(f: RelayWelcome): Uint8Array {
  if (f.version !== RELAY_LINK_VERSION) throw new FrameError('unknown_version');
  if (f.session_id.length !== 16) throw new RangeError('session id must be 16 bytes');
  const w = new Writer();
  w.byte(RELAY_WELCOME);
  w.varint(BigInt(f.version));
  w.raw(f.session_id);
  w.varint(f.head_index);
  return w.finish();
}

/** Strict: version first (5 only), then the fields, nothing after them. */
export function decodeRelayWelcome(bytes: Uint8Array): RelayWelcome {
  const r = startRelayFrame(bytes, RELAY_WELCOME);
  const version = readRelayVersion(r);
  const session_id = r.take(16);
  const head_index = r.varint();
  if (r.remaining !== 0) err('trailing_bytes');
  return { version, session_id, head_index };
}
