// The browser host's I/O: the two rendezvous rooms (one WebSocket each), the join handshake,
// one RTCPeerConnection per joiner (the joiner offers, the host answers), the data channels,
// the model source, and the event store. The protocol decisions are HostHandshake's and
// HostSession's (sans I/O); this file only carries them out, as src/host does natively.
import { toHex } from '../protocol/bytes';
import { type Event } from '../protocol/frames';
import { looksLikeBeacon } from '../protocol/handshake';
import { HostHandshake, type HostJoinEvent, type HostSigner } from '../protocol/host-handshake';
import type { LinkRole } from '../protocol/invite';
import { rendezvousWebSocketUrl } from '../protocol/invite';
import { decodeServerMessage, encodeClientMessage, type IceServerEntry } from '../protocol/rendezvous';
import { HostSession, hostSessionConfig, type ChatMessage, type ConnId, type HostIo } from './host-session';
import { generate, type ModelSource } from './llm';
import { signTranscript, transcriptFromEvents } from '../protocol/transcript';

/** Where events go to be durable (IndexedDB; memory in tests of the page). */
export interface EventSink {
  append(events: Event[]): Promise<void>;
}

export interface HostSetup {
  baseUrl: string; // the rendezvous the links name
  signer: HostSigner;
  viewerSecret: Uint8Array;
  participantSecret: Uint8Array;
  sessionId: Uint8Array;
  stored: Event[];
  model: ModelSource | null; // null: the host types the answers
  hostName: string;
  approvePrompts: boolean; // participants' prompts wait for the host (approve / decline)
  sink: EventSink;
  onEvents(events: Event[]): void; // durable events, for the page's own transcript
  onChange(): void; // peers, rooms or held prompts changed
  onModelError(advice: string): void; // the model server could not be reached: what to do
  /** Called with each piece of the model's answer just before it is handed to the session
   *  (bench/js/browser_host_latency.mjs times tokens from here). */
  onDelta?(text: string): void;
}

const HIGH_WATER = 1 << 20; // bytes a data channel may hold before the pump waits for it
const LOW_WATER = 256 * 1024;
const PING_EVERY_MS = 20_000;
const RECONNECT_MS = [250, 1000, 3000, 10_000];
// A join whose data channel has not opened by then is given up (the handshake forgets it too).
const OPEN_TIMEOUT_MS = 60_000;
// Joins answered whose channel is not open yet, per role (viewer, participant): the C++ host's
// join admission budgets (include/tokencast/core/join_admission.hpp).
const MAX_PENDING_JOINS: Record<LinkRole, number> = { 0: 64, 1: 16 };
// DTLS fingerprints of removed joiners, refused for the rest of the tab's run; the oldest ban
// goes first beyond this many (a bound on what a stream of removals can make the tab hold).
const MAX_BANNED = 1024;

function random64(): bigint {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return b.reduce((a, x) => (a << 8n) | BigInt(x), 0n);
}

interface Room {
  role: LinkRole;
  ws: WebSocket | null;
  self: bigint;
  ice: RTCIceServer[];
  failures: number;
  pinger: ReturnType<typeof setInterval> | null;
}

interface Joiner {
  role: LinkRole;
  room: Room;
  from: bigint; // the joiner's rendezvous id
  joinId: Uint8Array;
  fingerprint: string; // hex of the joiner's DTLS fingerprint (from its signed offer)
  pc: RTCPeerConnection;
  remoteReady: Promise<void>;
  answered: boolean;
  early: RTCIceCandidate[];
  conn: ConnId | null;
  dc: RTCDataChannel | null;
  wake: ReturnType<typeof setTimeout> | null;
}

export class BrowserHost implements HostIo {
  readonly session: HostSession;
  readonly handshake: HostHandshake;
  private readonly rooms: Room[];
  private readonly joins = new Map<string, Joiner>(); // by join id
  private readonly byConn = new Map<ConnId, Joiner>();
  private readonly banned = new Set<string>(); // removed joiners' DTLS fingerprints (hex), oldest first
  private pendingEvents: Event[] = [];
  private flushing: Promise<void> | null = null;
  private signing: Promise<void> = Promise.resolve(); // transcript signatures, in order
  private cancelGen: (() => void) | null = null;
  private ticker: ReturnType<typeof setInterval>;
  private ended = false;
  rendezvousState: 'connecting' | 'online' | 'offline' = 'connecting';

  constructor(private readonly setup: HostSetup) {
    this.handshake = new HostHandshake(setup.signer, setup.viewerSecret, setup.participantSecret);
    const config = hostSessionConfig(setup.sessionId, {
      llmAttached: setup.model !== null,
      modelName: setup.model?.model || 'model',
      hostName: setup.hostName,
      approvePrompts: setup.approvePrompts,
    });
    this.session = HostSession.create(config, setup.stored, this, Date.now());
    this.rooms = ([0, 1] as LinkRole[]).map((role) => ({ role, ws: null, self: 0n, ice: [], failures: 0, pinger: null }));
    for (const room of this.rooms) this.connect(room);
    this.ticker = setInterval(() => this.session.tick(Date.now()), 1000);
  }

  // ------------------------------------------------------------------ HostIo

  persist(event: Event): void {
    this.pendingEvents.push(event);
    if (!this.flushing) this.flushing = Promise.resolve().then(() => this.flush());
  }

  /** One store write per batch of events; then they are durable and go to peers. */
  private async flush(): Promise<void> {
    while (this.pendingEvents.length) {
      const batch = this.pendingEvents.splice(0);
      try {
        await this.setup.sink.append(batch);
      } catch {
        /* the store failed: the events stay in memory and still go out (the tab is the host) */
      }
      this.session.durable(batch[batch.length - 1].seq);
      this.setup.onEvents(batch);
    }
    this.flushing = null;
  }

  /** Signs in order (one WebCrypto signature per ended turn); HostSession.signed() keeps the
   *  latest and sends it to version 4 peers. */
  signTranscript(seq: bigint): void {
    this.signing = this.signing
      .then(async () => {
        const events = this.session.durableEvents().filter((e) => e.seq <= seq);
        const content = transcriptFromEvents(this.setup.sessionId, events);
        const signed = await signTranscript(content, this.setup.signer);
        this.session.signed({ seq, turns: BigInt(content.turns.length), signature: signed.signature });
      })
      .catch(() => undefined);
  }

  framesReady(conn: ConnId): void {
    queueMicrotask(() => this.pump(conn));
  }

  wakeAt(conn: ConnId, atMs: number): void {
    const j = this.byConn.get(conn);
    if (!j || j.wake) return;
    j.wake = setTimeout(() => {
      j.wake = null;
      this.pump(conn);
    }, Math.max(0, atMs - Date.now()));
  }

  startGeneration(turn: bigint, history: ChatMessage[]): void {
    const model = this.setup.model;
    if (!model) return;
    this.cancelGen = generate(model, history, {
      delta: (text) => {
        this.setup.onDelta?.(text);
        this.session.llmDelta(turn, text);
      },
      done: (tokens) => {
        this.cancelGen = null;
        this.session.llmDone(turn, tokens, Date.now());
      },
      error: (reason, unreachable) => {
        this.cancelGen = null;
        // The advice names the model server's address: for the host's eyes only.
        if (unreachable) this.setup.onModelError(reason);
        this.session.llmError(turn, unreachable ? 'the model server could not be reached' : reason, Date.now());
      },
    });
  }

  cancelGeneration(): void {
    this.cancelGen?.();
    this.cancelGen = null;
  }

  // ------------------------------------------------------------------ the page's controls

  prompt(text: string): void {
    this.session.hostPrompt(text, Date.now());
  }
  cancel(): void {
    this.session.hostCancel(Date.now());
  }
  /** Hold participants' prompts for approval from now on (or not), as `tokencast host --approve`. */
  setApprovePrompts(on: boolean): void {
    this.session.setApprovePrompts(on);
    this.setup.onChange();
  }
  /** Lets held prompt `id` through (answered in turn); false when none has that id. */
  approvePrompt(id: number): boolean {
    const ok = this.session.approvePrompt(id, Date.now());
    this.setup.onChange();
    return ok;
  }
  /** Drops held prompt `id`; its author is told. False when none has that id. */
  declinePrompt(id: number): boolean {
    const ok = this.session.declinePrompt(id);
    this.setup.onChange();
    return ok;
  }
  /** Says bye to every peer, then closes everything. */
  end(): void {
    if (this.ended) return;
    this.session.shutdown();
    this.ended = true;
    clearInterval(this.ticker);
    for (const room of this.rooms) {
      if (room.pinger) clearInterval(room.pinger);
      room.ws?.close(1000);
      room.ws = null;
    }
    // The byes are pumped by framesReady; channels close after their last frame.
  }

  /** Removes the peer shown as `name` (bye removed) and bans its DTLS fingerprint: its later
   *  offers, a reload of its page included (the client keeps its certificate), are refused.
   *  False when no peer here has that name. */
  removePeer(name: string): boolean {
    const conn = this.session.removePeer(name);
    if (conn === null) return false;
    const j = this.byConn.get(conn);
    if (j) {
      this.banned.add(j.fingerprint);
      if (this.banned.size > MAX_BANNED) this.banned.delete(this.banned.values().next().value!);
    }
    this.setup.onChange();
    return true;
  }

  peerCount(): number {
    return this.session.status.peers;
  }

  // ------------------------------------------------------------------ rendezvous

  private connect(room: Room): void {
    if (this.ended) return;
    const ws = new WebSocket(rendezvousWebSocketUrl(this.setup.baseUrl));
    ws.binaryType = 'arraybuffer';
    room.ws = ws;
    ws.onopen = () => ws.send(encodeClientMessage({ type: 'join', room: this.handshake.locator(room.role) }) as Uint8Array<ArrayBuffer>);
    ws.onmessage = (e) => {
      if (!(e.data instanceof ArrayBuffer)) return;
      let m;
      try {
        m = decodeServerMessage(new Uint8Array(e.data));
      } catch {
        ws.close(4000);
        return;
      }
      switch (m.type) {
        case 'joined':
          room.self = m.self;
          room.failures = 0;
          this.rendezvousState = 'online';
          this.setup.onChange();
          for (const peer of m.peers) void this.greet(room, peer);
          break;
        case 'peer_joined':
          void this.greet(room, m.peer);
          break;
        case 'envelope':
          void this.onEnvelope(room, m.from, m.payload);
          break;
        case 'ice_servers':
          room.ice = m.servers.map((s: IceServerEntry) => ({ urls: s.url, username: s.username || undefined, credential: s.credential || undefined }));
          break;
        default:
          break;
      }
    };
    ws.onclose = () => {
      if (room.pinger) clearInterval(room.pinger);
      room.pinger = null;
      if (room.ws !== ws || this.ended) return;
      room.ws = null;
      this.rendezvousState = 'offline';
      this.setup.onChange();
      const delay = RECONNECT_MS[Math.min(room.failures, RECONNECT_MS.length - 1)];
      room.failures += 1;
      setTimeout(() => this.connect(room), delay);
    };
    room.pinger = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send(encodeClientMessage({ type: 'ping', token: 0n }) as Uint8Array<ArrayBuffer>);
    }, PING_EVERY_MS);
  }

  private send(room: Room, to: bigint, payload: Uint8Array): void {
    if (room.ws?.readyState === WebSocket.OPEN) room.ws.send(encodeClientMessage({ type: 'send', to, payload }) as Uint8Array<ArrayBuffer>);
  }

  private async greet(room: Room, peer: bigint): Promise<void> {
    this.send(room, peer, await this.handshake.beacon(room.role, peer, room.self));
  }

  private async onEnvelope(room: Room, from: bigint, payload: Uint8Array): Promise<void> {
    if (looksLikeBeacon(payload)) return; // the host ignores beacons
    let ev: HostJoinEvent;
    try {
      ev = this.handshake.receive(payload, Date.now());
    } catch {
      return; // unauthenticated or stale: nothing is left behind
    }
    if (ev.role !== room.role) return; // an envelope of one room relayed in the other
    if (ev.type === 'offer') {
      await this.answer(room, from, ev);
      return;
    }
    const j = this.joins.get(toHex(ev.joinId));
    if (!j || ev.type !== 'candidate') return;
    const init: RTCIceCandidateInit = { candidate: ev.candidate, sdpMid: ev.mid, sdpMLineIndex: ev.mlineIndex };
    void j.remoteReady.then(() => j.pc.addIceCandidate(init)).catch(() => undefined);
  }

  private async answer(room: Room, from: bigint, offer: Extract<HostJoinEvent, { type: 'offer' }>): Promise<void> {
    const fingerprint = toHex(offer.joinerFingerprint);
    if (this.banned.has(fingerprint)) {
      // A removed joiner: a signed refusal, so its page says so rather than waiting.
      try {
        this.send(room, from, await this.handshake.sealRejection(offer.joinId, 0, random64()));
      } catch {
        /* the attempt is gone */
      }
      return;
    }
    if (!this.admits(room.role, from)) return;
    const pc = new RTCPeerConnection({ iceServers: room.ice });
    const key = toHex(offer.joinId);
    const j: Joiner = {
      role: room.role,
      room,
      from,
      joinId: offer.joinId,
      fingerprint,
      pc,
      remoteReady: pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp }),
      answered: false,
      early: [],
      conn: null,
      dc: null,
      wake: null,
    };
    this.joins.set(key, j);
    setTimeout(() => {
      if (j.conn === null && this.joins.get(key) === j) this.drop(j);
    }, OPEN_TIMEOUT_MS);
    pc.onicecandidate = (e) => {
      if (!j.answered) {
        if (e.candidate) j.early.push(e.candidate);
        return;
      }
      this.sealCandidate(j, e.candidate);
    };
    pc.ondatachannel = (e) => this.bindChannel(j, e.channel);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.drop(j);
    };
    try {
      await j.remoteReady;
      await pc.setLocalDescription(await pc.createAnswer());
      const sdp = pc.localDescription!.sdp;
      this.send(room, from, await this.handshake.sealAnswer(offer.joinId, sdp, random64()));
      j.answered = true;
      for (const c of j.early.splice(0)) this.sealCandidate(j, c);
      if (pc.iceGatheringState === 'complete') this.sealCandidate(j, null);
    } catch {
      this.drop(j);
    }
  }

  private sealCandidate(j: Joiner, c: RTCIceCandidate | null): void {
    try {
      const env = c
        ? this.handshake.sealCandidate(j.joinId, { mlineIndex: c.sdpMLineIndex ?? 0, mid: c.sdpMid ?? '', candidate: c.candidate })
        : this.handshake.sealEndOfCandidates(j.joinId);
      this.send(j.room, j.from, env);
    } catch {
      /* the attempt is gone (opened or timed out) */
    }
  }

  private bindChannel(j: Joiner, dc: RTCDataChannel): void {
    dc.binaryType = 'arraybuffer';
    dc.bufferedAmountLowThreshold = LOW_WATER;
    j.dc = dc;
    dc.onopen = () => {
      j.conn = this.session.peerOpened(j.role === 1 ? 'participant' : 'viewer', Date.now());
      this.byConn.set(j.conn, j);
      this.handshake.forget(j.joinId);
      this.joins.delete(toHex(j.joinId));
      this.setup.onChange();
    };
    dc.onmessage = (e) => {
      if (j.conn === null || !(e.data instanceof ArrayBuffer)) return;
      this.session.peerFrame(j.conn, new Uint8Array(e.data), Date.now());
      this.setup.onChange();
    };
    dc.onbufferedamountlow = () => {
      if (j.conn !== null) this.pump(j.conn);
    };
    dc.onclose = () => this.drop(j);
  }

  /** Sends what the session has for this peer while the channel takes it. */
  private pump(conn: ConnId): void {
    const j = this.byConn.get(conn);
    const dc = j?.dc;
    if (!j || !dc || dc.readyState !== 'open') return;
    while (dc.bufferedAmount < HIGH_WATER) {
      const out = this.session.nextFrame(conn, Date.now());
      if (!out) return;
      dc.send(out.bytes as Uint8Array<ArrayBuffer>);
      if (out.last) {
        // The bye is the last frame: close once it has left.
        const close = () => (dc.bufferedAmount === 0 ? this.drop(j) : setTimeout(close, 20));
        close();
        return;
      }
    }
  }

  /** As the C++ host's join admission: one pending join per rendezvous sender and a pending
   *  budget per role, so a link holder's authentic offers cannot make the tab open peer
   *  connections without end (each lives up to OPEN_TIMEOUT_MS). */
  private admits(role: LinkRole, from: bigint): boolean {
    let pending = 0;
    for (const j of this.joins.values()) {
      if (j.conn !== null || j.role !== role) continue;
      if (j.from === from) return false;
      pending += 1;
    }
    return pending < MAX_PENDING_JOINS[role];
  }

  private drop(j: Joiner): void {
    this.joins.delete(toHex(j.joinId));
    if (j.wake) clearTimeout(j.wake);
    if (j.conn !== null) {
      this.byConn.delete(j.conn);
      this.session.peerClosed(j.conn);
      j.conn = null;
      this.setup.onChange();
    }
    j.dc?.close();
    j.pc.close();
  }
}
