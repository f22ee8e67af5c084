// The browser as a relay's child (docs/PROTOCOL.md section 6, "Introducing a child to its
// relay"): the link's logic without I/O. It says relay_hello from what the session holds, takes
// the relay's welcome, runs every relay frame through a RelayVerifier of its own and hands each
// released record (a section 4 host frame) to the same ClientSession the host link feeds. Nothing
// the relay says is trusted: any defect, a bye or a silence ends the link (RelayChildFailure),
// and the joiner goes back to the host. Mirrors the child's side of src/core/session/client_session.cpp.
import { equalBytes } from '../protocol/bytes';
import {
  CHAIN_HASH_BYTES,
  decodeFrame,
  decodeRelayWelcome,
  encodeFrame,
  encodeRelayHello,
  eventSpan,
  FrameError,
  RELAY_LINK_VERSION,
  RELAY_WELCOME,
} from '../protocol/frames';
import { RELAY_CHECKPOINT, RELAY_RECORD, RelayError, RelayVerifier, relayChainGenesis, type RelayPosition } from '../protocol/relay';
import type { ClientSession, SessionEvent } from './session';

/** A child pings its relay this often and gives it up after this much silence (the relay answers
 *  every ping, so silence means a stalled or dead parent). */
export const RELAY_PING_EVERY_MS = 250;
export const RELAY_SILENCE_MS = 1000;

export type RelayChildFailureCode =
  | 'frame' // a frame that does not decode, or is not allowed on this link (detail: the error)
  | 'relay' // the verifier refused the stream (detail: RelayError code): tampering, a drop, a replay
  | 'wrong_session' // the relay serves another session than the one this client holds
  | 'relay_left' // the relay said bye
  | 'stalled'; // nothing from the relay for RELAY_SILENCE_MS

export class RelayChildFailure extends Error {
  constructor(
    readonly code: RelayChildFailureCode,
    readonly detail: string,
  ) {
    super(`relay link: ${code}${detail ? `: ${detail}` : ''}`);
  }
}

const PING = 0x07;
const PONG = 0x08;
const ERROR = 0x09;
const BYE = 0x0a;
const EVENTS = 0x03;
const DELTA = 0x04;
const THINKING = 0x0c;

type Start = 'verified' | 'genesis' | 'anchor';

export class RelayChildLink {
  private start: Start | null = null;
  private verifier: RelayVerifier | null = null;
  private welcomedAt: bigint | null = null;
  private lastHeard: number;
  private lastPing: number;
  private pings = 0n;
  /** Records verified but not applied: this client held them already (an anchor below its last
   *  sequence). Counted for tests. */
  skipped = 0;

  constructor(
    private readonly session: ClientSession,
    private readonly hostKey: Uint8Array,
    nowMs: number,
  ) {
    this.lastHeard = nowMs;
    this.lastPing = nowMs;
  }

  get welcomed(): boolean {
    return this.welcomedAt !== null;
  }

  /** The chain position this link's verifier reached (null before the welcome, or while the
   *  anchor is awaited): the base a relaying client's own ring starts from. */
  get verified(): RelayPosition | null {
    return this.verifier?.verified ?? null;
  }

  /** Something else from the relay arrived (a relay_routed its owner took off the link first):
   *  the relay is alive. */
  heard(nowMs: number): void {
    this.lastHeard = nowMs;
  }

  /** The first frame on the link: the chain position this client can prove, else what it holds. */
  hello(): Uint8Array {
    const held = this.session.position.last_seq;
    const verified = this.session.relayVerified;
    const sessionId = this.session.sessionId;
    let last = 0n;
    let hash: Uint8Array = new Uint8Array(CHAIN_HASH_BYTES);
    if (sessionId && verified && verified.index === held) {
      this.start = held === 0n ? 'genesis' : 'verified';
      last = held;
      hash = verified.chain.slice();
    } else if (held > 0n) {
      this.start = 'anchor'; // events up to `held` without a chain position: the hash stays zero
      last = held;
    } else {
      this.start = 'genesis';
      if (sessionId) hash = relayChainGenesis(sessionId, this.hostKey);
      // No session yet (a first join): zero, and the session comes with the relay's welcome.
    }
    return encodeRelayHello({ version: RELAY_LINK_VERSION, last_index: last, chain_hash: hash });
  }

  /** A ping when one is due; throws `stalled` when the relay has been silent too long. */
  tick(nowMs: number): Uint8Array | null {
    if (nowMs - this.lastHeard > RELAY_SILENCE_MS) throw new RelayChildFailure('stalled', `silent for ${nowMs - this.lastHeard} ms`);
    if (nowMs - this.lastPing < RELAY_PING_EVERY_MS) return null;
    this.lastPing = nowMs;
    this.pings += 1n;
    return encodeFrame({ type: 'ping', nonce: this.pings });
  }

  /** One frame from the relay: what it changed in the session. Throws RelayChildFailure. */
  receive(bytes: Uint8Array, nowMs: number): SessionEvent[] {
    if (this.start === null) throw new RelayChildFailure('frame', 'a frame before our relay_hello');
    this.lastHeard = nowMs;
    const type = bytes.length ? bytes[0] : -1;
    if (type >= RELAY_RECORD && type <= RELAY_CHECKPOINT) {
      if (!this.welcomed) throw new RelayChildFailure('frame', 'a record before the welcome');
      return this.relayFrame(bytes);
    }
    if (type === RELAY_WELCOME) return this.welcome(bytes);
    if (type !== PONG && type !== ERROR && type !== BYE) {
      // A relay forwards the host's signed records only; besides them it welcomes, answers
      // pings, reports and says bye. Checked before decoding (events would move the position).
      throw new RelayChildFailure('frame', type === PING ? 'a ping from the relay' : 'unexpected_frame');
    }
    let frame;
    try {
      frame = decodeFrame(bytes);
    } catch (e) {
      throw new RelayChildFailure('frame', e instanceof FrameError ? e.code : String(e));
    }
    if (frame.type === 'bye') throw new RelayChildFailure('relay_left', frame.text);
    // A pong only proves the relay alive (lastHeard); a relay's error text is not the host's and
    // is not shown: it ends nothing by itself, a bye follows when it does.
    return [];
  }

  private welcome(bytes: Uint8Array): SessionEvent[] {
    if (this.welcomed) throw new RelayChildFailure('frame', 'a second welcome');
    let w;
    try {
      w = decodeRelayWelcome(bytes);
    } catch (e) {
      throw new RelayChildFailure('frame', e instanceof FrameError ? e.code : String(e));
    }
    const held = this.session.position.last_seq;
    const known = this.session.sessionId;
    if (known && !equalBytes(known, w.session_id)) throw new RelayChildFailure('wrong_session', '');
    if (w.head_index < held && this.start !== 'anchor') {
      // It welcomed a position it does not hold: it cannot serve us.
      throw new RelayChildFailure('frame', 'the relay is behind us');
    }
    // A first join takes the session id from its relay: the host's checkpoint signatures bind
    // it (the chain starts from it), so a wrong one fails verification at the first checkpoint.
    const resumed = known !== null || held > 0n;
    this.session.relayWelcomed(w.session_id);
    this.welcomedAt = held;
    if (this.start === 'verified') this.verifier = new RelayVerifier(w.session_id, this.hostKey, this.session.relayVerified!);
    else if (this.start === 'genesis') this.verifier = new RelayVerifier(w.session_id, this.hostKey);
    else this.verifier = null; // the anchor comes first
    return [{ type: 'welcomed', role: 'viewer', peer: 0n, headSeq: w.head_index, resumed }];
  }

  private relayFrame(bytes: Uint8Array): SessionEvent[] {
    const sessionId = this.session.sessionId!;
    const held = this.session.position.last_seq;
    try {
      if (!this.verifier) {
        // The relay anchors at the newest signed index at or below what we hold; the records
        // after it up to `held` are verified, not applied again.
        const anchored = RelayVerifier.fromAnchor(sessionId, this.hostKey, bytes);
        const at = anchored.verified.index;
        if (at === 0n || at > held) throw new RelayError('out_of_order');
        this.verifier = anchored;
        return [];
      }
      const released = this.verifier.accept(bytes);
      const out: SessionEvent[] = [];
      for (const record of released) {
        const last = this.session.position.last_seq;
        if (record.index <= last) {
          this.skipped += 1;
          continue;
        }
        if (record.index !== last + 1n) throw new RelayChildFailure('frame', 'sequence_gap');
        out.push(...this.apply(record.index, record.payload));
      }
      const v = this.verifier.verified;
      if (v.index === this.session.position.last_seq) this.session.relayVerified = v;
      return out;
    } catch (e) {
      if (e instanceof RelayError) throw new RelayChildFailure('relay', e.code);
      throw e;
    }
  }

  /** A verified record: the frame a level peer gets for event `index` (delta, thinking, or a
   *  one-event events frame), through the session's decoder (sequences, turn rules). */
  private apply(index: bigint, payload: Uint8Array): SessionEvent[] {
    const type = payload.length ? payload[0] : -1;
    if (type !== EVENTS && type !== DELTA && type !== THINKING) throw new RelayChildFailure('frame', 'unexpected_frame');
    try {
      if (type === EVENTS) {
        const f = decodeFrame(payload);
        if (f.type !== 'events') throw new FrameError('unexpected_frame');
        const first = f.events[0].seq;
        const lastEvent = f.events[f.events.length - 1];
        if (first !== index || lastEvent.seq + eventSpan(lastEvent) - 1n !== index) throw new FrameError('unexpected_frame');
      }
      const events = this.session.receive(payload);
      if (this.session.position.last_seq !== index) throw new FrameError('unexpected_frame');
      return events;
    } catch (e) {
      if (e instanceof FrameError) throw new RelayChildFailure('frame', e.code);
      throw e;
    }
  }
}
