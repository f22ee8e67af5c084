// The client's view of a session: the stateful frame decoder, the transcript by turns (with
// UTF-8 reassembly across deltas) and the frames a client sends. No I/O here.
import {
  ACK_BYTES,
  ACK_DELAY_MS,
  decodeFrame,
  encodeFrame,
  eventSpan,
  FrameError,
  RELAY_VERSION,
  FrameDecoder,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  STATUS,
  type Event,
  type Frame,
  type Position,
  type TurnEnd,
  type TurnRole,
} from '../protocol/frames';
import { equalBytes } from '../protocol/bytes';
import { RELAY_CHECKPOINT, RELAY_RECORD, RelayError, RelayVerifier, type RelayPosition } from '../protocol/relay';

const EVENTS_TYPE = 0x03;
const DELTA_TYPE = 0x04;
const THINKING_TYPE = 0x0c;

/** A relay's children are bounded here whatever it offers (the native relay's bound too). */
export const MAX_RELAY_CAPACITY = 64;

export interface Turn {
  id: bigint;
  seq: bigint; // sequence of its turn_started
  role: TurnRole;
  author: string;
  text: string;
  /** The model's reasoning before its answer (protocol version 3), shown apart from the text. */
  thinking: string;
  open: boolean;
  end?: TurnEnd;
  reason?: string;
  atMs: bigint;
}

export interface PeerInfo {
  name: string;
  role: 'viewer' | 'participant' | 'host';
}

/** The session log as a reader sees it: turns in order, peers present, title and model. */
export class Transcript {
  readonly turns: Turn[] = [];
  private readonly byId = new Map<bigint, Turn>();
  private readonly decoders = new Map<bigint, TextDecoder>();
  private readonly thinkingDecoders = new Map<bigint, TextDecoder>();
  readonly peers = new Map<bigint, PeerInfo>();
  title = '';
  model = '';

  turn(id: bigint): Turn | undefined {
    return this.byId.get(id);
  }

  apply(e: Event): Turn | null {
    switch (e.type) {
      case 'turn_started': {
        const t: Turn = { id: e.turn, seq: e.seq, role: e.role, author: e.author, text: '', thinking: '', open: true, atMs: e.at_ms };
        this.turns.push(t);
        this.byId.set(e.turn, t);
        this.decoders.set(e.turn, new TextDecoder('utf-8'));
        return t;
      }
      case 'text_delta':
      case 'thinking_delta': {
        const t = this.byId.get(e.turn);
        if (!t) return null;
        const decoders = e.type === 'text_delta' ? this.decoders : this.thinkingDecoders;
        let d = decoders.get(e.turn);
        if (!d) {
          d = new TextDecoder('utf-8');
          decoders.set(e.turn, d);
        }
        // Stream mode: a character split across deltas is held until its last byte arrives.
        const text = d.decode(e.bytes, { stream: true });
        if (e.type === 'text_delta') t.text += text;
        else t.thinking += text;
        return t;
      }
      case 'turn_ended': {
        const t = this.byId.get(e.turn);
        if (!t) return null;
        const d = this.decoders.get(e.turn);
        if (d) t.text += d.decode();
        this.decoders.delete(e.turn);
        const th = this.thinkingDecoders.get(e.turn);
        if (th) t.thinking += th.decode();
        this.thinkingDecoders.delete(e.turn);
        t.open = false;
        t.end = e.end;
        t.reason = e.reason;
        return t;
      }
      case 'peer_joined':
        this.peers.set(e.peer, { name: e.name, role: e.role });
        return null;
      case 'peer_left':
        this.peers.delete(e.peer);
        return null;
      case 'session_meta':
        this.title = e.title;
        this.model = e.model;
        return null;
    }
  }
}

/** The host's latest signature over the transcript (protocol version 4): it covers the log up to
 *  `seq` (a turn_ended), which holds `turns` turns. */
export interface HostSignature {
  seq: bigint;
  turns: bigint;
  signature: Uint8Array; // 64 bytes
}

export type SessionEvent =
  | { type: 'signed'; signature: HostSignature }
  | { type: 'welcomed'; role: 'viewer' | 'participant'; peer: bigint; headSeq: bigint; resumed: boolean }
  | { type: 'session_changed' }
  | { type: 'applied'; events: Event[]; turns: Turn[] }
  | { type: 'host_error'; code: bigint; text: string }
  | { type: 'host_left'; reason: bigint; text: string }
  | { type: 'pong'; nonce: bigint }
  | { type: 'ping'; nonce: bigint };

/** Cleans a display name as the native client does: printable, at most 64 bytes, never empty. */
export function cleanDisplayName(name: string): string {
  let out = '';
  let bytes = 0;
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xdfff)) continue;
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + size > 64) break;
    out += ch;
    bytes += size;
  }
  out = out.trim();
  return out.length ? out : 'guest';
}

export function positionAfter(events: Event[], start: Position = { last_seq: 0n, open_turn: null }): Position {
  let { last_seq, open_turn } = start;
  for (const e of events) {
    if (e.type === 'turn_started') open_turn = e.turn;
    else if (e.type === 'turn_ended') open_turn = null;
    last_seq = e.seq + eventSpan(e) - 1n;
  }
  return { last_seq, open_turn };
}

export class ClientSession {
  decoder: FrameDecoder;
  transcript = new Transcript();
  sessionId: Uint8Array | null;
  /** The latest signature the host sent (kept with the stored copy), null before any. */
  signature: HostSignature | null = null;
  role: 'viewer' | 'participant' | null = null;
  peer: bigint | null = null;
  welcomed = false;
  /** The last relay chain position this client verified itself (under a relay parent), kept
   *  while it is the position it holds: a next relay link resumes from it (relay_hello). */
  relayVerified: RelayPosition | null = null;
  /** The current link is to a relay parent (docs/PROTOCOL.md section 6), not to the host. */
  viaRelay = false;
  /** How many children this client offers to relay for (version 5 hello; 0: none). */
  relayCapacity = 0;
  /** The key relay streams are verified under (the invite link's host key). */
  private relayHostKey: Uint8Array | null = null;
  /** The host's welcome set relay_stream: this link carries the log as relay records. */
  relayStream = false;
  /** The verifier of the host link's relay stream; null while the host's anchor is awaited. */
  private hostVerifier: RelayVerifier | null = null;
  private awaitingAnchor = false;
  private nextPromptId = 1n;
  /** Offered in hello; falls back to 1 for good when a host refuses it as unsupported. */
  private helloVersion = PROTOCOL_VERSION;
  /** The version the host welcomed this link with (0 before the welcome). */
  linkVersion = 0;
  private ackedSeq = 0n;
  private unackedBytes = 0;
  private lastAckMs: number | null = null;

  constructor(
    readonly name: string,
    restored?: { sessionId: Uint8Array; events: Event[] },
  ) {
    this.sessionId = restored ? restored.sessionId : null;
    const events = restored ? restored.events : [];
    for (const e of events) this.transcript.apply(e);
    this.decoder = new FrameDecoder(positionAfter(events));
  }

  /** Takes in the stored copy (restored while the join started): only before the hello, whose
   *  resume position must be the one of what the page shows. */
  restore(sessionId: Uint8Array, events: Event[], signature: HostSignature | null = null): void {
    if (this.welcomed || this.sessionId || this.decoder.position.last_seq !== 0n) throw new Error('restore after the session started');
    this.sessionId = sessionId;
    this.signature = signature;
    this.transcript = new Transcript();
    for (const e of events) this.transcript.apply(e);
    this.decoder = new FrameDecoder(positionAfter(events));
  }

  get position(): Position {
    return this.decoder.position;
  }

  /** Offers to relay for up to `capacity` children (0..64) from the next hello on; a host that
   *  takes the offer streams the relay stream, verified under `hostKey` (docs/PROTOCOL.md 6). */
  offerRelay(capacity: number, hostKey: Uint8Array): void {
    this.relayCapacity = Math.max(0, Math.min(MAX_RELAY_CAPACITY, Math.floor(capacity)));
    this.relayHostKey = hostKey;
  }

  /** The verified chain position of the host link's relay stream (null before any). */
  get hostRelayVerified(): RelayPosition | null {
    return this.hostVerifier?.verified ?? null;
  }

  /** Forget everything (another session, or the host lost its store). */
  reset(): void {
    this.decoder = new FrameDecoder();
    this.transcript = new Transcript();
    this.sessionId = null;
    this.signature = null;
    this.relayVerified = null;
    this.welcomed = false;
    this.viaRelay = false;
    this.linkVersion = 0;
    this.relayStream = false;
    this.hostVerifier = null;
    this.awaitingAnchor = false;
  }

  /** A relay parent welcomed us (client/relay-child.ts checked its session id): a viewer's link
   *  that carries the host's records, with no acks (linkVersion 0) and nothing to prompt. */
  relayWelcomed(sessionId: Uint8Array): void {
    this.sessionId = sessionId;
    this.role = 'viewer';
    this.peer = null;
    this.welcomed = true;
    this.viaRelay = true;
    this.linkVersion = 0;
  }

  /** The link ended: nothing more may be sent (or acknowledged) until the next welcome. */
  linkLost(): void {
    this.welcomed = false;
    this.viaRelay = false;
    this.linkVersion = 0;
    // Records not yet covered by a signature are dropped: the next link sends them again after
    // the verified position.
    this.relayStream = false;
    this.hostVerifier = null;
    this.awaitingAnchor = false;
  }

  hello(): Uint8Array {
    const hello: Frame = { type: 'hello', version: this.helloVersion, last_seq: this.decoder.position.last_seq, display_name: this.name };
    if (this.helloVersion >= RELAY_VERSION) hello.relay_capacity = this.relayHostKey ? BigInt(this.relayCapacity) : 0n;
    return encodeFrame(hello);
  }

  /** Decodes one frame from the host; throws FrameError on a bad frame (position unchanged), and
   *  RelayError on a relay stream that does not verify. */
  receive(bytes: Uint8Array): SessionEvent[] {
    if (bytes.length && bytes[0] >= RELAY_RECORD && bytes[0] <= RELAY_CHECKPOINT) return this.receiveRelay(bytes);
    if (bytes.length && (bytes[0] === 0x0e || bytes[0] === 0x11 || bytes[0] === 0x15 || bytes[0] === 0x16)) {
      // relay_intro, relay_candidate, relay_route and relay_routed: a relaying joiner takes
      // them off its host link first.
      throw new FrameError('unexpected_frame');
    }
    const frame: Frame = this.decoder.decode(bytes);
    switch (frame.type) {
      case 'events': {
        this.unackedBytes += bytes.length;
        const turns: Turn[] = [];
        for (const e of frame.events) {
          const t = this.transcript.apply(e);
          if (t && !turns.includes(t)) turns.push(t);
        }
        return [{ type: 'applied', events: frame.events, turns }];
      }
      case 'welcome': {
        if (this.sessionId && !equalBytes(this.sessionId, frame.session_id)) return [{ type: 'session_changed' }];
        const resumed = this.sessionId !== null || this.decoder.position.last_seq > 0n;
        this.sessionId = frame.session_id;
        this.role = frame.role;
        this.peer = frame.peer;
        this.welcomed = true;
        this.linkVersion = frame.version;
        // The host counts from the hello's last_seq on this link.
        this.ackedSeq = this.decoder.position.last_seq;
        this.unackedBytes = 0;
        this.lastAckMs = null;
        if (frame.relay_stream && !this.relayHostKey) throw new FrameError('unexpected_frame'); // never offered
        this.relayStream = !!frame.relay_stream;
        this.hostVerifier = null;
        this.awaitingAnchor = false;
        if (this.relayStream) {
          const held = this.decoder.position.last_seq;
          const verified = this.relayVerified;
          if (verified && verified.index === held) {
            // Resuming what this client verified itself: the host's anchor must match it.
            this.hostVerifier = new RelayVerifier(frame.session_id, this.relayHostKey!, verified);
            this.awaitingAnchor = held > 0n;
          } else if (held === 0n) {
            this.hostVerifier = new RelayVerifier(frame.session_id, this.relayHostKey!);
          } else {
            this.awaitingAnchor = true; // events held without a chain position: start from the anchor
          }
        }
        return [{ type: 'welcomed', role: frame.role, peer: frame.peer, headSeq: frame.head_seq, resumed }];
      }
      case 'error':
        // A host older than this client: say hello one version lower from the next link on (a
        // version 2 host keeps acks; a version 1 host refuses once more).
        if (frame.code === STATUS.unsupported_version && !this.welcomed && this.helloVersion > MIN_PROTOCOL_VERSION) {
          this.helloVersion -= 1;
        }
        return [{ type: 'host_error', code: frame.code, text: frame.text }];
      case 'bye':
        this.welcomed = false;
        return [{ type: 'host_left', reason: frame.reason, text: frame.text }];
      case 'signature': {
        // The latest one counts; an older one (a stale link's) never replaces it.
        if (this.signature && frame.seq < this.signature.seq) return [];
        this.signature = { seq: frame.seq, turns: frame.turns, signature: frame.signature };
        return [{ type: 'signed', signature: this.signature }];
      }
      case 'ping':
        return [{ type: 'ping', nonce: frame.nonce }];
      case 'pong':
        return [{ type: 'pong', nonce: frame.nonce }];
      default:
        return [];
    }
  }

  /** A relay frame (0x20-0x22) on the host link (docs/PROTOCOL.md section 6, "A relay link"):
   *  verified, and each record a signature covers decoded as the frame a level peer gets for it. */
  private receiveRelay(bytes: Uint8Array): SessionEvent[] {
    if (!this.welcomed || !this.relayStream || !this.sessionId || !this.relayHostKey || this.viaRelay) {
      throw new FrameError('unexpected_frame');
    }
    const held = this.decoder.position.last_seq;
    if (this.awaitingAnchor) {
      // For last_seq L >= 1 the host sends a checkpoint for L first. A client that verified up to
      // L itself feeds it to its verifier (the chain must match); one that held the plain stream
      // starts a verifier from it.
      if (this.hostVerifier) {
        this.hostVerifier.accept(bytes); // a checkpoint for its own position: chain_mismatch otherwise
        if (this.hostVerifier.verified.index !== held) throw new RelayError('out_of_order');
      } else {
        const anchored = RelayVerifier.fromAnchor(this.sessionId, this.relayHostKey, bytes);
        if (anchored.verified.index !== held) throw new RelayError('out_of_order');
        this.hostVerifier = anchored;
      }
      this.awaitingAnchor = false;
      this.relayVerified = this.hostVerifier.verified;
      return [];
    }
    const released = this.hostVerifier!.accept(bytes);
    this.unackedBytes += bytes.length;
    const out: SessionEvent[] = [];
    for (const record of released) {
      // Index = sequence: a record is the frame a level peer gets for that event.
      if (record.index !== this.decoder.position.last_seq + 1n) throw new FrameError('sequence_gap');
      const type = record.payload.length ? record.payload[0] : -1;
      if (type !== EVENTS_TYPE && type !== DELTA_TYPE && type !== THINKING_TYPE) throw new FrameError('unexpected_frame');
      if (type === EVENTS_TYPE) {
        const f = decodeFrame(record.payload);
        if (f.type !== 'events' || f.events.length !== 1) throw new FrameError('unexpected_frame');
      }
      const events = this.receive(record.payload);
      if (this.decoder.position.last_seq !== record.index) throw new FrameError('unexpected_frame');
      out.push(...events);
    }
    const v = this.hostVerifier!.verified;
    if (v.index === this.decoder.position.last_seq) this.relayVerified = v;
    return out;
  }

  /**
   * Acknowledgement (protocol version 2), to call after every receive() and when ackDueMs()
   * passes: an ack frame when one is due (events held but not acknowledged on this link, and
   * ACK_DELAY_MS passed since the last ack or ACK_BYTES arrived since), else null.
   */
  takeAck(nowMs: number): Uint8Array | null {
    const held = this.decoder.position.last_seq;
    if (!this.welcomed || this.linkVersion < 2 || held <= this.ackedSeq) return null;
    const delayPassed = this.lastAckMs === null || nowMs - this.lastAckMs >= ACK_DELAY_MS;
    if (!delayPassed && this.unackedBytes < ACK_BYTES) return null;
    this.ackedSeq = held;
    this.unackedBytes = 0;
    this.lastAckMs = nowMs;
    return encodeFrame({ type: 'ack', last_seq: held });
  }

  /** When the next ack falls due if nothing else arrives; null when nothing awaits one. */
  ackDueMs(): number | null {
    if (!this.welcomed || this.linkVersion < 2 || this.decoder.position.last_seq <= this.ackedSeq) return null;
    return this.lastAckMs === null ? 0 : this.lastAckMs + ACK_DELAY_MS;
  }

  canPrompt(): boolean {
    return this.welcomed && this.role === 'participant';
  }

  prompt(text: string): Uint8Array {
    if (!this.canPrompt()) throw new Error(this.welcomed ? 'this link is for viewers: it cannot prompt' : 'not connected to the host yet');
    const id = this.nextPromptId++;
    return encodeFrame({ type: 'prompt', prompt_id: id, text });
  }

  cancel(): Uint8Array | null {
    const turn = this.decoder.position.open_turn;
    if (!this.canPrompt() || turn === null) return null;
    return encodeFrame({ type: 'cancel', turn });
  }

  static ping(nonce: bigint): Uint8Array {
    return encodeFrame({ type: 'ping', nonce });
  }

  static pong(nonce: bigint): Uint8Array {
    return encodeFrame({ type: 'pong', nonce });
  }

  static bye(): Uint8Array {
    return encodeFrame({ type: 'bye', reason: STATUS.normal, text: 'leaving' });
  }

  static protocolError(text: string): Uint8Array {
    return encodeFrame({ type: 'error', code: STATUS.protocol_error, text: text.slice(0, 200) });
  }
}
