// The browser as a relay (docs/PROTOCOL.md section 6, "Introducing a child to its relay"): a
// viewer whose hello offered a relay capacity and whose host link carries the relay stream. The
// host introduces children over that link (relay_intro, relay_candidate); for each one this makes
// an answering RTCPeerConnection (the page's ICE servers and DTLS certificate), answers through
// the host (relay_accept, relay_candidate) or refuses (relay_refuse), serves the child's
// relay_hello from a RelayFanout (protocol/relay-fanout.ts) and forwards every relay frame the
// host sends, in order. A child too slow for the stream (its send buffer past the bound) is
// dropped with bye slow_consumer; each accepted child that goes is reported once
// (relay_child_gone); when our own host link drops every child link is closed (bye
// resume_unavailable) and the children come back through the host. The native relay
// (src/client/join_client.cpp) behaves the same way.
import { decodeFrame, decodeRelayHello, encodeFrame, encodeRelayWelcome, FrameError, RELAY_HELLO, STATUS, type Frame } from '../protocol/frames';
import { RelayError, type RelayPosition } from '../protocol/relay';
import { RelayFanout } from '../protocol/relay-fanout';
import { equalBytes } from '../protocol/bytes';

/** At most this many children whatever was offered, and this many candidates from each. */
export const MAX_RELAY_CHILDREN = 64;
export const MAX_CHILD_CANDIDATES = 64;
/** A child whose data channel buffers more than this is too slow for the stream (the native
 *  PeerLink's max_buffered). */
export const MAX_CHILD_BUFFERED_BYTES = 4 * 1024 * 1024;

export interface RelayParentIO {
  /** Sends a frame on our link to the host; false when it is not open. */
  sendToHost(frame: Uint8Array): boolean;
  /** The configuration of our own link to the host: the same ICE servers and certificate. */
  rtcConfig(): RTCConfiguration;
  /** The number of children served changed (the status line says "relaying for N"). */
  onServedChanged(served: number): void;
}

export interface RelayParentOptions {
  /** A child must open and say relay_hello within this long. */
  openTimeoutMs: number;
  maxBufferedBytes: number;
}

const DEFAULTS: RelayParentOptions = { openTimeoutMs: 15000, maxBufferedBytes: MAX_CHILD_BUFFERED_BYTES };

interface Child {
  token: bigint;
  pc: RTCPeerConnection;
  dc: RTCDataChannel | null;
  remoteReady: Promise<void>;
  candidates: number;
  accepted: boolean; // relay_accept went to the host
  welcomed: boolean; // its relay_hello was served: live frames go to it
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class RelayParent {
  private readonly options: RelayParentOptions;
  private readonly children = new Map<bigint, Child>();
  private fanout: RelayFanout | null = null;
  /** Our host link is welcomed and carries the relay stream. */
  private linked = false;
  private leaving = false;
  private lastServed = 0;

  constructor(
    private readonly hostKey: Uint8Array,
    private readonly capacity: number,
    private readonly io: RelayParentIO,
    options: Partial<RelayParentOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  get served(): number {
    let n = 0;
    for (const c of this.children.values()) if (c.welcomed) n++;
    return n;
  }

  get childCount(): number {
    return this.children.size;
  }

  /** Our host link was welcomed with the relay stream: keep (or start) the ring and chain children
   *  are served from; it outlives links (what a resumed link sends again is skipped). */
  linkWelcomed(sessionId: Uint8Array, base: RelayPosition | null): void {
    if (!this.fanout || !equalBytes(this.fanout.sessionId, sessionId)) this.fanout = new RelayFanout(sessionId, this.hostKey);
    if (base) this.fanout.setBase(base);
    this.linked = true;
  }

  /** A relay frame from the host that our session accepted: into the ring, then to every
   *  welcomed child. */
  hostRelayFrame(bytes: Uint8Array, base: RelayPosition | null): void {
    if (!this.fanout || !this.linked) return;
    let added;
    try {
      added = this.fanout.add(bytes);
    } catch (e) {
      // Our stream no longer continues the ring (a host that keeps its order never does this):
      // a new ring; the children go back through the host.
      const id = this.fanout.sessionId;
      this.fanout = new RelayFanout(id, this.hostKey);
      if (base) this.fanout.setBase(base);
      for (const token of [...this.children.keys()]) {
        this.drop(token, STATUS.resume_unavailable, `the relay's stream restarted (${e instanceof RelayError ? e.code : String(e)})`);
      }
      return;
    }
    if (added !== 'forward') return;
    for (const c of [...this.children.values()]) if (c.welcomed) this.sendRelayFrame(c, bytes);
  }

  /** relay_intro, relay_candidate or relay_route from the host (taken off the host link before
   *  the session). */
  hostIntroFrame(frame: Frame): void {
    if (frame.type === 'relay_intro') this.intro(frame.child, frame.sdp);
    else if (frame.type === 'relay_route') {
      // For a child of ours that relays too (docs/PROTOCOL.md section 6, "Relays below
      // relays"): passed on still sealed; we can neither read nor alter it.
      const c = this.children.get(frame.child);
      if (c?.welcomed) this.sendRelayFrame(c, encodeFrame({ type: 'relay_routed', sealed: frame.sealed }));
    }
    else if (frame.type === 'relay_candidate') {
      const c = this.children.get(frame.child);
      if (!c || ++c.candidates > MAX_CHILD_CANDIDATES) return; // a child already gone: moot
      const init: RTCIceCandidateInit = { candidate: frame.candidate, sdpMid: frame.mid, sdpMLineIndex: frame.mline_index };
      void c.remoteReady.then(() => c.pc.addIceCandidate(init)).catch(() => undefined);
    }
  }

  /** Our host link is gone: nobody to tell; every child comes back through the host. */
  linkLost(): void {
    this.linked = false;
    for (const token of [...this.children.keys()]) this.drop(token, STATUS.resume_unavailable, 'the relay lost its own link', false);
  }

  /** The page is leaving: refuse new children, close the ones we have. */
  leave(): void {
    this.leaving = true;
    this.linkLost();
  }

  private refuse(child: bigint, reason: 'refused' | 'full' | 'bad_offer' | 'leaving'): void {
    this.io.sendToHost(encodeFrame({ type: 'relay_refuse', child, reason }));
  }

  private intro(token: bigint, sdp: string): void {
    const capacity = Math.min(this.capacity, MAX_RELAY_CHILDREN);
    if (this.leaving) return this.refuse(token, 'leaving');
    if (!this.linked || !this.fanout) return this.refuse(token, 'refused');
    if (this.children.has(token)) return this.refuse(token, 'refused');
    if (this.children.size >= capacity) return this.refuse(token, 'full');
    let pc: RTCPeerConnection;
    try {
      pc = new RTCPeerConnection(this.io.rtcConfig());
    } catch {
      return this.refuse(token, 'refused');
    }
    const remoteReady = pc.setRemoteDescription({ type: 'offer', sdp });
    const c: Child = { token, pc, dc: null, remoteReady, candidates: 0, accepted: false, welcomed: false, timer: undefined };
    this.children.set(token, c);
    const mine = () => this.children.get(token) === c;
    pc.onicecandidate = (ev) => {
      if (!mine() || !ev.candidate || !ev.candidate.candidate) return;
      let frame: Uint8Array;
      try {
        frame = encodeFrame({
          type: 'relay_candidate',
          child: token,
          mline_index: ev.candidate.sdpMLineIndex ?? 0,
          mid: ev.candidate.sdpMid ?? '',
          candidate: ev.candidate.candidate,
        });
      } catch {
        return; // one the frame cannot carry (an odd mid) is skipped: others will do
      }
      this.io.sendToHost(frame);
    };
    pc.onconnectionstatechange = () => {
      if (mine() && (pc.connectionState === 'failed' || pc.connectionState === 'closed')) this.drop(token, null, `connection ${pc.connectionState}`);
    };
    pc.ondatachannel = (ev) => {
      if (!mine() || c.dc) return;
      const dc = ev.channel;
      dc.binaryType = 'arraybuffer';
      c.dc = dc;
      dc.onclose = () => {
        if (mine()) this.drop(token, null, 'the data channel closed');
      };
      dc.onmessage = (m: MessageEvent) => {
        if (mine() && m.data instanceof ArrayBuffer) this.childMessage(c, new Uint8Array(m.data));
      };
    };
    // The child must open and say relay_hello within the open timeout.
    c.timer = setTimeout(() => {
      if (mine() && !c.welcomed) this.drop(token, STATUS.protocol_error, c.dc?.readyState === 'open' ? 'no relay_hello in time' : "the child's link did not open in time");
    }, this.options.openTimeoutMs);
    void (async () => {
      try {
        await remoteReady;
      } catch {
        if (!mine()) return;
        this.forget(c);
        return this.refuse(token, 'bad_offer');
      }
      try {
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        if (!mine()) return;
        const accept = encodeFrame({ type: 'relay_accept', child: token, sdp: pc.localDescription?.sdp ?? answer.sdp ?? '' });
        if (!this.io.sendToHost(accept)) throw new Error('our host link is down');
        c.accepted = true;
      } catch {
        if (!mine()) return;
        this.forget(c);
        this.refuse(token, 'refused');
      }
    })();
  }

  /** A child that was never accepted: gone without a word to anyone. */
  private forget(c: Child): void {
    this.children.delete(c.token);
    clearTimeout(c.timer);
    this.closeChild(c);
  }

  private closeChild(c: Child): void {
    c.pc.onicecandidate = c.pc.onconnectionstatechange = c.pc.ondatachannel = null;
    if (c.dc) c.dc.onmessage = c.dc.onclose = null;
    const dc = c.dc;
    // Let a bye go out before the connection goes (bounded: closed after a moment anyway).
    if (dc && dc.readyState === 'open' && dc.bufferedAmount > 0) {
      const close = () => c.pc.close();
      dc.bufferedAmountLowThreshold = 0;
      dc.onbufferedamountlow = close;
      setTimeout(close, 1000);
    } else {
      setTimeout(() => c.pc.close(), 100);
    }
  }

  private childMessage(c: Child, bytes: Uint8Array): void {
    // A child speaks to its relay as a client to a host.
    if (!c.welcomed) {
      if (!bytes.length || bytes[0] !== RELAY_HELLO) return this.drop(c.token, STATUS.protocol_error, 'the first frame must be a relay_hello');
      let hello;
      try {
        hello = decodeRelayHello(bytes);
      } catch (e) {
        return this.drop(c.token, STATUS.protocol_error, e instanceof FrameError ? e.code : 'bad relay_hello');
      }
      const serving = this.linked && this.fanout ? this.fanout.serve(hello) : null;
      if (!serving) return this.drop(c.token, STATUS.resume_unavailable, 'this relay cannot serve that position: resume through the host');
      clearTimeout(c.timer);
      if (!this.sendRelayFrame(c, encodeRelayWelcome(serving.welcome))) return;
      if (serving.anchor && !this.sendRelayFrame(c, serving.anchor)) return;
      for (const f of serving.frames) if (!this.sendRelayFrame(c, f)) return;
      c.welcomed = true;
      this.servedChanged();
      return;
    }
    if (bytes.length && bytes[0] === RELAY_HELLO) return this.drop(c.token, STATUS.protocol_error, 'unexpected frame from a child');
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (e) {
      return this.drop(c.token, STATUS.protocol_error, e instanceof FrameError ? e.code : 'bad frame');
    }
    switch (frame.type) {
      case 'ping':
        this.sendRelayFrame(c, encodeFrame({ type: 'pong', nonce: frame.nonce }));
        return;
      case 'bye':
        return this.drop(c.token, null, 'the child left');
      case 'relay_routed':
        // A child that relays too, speaking to the host through us: passed up still sealed.
        this.io.sendToHost(encodeFrame({ type: 'relay_route', child: c.token, sealed: frame.sealed }));
        return;
      case 'ack':
      case 'pong':
      case 'error':
        return; // need no answer
      default:
        // A relay takes no prompts (a viewer's link), no hello, and no host <-> relay frames.
        return this.drop(c.token, STATUS.protocol_error, 'unexpected frame from a child');
    }
  }

  /** Sends to a child; false when the child was dropped (its buffer is past the bound). */
  private sendRelayFrame(c: Child, bytes: Uint8Array): boolean {
    const dc = c.dc;
    if (!dc || dc.readyState !== 'open') {
      this.drop(c.token, null, 'its link is gone');
      return false;
    }
    if (dc.bufferedAmount + bytes.length > this.options.maxBufferedBytes) {
      this.drop(c.token, STATUS.slow_consumer, 'too slow for the stream');
      return false;
    }
    try {
      dc.send(bytes as Uint8Array<ArrayBuffer>);
    } catch {
      this.drop(c.token, null, 'its link is gone');
      return false;
    }
    return true;
  }

  /** Ends a child's link (with a bye when `bye` is set and it is open) and, when it had been
   *  accepted and `tellHost`, tells the host once (relay_child_gone). */
  private drop(token: bigint, bye: bigint | null, why: string, tellHost = true): void {
    const c = this.children.get(token);
    if (!c) return;
    this.children.delete(token);
    clearTimeout(c.timer);
    if (bye !== null && c.dc?.readyState === 'open') {
      try {
        c.dc.send(encodeFrame({ type: 'bye', reason: bye, text: why.slice(0, 200) }) as Uint8Array<ArrayBuffer>);
      } catch {
        /* closing anyway */
      }
    }
    this.closeChild(c);
    if (tellHost) {
      // An accepted child is reported gone (once: it is out of the map now); one whose answer
      // never went out is refused, and the host answers that joiner itself.
      if (c.accepted) this.io.sendToHost(encodeFrame({ type: 'relay_child_gone', child: token }));
      else this.refuse(token, 'refused');
    }
    if (c.welcomed) this.servedChanged();
  }

  private servedChanged(): void {
    const n = this.served;
    if (n === this.lastServed) return;
    this.lastServed = n;
    this.io.onServedChanged(n);
  }
}
