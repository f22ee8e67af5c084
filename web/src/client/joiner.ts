// The browser joiner: rendezvous WebSocket, join handshake, RTCPeerConnection and the session on
// the data channel, with keepalive and resume. Mirrors src/client/join_client.cpp.
import { looksLikeBeacon, openHostBeacon, JoinerHandshake, HandshakeFailure, REJECT_REASON_NAMES, warmUpEd25519 } from '../protocol/handshake';
import type { InviteLink } from '../protocol/invite';
import { inviteRendezvousBases, rendezvousWebSocketUrl } from '../protocol/invite';
import { takeEarlySocket } from './early-socket';
import { roomLocator } from '../protocol/keys';
import { decodeServerMessage, encodeClientMessage, joinSubprotocol, type IceServerEntry } from '../protocol/rendezvous';
import { decodeFrame, encodeFrame, FrameError, RELAY_ROUTED, STATUS, type Frame } from '../protocol/frames';
import { ClientSession, type SessionEvent } from './session';
import { RELAY_PING_EVERY_MS, RelayChildFailure, RelayChildLink } from './relay-child';
import { MAX_RELAY_CHILDREN, RelayParent } from './relay-parent';
import { relayRouteChannel, routeKeys, type RouteChannel } from '../protocol/route';
import { RELAY_CHECKPOINT, RELAY_RECORD, RelayError } from '../protocol/relay';

export type JoinFailure =
  | 'bad_link'
  | 'rendezvous_unreachable'
  | 'no_answer'
  | 'invalid_answer'
  | 'refused'
  | 'session_ended'
  | 'removed'
  | 'interrupted'
  | 'not_opened'
  | 'no_path';

export const FAILURE_TEXT: Record<JoinFailure, string> = {
  bad_link: 'the invite link is not valid',
  rendezvous_unreachable: 'the rendezvous server cannot be reached',
  no_answer: 'invite link invalid or expired, or the host is not running',
  invalid_answer: 'invite link invalid or expired',
  refused: 'the host refused the join',
  session_ended: 'the host ended the session',
  removed: 'the host removed you from this session',
  interrupted: 'the connection to the host was lost',
  not_opened: 'the connection to the host could not be opened',
  no_path:
    'the host answered, but no network path to it was found (a NAT or firewall is in the way): ' +
    'the host or its rendezvous needs a TURN relay',
};

/** The ICE candidate pair the data channel uses (from getStats()). Types: host, srflx, prflx,
 *  relay; protocols udp/tcp, or for a local relay candidate how we reach the TURN server
 *  (udp, tcp, tls). */
export interface CandidatePath {
  localType: string;
  localProtocol: string;
  remoteType: string;
  remoteProtocol: string;
  relayed: boolean;
}

/** The selected pair of a getStats() report (transport.selectedCandidatePairId, else a
 *  nominated succeeded pair), or null. */
export function selectedPath(report: RTCStatsReport): CandidatePath | null {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const stats = new Map<string, any>();
  report.forEach((s, id) => stats.set(id, s));
  let pair = null;
  for (const s of stats.values()) {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId) ?? pair;
  }
  if (!pair) {
    for (const s of stats.values()) if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
  }
  const local = pair && stats.get(pair.localCandidateId);
  const remote = pair && stats.get(pair.remoteCandidateId);
  if (!local || !remote) return null;
  const localType = String(local.candidateType ?? '?');
  const localProtocol = String((localType === 'relay' && local.relayProtocol) || local.protocol || '?');
  const remoteType = String(remote.candidateType ?? '?');
  return {
    localType,
    localProtocol,
    remoteType,
    remoteProtocol: String(remote.protocol ?? '?'),
    relayed: localType === 'relay' || remoteType === 'relay',
  };
}

export type LinkStatus = 'connecting' | 'connected' | 'reconnecting' | 'ended';

// Performance marks (User Timing) for measuring joins; bench/js/chromium_join.mjs reads them.
// They record times only and change nothing. Every attempt (the first join and each reconnect)
// marks, with detail {attempt: n}; a mark's startTime counts from performance.timeOrigin, the
// navigation start (the user opening the link). In the order they happen:
//   tokencast:join-start   the attempt begins: for attempt 1, the page has parsed the invite link
//                          (and restored any stored copy) and called start()
//   tokencast:ws-joined    the rendezvous WebSocket is open and the server answered 'joined'
//   tokencast:offer-made   the offer is made and set as local description (the handshake exists)
//   tokencast:beacon       the host's beacon verified (the host is known; nothing sent before)
//   tokencast:offer-sent   the sealed offer went to the host (the later of the two above)
//   tokencast:answer       the host's signed answer verified
//   tokencast:remote-set   setRemoteDescription(answer) resolved
//   tokencast:ice-connected  the ICE connection state became 'connected' (a candidate pair works)
//   tokencast:pc-connected the peer connection state became 'connected' (DTLS done)
//   tokencast:dc-open      the data channel to the host is open (before the hello is sent)
//   tokencast:welcomed     the host's welcome was decoded and handed to the page
//   tokencast:first-event  the first log event of the attempt is in the page: the first events
//                          or delta frame after the welcome has been decoded, applied to the
//                          transcript and handed to the page (which renders it synchronously).
//                          When the welcome says there is nothing to catch up (its head_seq is
//                          the last sequence the client already holds: an empty log, or a
//                          resume that is level), the client is up to date at the welcome, so
//                          this mark is set at the welcome itself, with detail.atWelcome true.
const PERF_MARK_PREFIX = 'tokencast:';

function perfMark(name: string, attempt: number, extra: Record<string, unknown> = {}): void {
  try {
    performance.mark(PERF_MARK_PREFIX + name, { detail: { attempt, ...extra } });
  } catch {
    /* no User Timing here: nothing to record */
  }
}

/** ICE_SERVERS entries as RTCPeerConnection wants them. */
function rtcIceServers(servers: IceServerEntry[]): RTCIceServer[] {
  return servers.map((s) => (s.username ? { urls: s.url, username: s.username, credential: s.credential } : { urls: s.url }));
}

let ed25519Warm = false;

export interface JoinCallbacks {
  onStatus(status: LinkStatus, detail: string): void;
  onSessionEvent(event: SessionEvent): void;
  onEnded(failure: JoinFailure, detail: string): void;
  /** The candidate pair of each opened data channel. */
  onPath?(path: CandidatePath): void;
  /** How many children we relay for changed (a viewer that offered to relay). */
  onRelaying?(served: number): void;
}

export interface JoinOptions {
  answerTimeoutMs: number;
  openTimeoutMs: number;
  pingEveryMs: number;
  silenceMs: number;
  reconnect: boolean;
  /** Our own STUN/TURN servers; those the rendezvous hands out (ICE_SERVERS) are added. */
  iceServers: RTCIceServer[];
  /** Relayed candidates only (iceTransportPolicy 'relay'): needs a TURN server. */
  relayOnly: boolean;
  /** The hello (which carries the resume position) waits for this: the page restores its stored
   *  copy while the join runs, and the position must be the one of what it shows. */
  beforeHello: Promise<void> | null;
  /** The DTLS certificate every peer connection of this session presents (the same fingerprint
   *  on every reconnect and reload, see client/certificate.ts); null: the browser makes one per
   *  connection. The first peer connection waits for it. */
  certificate: Promise<RTCCertificate | null> | null;
  /** Offer to relay the host's stream for up to this many other viewers (protocol version 5,
   *  docs/PROTOCOL.md section 6; at most 64); 0: never. Viewer links only: a participant never
   *  relays. */
  relayCapacity: number;
}

const DEFAULTS: JoinOptions = {
  answerTimeoutMs: 10000,
  openTimeoutMs: 15000,
  pingEveryMs: 2000,
  silenceMs: 6000,
  reconnect: true,
  iceServers: [],
  relayOnly: false,
  beforeHello: null,
  certificate: null,
  relayCapacity: 0,
};

interface Attempt {
  n: number;
  ws: WebSocket | null;
  pc: RTCPeerConnection | null;
  dc: RTCDataChannel | null;
  handshake: JoinerHandshake | null;
  self: bigint;
  host: bigint;
  answered: boolean;
  sent: Uint8Array[]; // sealed offer and candidates, kept until the answer
  early: RTCIceCandidate[]; // gathered before the offer was sealed
  earlyEnd: boolean; // gathering ended before the offer was sealed
  remoteReady: Promise<void> | null;
  open: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  lastHeard: number;
  pings: bigint;
  firstEventMarked: boolean; // tokencast:first-event is set once per attempt
  offerSent: boolean; // tokencast:offer-sent is set once per attempt
  ackTimer: boolean; // an ack is scheduled (protocol version 2)
  rendezvousIce: RTCIceServer[]; // what the rendezvous handed out (ICE_SERVERS)
  hostIce: RTCIceServer[]; // what the host's ICE beacon added (sealed and signed)
  iceConnected: boolean; // ICE found a working candidate pair (at some point)
  peerGen: number; // which createPeer call may make this attempt's peer connection
  iceKept: boolean; // the early socket's ICE_SERVERS was applied before the first peer: skip its replay
  /** The host placed us below a relay (a signed relay answer): the data channel goes to that
   *  relay, whose stream is verified here (client/relay-child.ts). */
  relay: RelayChildLink | null;
  relayPeerId: bigint | null;
  /** Below a relay and relaying too: our end of the route to the host, under this join's keys
   *  (docs/PROTOCOL.md section 6, "Relays below relays"); null otherwise. */
  route: RouteChannel | null;
}

export class Joiner {
  private readonly options: JoinOptions;
  /** The link's rendezvous, then its alternates (docs/PROTOCOL.md section 1); `urlIndex` is the
   *  one in use, `urlsFailed` how many were lost in a row (see nextRendezvous). */
  private readonly wsUrls: string[];
  private urlIndex = 0;
  private urlsFailed = 0;
  private readonly locator: Uint8Array;
  private attempt: Attempt | null = null;
  private attempts = 0;
  private everConnected = false;
  private ended = false;
  private retries = 0;
  /** Retries of a transient failure before the first connection (see attemptFailed). */
  private firstConnectionRetries = 0;
  private helloReady: boolean;
  private certificate: RTCCertificate | null = null;
  private certificateReady: boolean;
  /** Our children when we relay (docs/PROTOCOL.md section 6), null when we never offered. */
  readonly relayParent: RelayParent | null = null;

  constructor(
    private readonly link: InviteLink,
    readonly session: ClientSession,
    private readonly cb: JoinCallbacks,
    options: Partial<JoinOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.helloReady = !this.options.beforeHello;
    this.options.beforeHello?.then(
      () => (this.helloReady = true),
      () => (this.helloReady = true),
    );
    this.certificateReady = !this.options.certificate;
    this.options.certificate?.then(
      (c) => {
        this.certificate = c;
        this.certificateReady = true;
      },
      () => (this.certificateReady = true),
    );
    if (this.options.relayCapacity > 0 && link.role === 0) {
      session.offerRelay(this.options.relayCapacity, link.hostKey);
      this.relayParent = new RelayParent(link.hostKey, session.relayCapacity, {
        sendToHost: (frame) => this.sendToHost(frame),
        rtcConfig: () => {
          if (!this.attempt) throw new Error('no link');
          const { iceServers, iceTransportPolicy, certificates } = this.rtcConfig(this.attempt);
          return { iceServers, iceTransportPolicy, certificates };
        },
        onServedChanged: (n) => this.cb.onRelaying?.(n),
      });
    }
    this.wsUrls = inviteRendezvousBases(link).map(rendezvousWebSocketUrl);
    this.locator = roomLocator(link.secret, link.role, link.hostKey);
  }

  start(): void {
    this.beginAttempt();
  }

  get connected(): boolean {
    return !!this.attempt?.open && this.session.welcomed;
  }

  /** The open link is to a relay the host appointed (its peer id), null when to the host. */
  get relayPeer(): bigint | null {
    const a = this.attempt;
    return a?.open && a.relay?.welcomed ? a.relayPeerId : null;
  }

  /** Sends a frame on the open channel; false when there is none. */
  send(frame: Uint8Array): boolean {
    const dc = this.attempt?.dc;
    if (!this.attempt?.open || !dc || dc.readyState !== 'open') return false;
    dc.send(frame as Uint8Array<ArrayBuffer>);
    return true;
  }

  leave(): void {
    if (this.ended) return;
    this.relayParent?.leave();
    this.send(ClientSession.bye());
    this.ended = true;
    this.teardown();
  }

  /** The a=fingerprint line of the current offer (what the host sees of our certificate). */
  offerFingerprint(): string | null {
    const sdp = this.attempt?.pc?.localDescription?.sdp ?? '';
    return /^a=fingerprint:(.*)$/m.exec(sdp)?.[1].trim() ?? null;
  }

  /** For tests and the UI's "retry": drop the link and resume. */
  dropLink(why = 'dropped'): void {
    if (this.attempt?.open) this.linkLost(why);
  }

  private current(n: number): Attempt | null {
    return this.attempt && this.attempt.n === n ? this.attempt : null;
  }

  private beginAttempt(): void {
    if (this.ended) return;
    const n = ++this.attempts;
    const a: Attempt = {
      n,
      ws: null,
      pc: null,
      dc: null,
      handshake: null,
      self: 0n,
      host: 0n,
      answered: false,
      sent: [],
      early: [],
      earlyEnd: false,
      remoteReady: null,
      open: false,
      timer: undefined,
      lastHeard: 0,
      pings: 0n,
      firstEventMarked: false,
      offerSent: false,
      ackTimer: false,
      rendezvousIce: [],
      hostIce: [],
      iceConnected: false,
      peerGen: 0,
      iceKept: false,
      relay: null,
      relayPeerId: null,
      route: null,
    };
    this.attempt = a;
    perfMark('join-start', n);
    this.cb.onStatus(this.everConnected ? 'reconnecting' : 'connecting', '');
    let ws: WebSocket;
    let kept: unknown[] = [];
    // JOIN rides in the upgrade (the join subprotocol): 'joined' then follows the open with no
    // round trip of its own. The early socket offers it too; an older rendezvous selects none,
    // and then the JOIN message goes (onopen).
    const protocol = joinSubprotocol(this.locator);
    try {
      const url = this.wsUrls[this.urlIndex];
      const early = n === 1 ? takeEarlySocket(url, protocol) : null;
      kept = early?.messages ?? [];
      ws = early?.ws ?? new WebSocket(url, [protocol]);
    } catch {
      this.attemptFailed('rendezvous_unreachable', 'bad rendezvous URL');
      return;
    }
    ws.binaryType = 'arraybuffer';
    a.ws = ws;
    ws.onopen = () => {
      if (!this.current(n)) return;
      if (ws.protocol !== protocol) {
        ws.send(encodeClientMessage({ type: 'join', room: this.locator }) as Uint8Array<ArrayBuffer>);
      }
      // While 'joined' and the host's beacon are on their way: make the first Ed25519
      // verification (the beacon's, on the critical path) as cheap as the later ones.
      if (!ed25519Warm) ed25519Warm = warmUpEd25519() || true;
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (!this.current(n) || !(ev.data instanceof ArrayBuffer)) return;
      let m;
      try {
        m = decodeServerMessage(new Uint8Array(ev.data));
      } catch {
        return;
      }
      if (m.type === 'joined') this.onJoined(n, m.self);
      else if (m.type === 'envelope') this.onEnvelope(n, m.from, m.payload);
      else if (m.type === 'ice_servers') this.onIceServers(n, m.servers);
    };
    ws.onclose = (ev: CloseEvent) => {
      const cur = this.current(n);
      if (!cur || cur.open) return;
      const why = ev.reason || `closed (${ev.code})`;
      if (!this.nextRendezvous(why)) this.attemptFailed('rendezvous_unreachable', why);
    };
    // An early socket (./early-socket) may be open already: its open event has passed.
    if (ws.readyState === WebSocket.OPEN) queueMicrotask(() => ws.onopen?.(new Event('open')));
    a.timer = setTimeout(() => {
      const cur = this.current(n);
      if (!cur || cur.open) return;
      this.attemptFailed('no_answer', cur.host === 0n ? 'no host greeted us in its room' : 'the host did not answer');
    }, this.options.answerTimeoutMs);
    // The rendezvous' ICE servers may be among what the early socket kept: gather with them
    // from the first peer connection on, instead of making it again when they are replayed.
    for (const data of kept) {
      try {
        const m = data instanceof ArrayBuffer ? decodeServerMessage(new Uint8Array(data)) : null;
        if (m?.type === 'ice_servers') {
          a.rendezvousIce = rtcIceServers(m.servers);
          a.iceKept = true;
          break;
        }
      } catch {
        /* the replay below meets it again and drops it */
      }
    }
    this.createPeer(a);
    // What the early socket received before it was ours ('joined', the host's beacon), in
    // order, before any later message (microtasks run before the next message event).
    if (kept.length) queueMicrotask(() => kept.forEach((data) => ws.onmessage?.(new MessageEvent('message', { data }))));
  }

  /** Failover: the rendezvous in use was lost before the data channel opened. While some URL of
   *  the list is untried in this round, moves to the next one and begins a new attempt at once
   *  (the host registers there too); false when every one failed (then the usual back-off). */
  private nextRendezvous(why: string): boolean {
    if (this.wsUrls.length < 2) return false;
    this.urlIndex = (this.urlIndex + 1) % this.wsUrls.length;
    if (++this.urlsFailed >= this.wsUrls.length) {
      this.urlsFailed = 0;
      return false;
    }
    this.teardown();
    this.cb.onStatus(this.everConnected ? 'reconnecting' : 'connecting', `rendezvous lost (${why}): trying another`);
    this.beginAttempt();
    return true;
  }

  private teardown(): void {
    // Our children go back through the host, which places them again.
    this.relayParent?.linkLost();
    this.session.linkLost();
    const a = this.attempt;
    if (!a) return;
    this.attempt = null;
    clearTimeout(a.timer);
    if (a.ws) {
      a.ws.onopen = a.ws.onmessage = a.ws.onclose = null;
      try {
        a.ws.close();
      } catch {
        /* already closed */
      }
    }
    this.closePeer(a);
  }

  private end(failure: JoinFailure, detail: string): void {
    if (this.ended) return;
    this.ended = true;
    this.teardown();
    this.cb.onStatus('ended', FAILURE_TEXT[failure]);
    this.cb.onEnded(failure, detail);
  }

  /** `transient`: a failure that loss can cause (ICE found a path, but the channel did not open
   *  in time). Before the first connection it is retried up to twice, as `tokencast join` does;
   *  anything else ends the join at once, with its reason. */
  private attemptFailed(failure: JoinFailure, detail: string, transient = false): void {
    this.teardown();
    if (!this.everConnected && transient && this.options.reconnect && this.firstConnectionRetries < 2) {
      this.firstConnectionRetries++;
      this.cb.onStatus('connecting', `again: ${detail}`);
      setTimeout(() => {
        if (!this.attempt && !this.ended) this.beginAttempt();
      }, 250 * this.firstConnectionRetries);
      return;
    }
    if (!this.everConnected || !this.options.reconnect) {
      this.end(failure, detail);
      return;
    }
    this.linkLost(detail);
  }

  private linkLost(why: string, fromRelay = false): void {
    this.teardown();
    if (!this.options.reconnect) {
      this.end('interrupted', why);
      return;
    }
    this.cb.onStatus('reconnecting', why);
    // A lost relay: back through the host at once (another path; the host answers directly or
    // under another relay), so a child re-parents within 2 s (issue 15).
    const delay = fromRelay ? 0 : Math.min(5000, 250 << Math.min(this.retries, 5));
    if (!fromRelay) this.retries++;
    setTimeout(() => {
      if (!this.attempt && !this.ended) this.beginAttempt();
    }, delay);
  }

  private sendSignal(a: Attempt, envelope: Uint8Array): void {
    // Only the peer whose beacon verified gets our offer and candidates.
    if (!a.answered) a.sent.push(envelope);
    if (a.host !== 0n && a.ws && a.ws.readyState === WebSocket.OPEN) {
      if (!a.offerSent) {
        a.offerSent = true;
        perfMark('offer-sent', a.n);
      }
      a.ws.send(encodeClientMessage({ type: 'send', to: a.host, payload: envelope }) as Uint8Array<ArrayBuffer>);
    }
  }

  private sealCandidate(a: Attempt, c: RTCIceCandidate): void {
    if (!a.handshake || !c.candidate) return;
    try {
      const env = a.handshake.sealCandidate({ mlineIndex: c.sdpMLineIndex ?? 0, mid: c.sdpMid ?? '', candidate: c.candidate });
      this.sendSignal(a, env);
    } catch {
      /* a candidate we cannot express is skipped */
    }
  }

  private onJoined(n: number, self: bigint): void {
    const a = this.current(n);
    if (!a || a.self !== 0n) return;
    perfMark('ws-joined', n);
    a.self = self;
    this.urlsFailed = 0; // this rendezvous works: a later loss starts a fresh round of the list
  }

  /** ICE_SERVERS follows 'joined' at once, before any envelope: the peer connection made at the
   *  start has not been offered to anyone yet. Make it again, gathering with these servers. */
  private onIceServers(n: number, servers: IceServerEntry[]): void {
    const a = this.current(n);
    if (!a || a.answered || a.open) return;
    if (a.iceKept) {
      a.iceKept = false; // the replay of the message applied before the first peer was made
      return;
    }
    a.rendezvousIce = rtcIceServers(servers);
    this.closePeer(a);
    a.handshake = null;
    a.sent = [];
    a.early = [];
    a.earlyEnd = false;
    a.offerSent = false;
    this.createPeer(a);
  }

  private hasTurnServer(a: Attempt): boolean {
    const urls = [...this.options.iceServers, ...a.rendezvousIce, ...a.hostIce].flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]));
    return urls.some((u) => u.startsWith('turn'));
  }

  private relayOnlyWithoutTurn(): void {
    this.end('no_path', 'relay-only is on (?relay) but no TURN server was handed out: open the page with ?relay=0');
  }

  /** Keeps the servers of the host's ICE beacon that the attempt lacks (signed by the host, so
   *  the rendezvous could not strip them); true when there are any. */
  private takeHostIce(a: Attempt, entries: IceServerEntry[]): boolean {
    const have = [...this.options.iceServers, ...a.rendezvousIce];
    const same = (s: RTCIceServer, e: IceServerEntry) =>
      (Array.isArray(s.urls) ? s.urls.length === 1 && s.urls[0] === e.url : s.urls === e.url) &&
      (s.username ?? '') === e.username &&
      (s.credential ?? '') === e.credential;
    a.hostIce = entries
      .filter((e) => !have.some((s) => same(s, e)))
      .map((e) => (e.username ? { urls: e.url, username: e.username, credential: e.credential } : { urls: e.url }));
    return a.hostIce.length > 0;
  }

  private closePeer(a: Attempt): void {
    if (a.dc) a.dc.onopen = a.dc.onclose = a.dc.onmessage = null;
    if (a.pc) {
      a.pc.onicecandidate = a.pc.onconnectionstatechange = a.pc.oniceconnectionstatechange = null;
      a.pc.close();
    }
    a.dc = null;
    a.pc = null;
  }

  /** The RTCPeerConnection configuration of attempt `a`: our servers and the rendezvous'. */
  private rtcConfig(a: Attempt): RTCConfiguration {
    return {
      iceServers: [...this.options.iceServers, ...a.rendezvousIce, ...a.hostIce],
      iceTransportPolicy: this.options.relayOnly ? 'relay' : 'all',
      ...(this.certificate ? { certificates: [this.certificate] } : {}),
    };
  }

  /** Makes the attempt's peer connection once the session's certificate is at hand (at once,
   *  after the first time); a later call (new ICE servers) supersedes a waiting one. */
  private createPeer(a: Attempt): void {
    const gen = ++a.peerGen;
    const make = () => {
      const cur = this.current(a.n);
      if (!cur || cur.peerGen !== gen || cur.pc) return;
      try {
        this.createPeerNow(cur);
      } catch (e) {
        this.end('not_opened', `cannot make an offer: ${String(e)}`);
      }
    };
    if (this.certificateReady) make();
    else this.options.certificate!.then(make, make);
  }

  /** The peer connection, data channel and offer, made while the rendezvous connects: the offer
   *  is kept (in `sent`) until a beacon verifies, and only the host gets it. */
  private createPeerNow(a: Attempt): void {
    const n = a.n;
    const pc = new RTCPeerConnection(this.rtcConfig(a));
    a.pc = pc;
    const dc = pc.createDataChannel('tokencast', { ordered: true });
    dc.binaryType = 'arraybuffer';
    a.dc = dc;
    pc.onicecandidate = (ev) => {
      const cur = this.current(n);
      if (!cur) return;
      if (ev.candidate && ev.candidate.candidate) {
        if (!cur.handshake) cur.early.push(ev.candidate);
        else this.sealCandidate(cur, ev.candidate);
      } else if (!ev.candidate && !cur.handshake) {
        cur.earlyEnd = true;
      } else if (!ev.candidate && cur.handshake) {
        try {
          this.sendSignal(cur, cur.handshake.sealEndOfCandidates());
        } catch {
          /* closed */
        }
      }
    };
    pc.oniceconnectionstatechange = () => {
      const cur = this.current(n);
      if (!cur || cur.pc !== pc) return;
      if (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed') {
        if (!cur.iceConnected) perfMark('ice-connected', n);
        cur.iceConnected = true;
      }
    };
    pc.onconnectionstatechange = () => {
      const cur = this.current(n);
      if (!cur) return;
      if (pc.connectionState === 'connected') perfMark('pc-connected', n);
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
        if (cur.open) this.linkLost(`connection ${pc.connectionState}`);
        else if (!cur.iceConnected && pc.connectionState === 'failed') this.attemptFailed('no_path', 'ICE checks failed');
        else this.attemptFailed('not_opened', `connection ${pc.connectionState}`, pc.connectionState === 'failed');
      }
    };
    dc.onopen = () => this.onOpen(n);
    dc.onclose = () => {
      const cur = this.current(n);
      if (!cur) return;
      if (cur.open) this.linkLost('the data channel closed');
      else this.attemptFailed('not_opened', 'the data channel closed', true);
    };
    dc.onmessage = (ev: MessageEvent) => {
      if (ev.data instanceof ArrayBuffer) this.onMessage(n, new Uint8Array(ev.data));
    };
    void (async () => {
      try {
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        const cur = this.current(n);
        if (!cur || cur.pc !== pc) return; // this attempt's peer connection was replaced
        cur.handshake = new JoinerHandshake(this.link, this.session.name, offer.sdp ?? '', BigInt(Date.now()));
        perfMark('offer-made', n);
        this.sendSignal(cur, cur.handshake.offerEnvelope);
        for (const c of cur.early) this.sealCandidate(cur, c);
        cur.early = [];
        if (cur.earlyEnd) this.sendSignal(cur, cur.handshake.sealEndOfCandidates());
      } catch (e) {
        if (this.current(n)?.pc !== pc) return;
        const detail = e instanceof HandshakeFailure ? e.code : String(e);
        this.end('not_opened', `cannot make an offer: ${detail}`);
      }
    })();
  }

  private onEnvelope(n: number, from: bigint, bytes: Uint8Array): void {
    const a = this.current(n);
    if (!a || a.open) return;
    if (looksLikeBeacon(bytes)) {
      if (a.answered || a.host === from) return;
      const hostIce = openHostBeacon(this.link, bytes, a.self, from);
      if (hostIce === null) return;
      ed25519Warm = true;
      const first = a.host === 0n;
      a.host = from; // the host, or the host again under a new id: (re)send what it lacks
      if (first && this.takeHostIce(a, hostIce)) {
        // Servers we did not have: the peer connection made at the start gathered without them
        // and has been offered to no one yet. Make it again; its offer goes straight to the host.
        if (this.options.relayOnly && !this.hasTurnServer(a)) return this.relayOnlyWithoutTurn();
        this.closePeer(a);
        a.handshake = null;
        a.sent = [];
        a.early = [];
        a.earlyEnd = false;
        a.offerSent = false;
        perfMark('beacon', a.n);
        this.createPeer(a);
        return;
      }
      if (first && this.options.relayOnly && !this.hasTurnServer(a)) return this.relayOnlyWithoutTurn();
      perfMark('beacon', a.n);
      if (a.sent.length && !a.offerSent) {
        a.offerSent = true;
        perfMark('offer-sent', a.n);
      }
      for (const env of a.sent) {
        a.ws?.send(encodeClientMessage({ type: 'send', to: from, payload: env }) as Uint8Array<ArrayBuffer>);
      }
      return;
    }
    if (!a.handshake || a.host === 0n || from !== a.host) return;
    let ev;
    try {
      ev = a.handshake.receive(bytes);
    } catch (e) {
      // Anything that does not open is dropped; a forged answer ends the attempt: fail closed.
      if (a.handshake.state === 'failed') this.end('invalid_answer', e instanceof HandshakeFailure ? e.code : String(e));
      return;
    }
    const pc = a.pc!;
    switch (ev.type) {
      case 'relay_answer':
      case 'answer':
        if (ev.type === 'relay_answer') {
          // Our connection goes to the relay the host appointed, whose SDP (and so DTLS
          // certificate) the host signed for this offer; candidates still come sealed from the host.
          a.relay = new RelayChildLink(this.session, this.link.hostKey, Date.now());
          a.relayPeerId = ev.relayPeerId;
          // A relay below a relay: the host speaks to us through our parents, sealed under this
          // join's route keys, which they never see.
          if (this.relayParent) a.route = relayRouteChannel(routeKeys(this.link.secret, this.link.role, this.link.hostKey, a.handshake.joinId));
        }
        a.answered = true;
        a.sent = [];
        clearTimeout(a.timer);
        perfMark('answer', n);
        a.remoteReady = pc.setRemoteDescription({ type: 'answer', sdp: ev.sdp });
        a.remoteReady.then(() => perfMark('remote-set', n), () => undefined);
        a.remoteReady.catch(() => {
          if (this.current(n)) this.attemptFailed('not_opened', "the host's answer could not be applied");
        });
        a.timer = setTimeout(() => {
          const cur = this.current(n);
          if (cur && !cur.open) {
            if (cur.iceConnected) this.attemptFailed('not_opened', 'the data channel did not open', true);
            else this.attemptFailed('no_path', 'ICE checks found no working candidate pair');
          }
        }, this.options.openTimeoutMs);
        break;
      case 'candidate': {
        const init: RTCIceCandidateInit = { candidate: ev.candidate, sdpMid: ev.mid, sdpMLineIndex: ev.mlineIndex };
        void a.remoteReady?.then(() => pc.addIceCandidate(init)).catch(() => undefined);
        break;
      }
      case 'end_of_candidates':
        break;
      case 'rejection':
        if (REJECT_REASON_NAMES[ev.reason] === 'room_full' && this.everConnected) {
          // A viewer coming back (its relay left, the host restarted) among many others at
          // once: the host's budget of joins in progress is full for now, not the room for
          // good. Retried with the usual backoff.
          this.attemptFailed('refused', 'the room is full for now');
        } else {
          this.end('refused', REJECT_REASON_NAMES[ev.reason]);
        }
        break;
    }
  }

  private onOpen(n: number): void {
    const a = this.current(n);
    if (!a || a.open) return;
    perfMark('dc-open', n);
    if (!this.helloReady) {
      // The stored copy is still being restored: the hello must carry its position. The host
      // sends nothing before our hello, so nothing is missed meanwhile.
      const ready = () => {
        const cur = this.current(n);
        if (cur && !cur.open && cur.dc?.readyState === 'open') this.channelReady(n);
      };
      this.options.beforeHello!.then(ready, ready);
      return;
    }
    this.channelReady(n);
  }

  private channelReady(n: number): void {
    const a = this.current(n)!;
    a.open = true;
    clearTimeout(a.timer);
    if (a.ws) {
      // Signaling is over: leave the room.
      a.ws.onclose = a.ws.onmessage = null;
      a.ws.close();
      a.ws = null;
    }
    this.everConnected = true;
    this.retries = 0;
    a.lastHeard = Date.now();
    a.dc!.send((a.relay ? a.relay.hello() : this.session.hello()) as Uint8Array<ArrayBuffer>);
    a.timer = setTimeout(() => this.keepalive(n), a.relay ? RELAY_PING_EVERY_MS : this.options.pingEveryMs);
    const pc = a.pc;
    if (pc && this.cb.onPath) {
      pc.getStats().then(
        (report) => {
          const path = this.current(n) && selectedPath(report);
          if (path) this.cb.onPath?.(path);
        },
        () => undefined,
      );
    }
    // 'connected' once the host has welcomed us (see onMessage).
  }

  private keepalive(n: number): void {
    const a = this.current(n);
    if (!a || !a.open) return;
    if (a.relay) {
      // The relay's stall timer: a ping every 250 ms, given up after 1,000 ms of silence.
      let ping: Uint8Array | null;
      try {
        ping = a.relay.tick(Date.now());
      } catch (e) {
        this.relayLost(e);
        return;
      }
      if (ping) this.send(ping);
      a.timer = setTimeout(() => this.keepalive(n), RELAY_PING_EVERY_MS / 2);
      return;
    }
    if (Date.now() - a.lastHeard > this.options.silenceMs) {
      this.linkLost('the host stopped responding');
      return;
    }
    a.pings += 1n;
    this.send(ClientSession.ping(a.pings));
    a.timer = setTimeout(() => this.keepalive(n), this.options.pingEveryMs);
  }

  /** The relay link failed (tampering, a drop, a bye, a stall): back to the host, which serves
   *  us directly or under another relay; the session keeps what it verified (no gap, no duplicate). */
  private relayLost(e: unknown): void {
    const why = e instanceof RelayChildFailure ? e.message : `relay link: ${String(e)}`;
    if (e instanceof RelayChildFailure && (e.code === 'relay' || e.code === 'frame' || e.code === 'wrong_session')) {
      this.send(ClientSession.protocolError(e.detail || e.code));
    }
    if (!(e instanceof RelayChildFailure && e.code === 'relay_left')) this.send(ClientSession.bye());
    this.linkLost(why, true);
  }

  /** Sends a host <-> relay frame (RelayParent's accept, refuse, candidate, child_gone, route) to
   *  the host: on the link when it is the host's, sealed as relay_routed when it is a parent's
   *  (only once that parent welcomed us); false when it cannot go. */
  private sendToHost(frame: Uint8Array): boolean {
    const a = this.attempt;
    if (!a?.open) return false;
    if (!a.relay) return this.send(frame);
    if (!a.route || !a.relay.welcomed) return false;
    let routed: Uint8Array;
    try {
      routed = encodeFrame({ type: 'relay_routed', sealed: a.route.sealer.seal(frame) });
    } catch {
      return false; // too large for a seal, or the counter is spent
    }
    return this.send(routed);
  }

  /** relay_routed from our parent: sealed by the host for us (the parent could neither read nor
   *  alter it). One that does not open (altered, replayed) or carries anything but relay_intro,
   *  relay_candidate or relay_route is dropped: what it carried times out at the host. */
  private routedFromParent(a: Attempt, bytes: Uint8Array): void {
    a.relay!.heard(Date.now());
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (e) {
      this.relayLost(new RelayChildFailure('frame', e instanceof FrameError ? e.code : String(e)));
      return;
    }
    if (frame.type !== 'relay_routed' || !a.relay!.welcomed) {
      this.relayLost(new RelayChildFailure('frame', 'unexpected_frame'));
      return;
    }
    let inner: Frame;
    try {
      inner = decodeFrame(a.route!.opener.open(frame.sealed));
    } catch {
      return;
    }
    if (inner.type === 'relay_intro' || inner.type === 'relay_candidate' || inner.type === 'relay_route') this.relayParent?.hostIntroFrame(inner);
  }

  private onRelayMessage(n: number, a: Attempt, bytes: Uint8Array): void {
    const rp = this.relayParent;
    if (rp && a.route && bytes.length && bytes[0] === RELAY_ROUTED) {
      this.routedFromParent(a, bytes);
      return;
    }
    let events: SessionEvent[];
    try {
      events = a.relay!.receive(bytes, Date.now());
    } catch (e) {
      this.relayLost(e);
      return;
    }
    if (rp && a.route && a.relay!.welcomed && bytes.length && bytes[0] >= RELAY_RECORD && bytes[0] <= RELAY_CHECKPOINT) {
      // Our parent's stream, verified by our own link: the ring our children are served from.
      rp.hostRelayFrame(bytes, a.relay!.verified);
    }
    for (const ev of events) {
      this.cb.onSessionEvent(ev);
      if (ev.type === 'welcomed') {
        if (rp && a.route && this.session.sessionId) {
          // Below a relay, the host learns our capacity through our parent (a direct viewer's
          // hello carries it): relay_offer, sealed for the host.
          rp.linkWelcomed(this.session.sessionId, a.relay!.verified);
          const capacity = Math.min(this.session.relayCapacity, MAX_RELAY_CHILDREN);
          if (capacity >= 1) this.sendToHost(encodeFrame({ type: 'relay_offer', capacity: BigInt(capacity) }));
        }
        this.cb.onStatus('connected', 'via relay');
        perfMark('welcomed', n, { relay: true });
        if (!a.firstEventMarked && ev.headSeq <= this.session.position.last_seq) {
          a.firstEventMarked = true;
          perfMark('first-event', n, { atWelcome: true });
        }
      } else if (ev.type === 'applied' && !a.firstEventMarked) {
        a.firstEventMarked = true;
        perfMark('first-event', n, { atWelcome: false });
      }
    }
  }

  private onMessage(n: number, bytes: Uint8Array): void {
    const a = this.current(n);
    if (!a || !a.open) return;
    a.lastHeard = Date.now();
    if (a.relay) {
      this.onRelayMessage(n, a, bytes);
      return;
    }
    const rp = this.relayParent;
    if (rp && this.session.relayStream && bytes.length && (bytes[0] === 0x0e || bytes[0] === 0x11 || bytes[0] === 0x15)) {
      // The host introducing a child to us, or speaking to a child of ours that relays too
      // (relay_route): taken off the link before the session (which refuses them, as on every
      // link that is not a relay's).
      let frame;
      try {
        frame = decodeFrame(bytes);
      } catch (e) {
        const code = e instanceof FrameError ? e.code : String(e);
        this.send(ClientSession.protocolError(code));
        this.send(ClientSession.bye());
        this.linkLost(`bad frame from the host: ${code}`);
        return;
      }
      rp.hostIntroFrame(frame);
      return;
    }
    const wasWelcomed = this.session.welcomed;
    let events: SessionEvent[];
    try {
      events = this.session.receive(bytes);
      if (rp && this.session.relayStream && this.session.welcomed) {
        if (!wasWelcomed) rp.linkWelcomed(this.session.sessionId!, this.session.hostRelayVerified);
        else if (bytes[0] >= RELAY_RECORD && bytes[0] <= RELAY_CHECKPOINT) rp.hostRelayFrame(bytes, this.session.hostRelayVerified);
      }
    } catch (e) {
      const code = e instanceof FrameError || e instanceof RelayError ? e.code : String(e);
      this.send(ClientSession.protocolError(code));
      this.send(ClientSession.bye());
      this.linkLost(`bad frame from the host: ${code}`);
      return;
    }
    for (const ev of events) {
      if (ev.type === 'ping') {
        this.send(ClientSession.pong(ev.nonce));
        continue;
      }
      if (ev.type === 'session_changed') {
        // Another session behind the same link: drop the local copy and start from 0.
        this.session.reset();
        this.cb.onSessionEvent(ev);
        this.linkLost('the host started over');
        return;
      }
      if (ev.type === 'host_error' && ev.code === STATUS.resume_unavailable) {
        this.session.reset();
        this.cb.onSessionEvent({ type: 'session_changed' });
      }
      this.cb.onSessionEvent(ev);
      if (ev.type === 'welcomed') {
        this.cb.onStatus('connected', '');
        perfMark('welcomed', n);
        if (!a.firstEventMarked && ev.headSeq <= this.session.position.last_seq) {
          a.firstEventMarked = true;
          perfMark('first-event', n, { atWelcome: true });
        }
      } else if (ev.type === 'applied' && !a.firstEventMarked && this.session.welcomed) {
        a.firstEventMarked = true;
        perfMark('first-event', n, { atWelcome: false });
      }
      if (ev.type === 'host_left') {
        if (ev.reason === STATUS.shutdown) {
          this.end('session_ended', ev.text);
          return;
        }
        if (ev.reason === STATUS.removed) {
          this.end('removed', ev.text); // removed by the host: never reconnect
          return;
        }
        this.linkLost(ev.text || 'the host closed the link');
        return;
      }
    }
    this.acknowledge(n);
  }

  /** Sends an ack when one is due, or schedules one for when it will be (protocol version 2). */
  private acknowledge(n: number): void {
    const a = this.current(n);
    if (!a || !a.open) return;
    const ack = this.session.takeAck(Date.now());
    if (ack) {
      this.send(ack);
      return;
    }
    const due = this.session.ackDueMs();
    if (due === null || a.ackTimer) return;
    a.ackTimer = true;
    setTimeout(() => {
      const cur = this.current(n);
      if (cur) cur.ackTimer = false;
      this.acknowledge(n);
    }, Math.max(0, due - Date.now()));
  }
}
