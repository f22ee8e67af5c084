// The host's session logic, sans I/O (docs/PROTOCOL.md §4), mirroring
// src/core/session/host_session.cpp: peers and their frames, the prompt queue, turns, what each
// peer is owed (catch-up, live, flow control). The page feeds it inputs with the time and
// carries out what it asks through HostIo.
//
// Durability: every event goes to HostIo.persist() first and becomes visible to peers only when
// durable() reports it stored (IndexedDB), so a peer never holds an event a reload takes back.
import {
  decodeFrame,
  encodeFrame,
  FRAME_ERROR_MESSAGES,
  FrameError,
  HOST_PROTOCOL_VERSION,
  PROMPT_AWAITS_APPROVAL,
  PROMPT_DECLINED,
  SIGNATURE_VERSION,
  STATUS,
  type Event,
  type Frame,
  type TurnEnd,
  type TurnRole,
} from '../protocol/frames';
import { DEFAULT_FLOW, FlowControl, FlowError, type FlowOptions } from './flow-control';
import { MAX_DELTA_BYTES, SessionLog, type EventBody } from './log';
import { foldName, neutralizeLine, reservedName, utf8Prefix } from './names';
import { DEFAULT_MAX_PENDING_BYTES, OutboundQueue } from './outbound-queue';
import { concatAll, utf8 } from '../protocol/bytes';

export type ConnId = number;

/** The error a participant gets when it tries to stop an answer to someone else's prompt. */
export const ONLY_ASKER_MAY_CANCEL = 'only the asker or the host can stop this answer';

export interface ChatMessage {
  role: TurnRole;
  content: string;
}

export interface HostIo {
  /** Store this event durably; report with HostSession.durable(). */
  persist(event: Event): void;
  /** This peer has frames to send: call nextFrame() until it returns null. */
  framesReady(conn: ConnId): void;
  /** Pacing holds this peer's next frame until atMs: call nextFrame() again then. */
  wakeAt(conn: ConnId, atMs: number): void;
  /** Generate the answer of `turn`; report with llmDelta / llmDone / llmError. */
  startGeneration(turn: bigint, history: ChatMessage[]): void;
  /** Stop the generation in progress; later reports for its turn are ignored. */
  cancelGeneration(): void;
  /** Protocol version 4: sign the transcript of the durable log up to `seq` (a turn_ended; the
   *  latest one of a commit) and report with HostSession.signed(). Optional: without it no
   *  signature frames are sent. */
  signTranscript?(seq: bigint): void;
}

/** The host's signature over the transcript up to `seq` (the signature frame's fields). */
export interface TranscriptSignature {
  seq: bigint;
  turns: bigint;
  signature: Uint8Array;
}

export interface HostSessionConfig {
  sessionId: Uint8Array;
  modelName: string;
  hostName: string;
  llmAttached: boolean;
  noModelReason: string; // the error turn a participant's prompt gets with no model
  restartReason: string; // how a turn the page's reload interrupted ends
  maxPeers: number;
  maxPromptBytes: number;
  maxPendingPromptsPerPeer: number;
  promptBurst: number;
  promptRefillMs: number;
  maxSessionPrompts: number;
  /** Participants' prompts wait for the host (approvePrompt / declinePrompt), as `tokencast
   *  host --approve`; the page can switch it at any time (setApprovePrompts). */
  approvePrompts: boolean;
  maxHeldPrompts: number; // held prompts in all; each also counts against its author's pending limit
  maxHistoryBytes: number;
  maxNameBytes: number;
  helloTimeoutMs: number;
  silenceTimeoutMs: number;
  maxPendingBytes: number;
  flow: FlowOptions;
}

export function hostSessionConfig(sessionId: Uint8Array, overrides: Partial<HostSessionConfig> = {}): HostSessionConfig {
  return {
    sessionId,
    modelName: 'model',
    hostName: 'host',
    llmAttached: true,
    noModelReason: NO_MODEL_REASON,
    restartReason: 'the host page was reloaded during this turn',
    maxPeers: 1000,
    maxPromptBytes: 8192,
    maxPendingPromptsPerPeer: 4,
    promptBurst: 5,
    promptRefillMs: 5000,
    maxSessionPrompts: 1000,
    approvePrompts: false,
    maxHeldPrompts: 256,
    maxHistoryBytes: 256 * 1024,
    maxNameBytes: 64,
    helloTimeoutMs: 10_000,
    silenceTimeoutMs: 15_000,
    maxPendingBytes: DEFAULT_MAX_PENDING_BYTES,
    flow: DEFAULT_FLOW,
    ...overrides,
  };
}

export const NO_MODEL_REASON = 'no model attached: choose a model server on the host page';

type Phase = 'awaiting_hello' | 'active' | 'closing';

interface Peer {
  role: 'viewer' | 'participant';
  phase: Phase;
  id: bigint;
  version: number; // the hello's
  name: string;
  openedAtMs: number;
  lastHeardMs: number;
  direct: Uint8Array[]; // frames before the queue exists (refusals)
  queue: OutboundQueue | null;
  flow: FlowControl | null;
  pendingPrompts: number;
  promptTokens: number;
  promptRefilledMs: number | null;
}

interface Prompt {
  conn: ConnId; // 0: the host
  author: string;
  text: string;
  id: number; // held prompts' number for the host (0 for the others)
}

/** A participant's prompt waiting for the host's approval. */
export interface HeldPrompt {
  id: number;
  author: string;
  text: string;
}

export interface OutFrame {
  bytes: Uint8Array;
  last: boolean; // a bye: send it, then close the link
}

export interface PeerInfo {
  conn: ConnId;
  id: bigint;
  name: string;
  role: 'viewer' | 'participant';
}

export class HostSession {
  private readonly log = new SessionLog(); // every appended event
  private readonly visible = new SessionLog(); // the durable prefix: what peers' queues read
  private readonly peers = new Map<ConnId, Peer>();
  private readonly prompts: Prompt[] = [];
  private readonly held: Prompt[] = []; // waiting for the host's approval, oldest first
  private nextHeldId = 1;
  private approve: boolean;
  private nextConn = 1;
  private nextPeer = 1n;
  private generating = false;
  private asker: ConnId = 0; // whose prompt the answer being generated answers; 0: the host's
  private sessionPrompts = 0;
  private turnTokens = 0n;
  private readonly namesInUse = new Map<string, number>();
  private signature: TranscriptSignature | null = null;

  private constructor(
    private readonly config: HostSessionConfig,
    private readonly io: HostIo,
  ) {
    this.approve = config.approvePrompts;
  }

  /** A session whose stored events are `stored` (already durable). A turn a reload left open is
   *  ended with an error and peers left present are marked gone. Throws LogError. */
  static create(config: HostSessionConfig, stored: readonly Event[], io: HostIo, nowMs: number): HostSession {
    const session = new HostSession(config, io);
    const present = new Set<bigint>();
    let maxPeer = 0n;
    for (const e of stored) {
      session.log.append(e);
      session.visible.append(e);
      if (e.type === 'peer_joined') {
        present.add(e.peer);
        if (e.peer > maxPeer) maxPeer = e.peer;
      } else if (e.type === 'peer_left') present.delete(e.peer);
    }
    session.nextPeer = maxPeer + 1n;
    // The stored log is durable: its last ended turn is signed (reloaded page, late joiners).
    let lastEnd = 0n;
    for (const e of stored) if (e.type === 'turn_ended') lastEnd = e.seq;
    if (lastEnd > 0n) io.signTranscript?.(lastEnd);
    if (session.log.openTurn !== null) session.endTurn('error', config.restartReason, nowMs);
    for (const peer of [...present].sort((a, b) => (a < b ? -1 : 1))) session.append({ type: 'peer_left', peer });
    return session;
  }

  get sessionLog(): SessionLog {
    return this.log;
  }

  private append(body: EventBody): Event | null {
    let event: Event;
    try {
      event = this.log.append(body);
    } catch {
      return null; // refused by the log's rules: nothing persisted, nothing shown
    }
    this.io.persist(event);
    return event;
  }

  /** Events up to `upTo` are stored: peers may have them now. */
  durable(upTo: bigint): void {
    if (upTo > this.log.head) upTo = this.log.head;
    if (upTo <= this.visible.head) return;
    const from = this.visible.head + 1n;
    let lastEnd = 0n;
    for (let seq = from; seq <= upTo; seq++) {
      const e = this.log.at(seq);
      this.visible.append(e);
      if (e.type === 'turn_ended') lastEnd = seq;
    }
    for (const [conn, peer] of this.peers) {
      if (peer.phase !== 'active' || !peer.queue) continue;
      try {
        for (let seq = from; seq <= upTo; seq++) peer.queue.pushEvent(this.visible.at(seq));
      } catch {
        /* an overflow turns into an error and a bye inside the queue */
      }
      this.io.framesReady(conn);
    }
    if (lastEnd > 0n) this.io.signTranscript?.(lastEnd);
  }

  /** The signature the runtime made for the durable log up to `sig.seq`: kept (the latest one)
   *  and sent to every version 4 peer. */
  signed(sig: TranscriptSignature): void {
    if (sig.seq > this.visible.head || (this.signature && sig.seq <= this.signature.seq)) return;
    this.signature = sig;
    for (const [conn, peer] of this.peers) {
      if (peer.phase === 'active' && peer.version >= SIGNATURE_VERSION) this.sendControl(conn, peer, { type: 'signature', ...sig });
    }
  }

  latestSignature(): TranscriptSignature | null {
    return this.signature;
  }

  peerOpened(role: 'viewer' | 'participant', nowMs: number): ConnId {
    const conn = this.nextConn++;
    this.peers.set(conn, {
      role,
      phase: 'awaiting_hello',
      id: 0n,
      version: 0,
      name: '',
      openedAtMs: nowMs,
      lastHeardMs: nowMs,
      direct: [],
      queue: null,
      flow: null,
      pendingPrompts: 0,
      promptTokens: 0,
      promptRefilledMs: null,
    });
    return conn;
  }

  private sendControl(conn: ConnId, peer: Peer, frame: Frame): void {
    const bytes = encodeFrame(frame);
    if (peer.queue) {
      try {
        peer.queue.pushFrame(bytes);
      } catch {
        return;
      }
    } else {
      peer.direct.push(bytes);
    }
    this.io.framesReady(conn);
  }

  private refuse(conn: ConnId, peer: Peer, code: bigint, text: string): void {
    if (peer.phase === 'closing') return;
    this.sendControl(conn, peer, { type: 'error', code, text });
    this.sendControl(conn, peer, { type: 'bye', reason: code, text });
    peer.phase = 'closing';
  }

  peerFrame(conn: ConnId, bytes: Uint8Array, nowMs: number): void {
    const peer = this.peers.get(conn);
    if (!peer || peer.phase === 'closing') return;
    peer.lastHeardMs = nowMs;
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
      if (
        frame.type === 'welcome' ||
        frame.type === 'events' ||
        frame.type === 'delta' ||
        frame.type === 'signature' ||
        frame.type.startsWith('relay_') // this host has no relays: no introductions either way
      ) {
        throw new FrameError('unexpected_frame');
      }
    } catch (e) {
      const code = e instanceof FrameError ? e.code : 'truncated';
      if (code === 'unknown_version') {
        this.refuse(conn, peer, STATUS.unsupported_version, 'this host does not speak your protocol version');
      } else {
        this.refuse(conn, peer, STATUS.protocol_error, FRAME_ERROR_MESSAGES[code]);
      }
      return;
    }
    if (peer.phase === 'awaiting_hello') {
      if (frame.type === 'hello') this.onHello(conn, peer, frame);
      else this.refuse(conn, peer, STATUS.protocol_error, 'the first frame must be a hello');
      return;
    }
    switch (frame.type) {
      case 'hello':
        this.refuse(conn, peer, STATUS.protocol_error, 'hello sent twice');
        break;
      case 'prompt':
        this.onPrompt(conn, peer, frame.text, nowMs);
        break;
      case 'cancel':
        this.onCancel(conn, peer, frame.turn, nowMs);
        break;
      case 'ack':
        this.onAck(conn, peer, frame.last_seq, nowMs);
        break;
      case 'ping':
        this.sendControl(conn, peer, { type: 'pong', nonce: frame.nonce });
        break;
      case 'bye':
        peer.phase = 'closing';
        this.sendControl(conn, peer, { type: 'bye', reason: STATUS.normal, text: 'goodbye' });
        break;
      default:
        break; // pongs and error reports need no answer
    }
  }

  private onHello(conn: ConnId, peer: Peer, hello: Extract<Frame, { type: 'hello' }>): void {
    let active = 0;
    for (const p of this.peers.values()) if (p.phase === 'active') active++;
    if (active >= this.config.maxPeers) {
      this.refuse(conn, peer, STATUS.busy, 'the session is full; try again later');
      return;
    }
    try {
      peer.queue = OutboundQueue.create(this.visible, hello.last_seq, this.config.maxPendingBytes);
    } catch {
      this.refuse(conn, peer, STATUS.resume_unavailable, 'this host does not have the events you hold: start over from an empty transcript');
      return;
    }
    peer.flow = new FlowControl(this.config.flow, hello.version >= 2, hello.last_seq);
    peer.phase = 'active';
    // A version 5 hello (a relay capacity on offer) is served as version 4: this host streams
    // no relay stream, and the client speaks the version its welcome names.
    peer.version = Math.min(hello.version, HOST_PROTOCOL_VERSION);
    peer.id = this.nextPeer++;
    peer.name = this.cleanName(hello.display_name, peer.id);
    const key = foldName(peer.name);
    this.namesInUse.set(key, (this.namesInUse.get(key) ?? 0) + 1);
    this.sendControl(conn, peer, {
      type: 'welcome',
      version: peer.version,
      session_id: this.config.sessionId,
      role: peer.role,
      peer: peer.id,
      head_seq: this.visible.head,
    });
    // The latest signature, ahead of the catch-up that brings the events it covers.
    if (this.signature && peer.version >= SIGNATURE_VERSION) this.sendControl(conn, peer, { type: 'signature', ...this.signature });
    this.append({ type: 'peer_joined', peer: peer.id, role: peer.role, name: peer.name });
  }

  private onPrompt(conn: ConnId, peer: Peer, text: string, nowMs: number): void {
    const error = (code: bigint, msg: string) => this.sendControl(conn, peer, { type: 'error', code, text: msg });
    const size = utf8(text).length;
    if (peer.role !== 'participant') return error(STATUS.not_permitted, 'this link is for viewers: ask the host for the participant link');
    if (size === 0 || size > this.config.maxPromptBytes) {
      return error(STATUS.protocol_error, `a prompt must have 1 to ${this.config.maxPromptBytes} bytes`);
    }
    if (peer.pendingPrompts >= this.config.maxPendingPromptsPerPeer) return error(STATUS.busy, 'you have too many prompts waiting; try later');
    if (this.sessionPrompts >= this.config.maxSessionPrompts) {
      return error(STATUS.busy, `this session has reached its limit of ${this.config.maxSessionPrompts} prompts`);
    }
    if (!this.takePromptToken(peer, nowMs)) return error(STATUS.busy, 'you are sending prompts too fast; wait a few seconds');
    if (this.approve && this.held.length >= this.config.maxHeldPrompts) return error(STATUS.busy, 'the host has too many prompts to review; try later');
    this.sessionPrompts += 1;
    peer.pendingPrompts += 1;
    if (this.approve) {
      this.held.push({ conn, author: peer.name, text, id: this.nextHeldId++ });
      return error(STATUS.busy, PROMPT_AWAITS_APPROVAL);
    }
    this.prompts.push({ conn, author: peer.name, text, id: 0 });
    this.maybeStartNextTurn(nowMs);
  }

  /** Whether participants' prompts wait for the host. Switching it off holds no new prompt;
   *  those already held stay until the host accepts or rejects them. */
  get approvePrompts(): boolean {
    return this.approve;
  }
  setApprovePrompts(on: boolean): void {
    this.approve = on;
  }

  /** Prompts waiting for the host's approval, oldest first. */
  heldPrompts(): HeldPrompt[] {
    return this.held.map(({ id, author, text }) => ({ id, author, text }));
  }

  /** Queues a held prompt (answered in turn, attributed to its author); false when no prompt
   *  has that id. */
  approvePrompt(id: number, nowMs: number): boolean {
    const i = this.held.findIndex((p) => p.id === id);
    if (i < 0) return false;
    this.prompts.push(this.held.splice(i, 1)[0]);
    this.maybeStartNextTurn(nowMs);
    return true;
  }

  /** Drops a held prompt and tells its author (not_permitted "the host declined your prompt");
   *  false when no prompt has that id. */
  declinePrompt(id: number): boolean {
    const i = this.held.findIndex((p) => p.id === id);
    if (i < 0) return false;
    const [prompt] = this.held.splice(i, 1);
    const peer = this.peers.get(prompt.conn);
    if (peer) {
      if (peer.pendingPrompts > 0) peer.pendingPrompts -= 1;
      if (peer.phase === 'active') this.sendControl(prompt.conn, peer, { type: 'error', code: STATUS.not_permitted, text: PROMPT_DECLINED });
    }
    return true;
  }

  private onAck(conn: ConnId, peer: Peer, lastSeq: bigint, nowMs: number): void {
    if (!peer.flow || !peer.flow.acks) {
      this.refuse(conn, peer, STATUS.protocol_error, 'ack frames need protocol version 2');
      return;
    }
    try {
      peer.flow.acked(lastSeq, nowMs);
    } catch (e) {
      this.refuse(conn, peer, STATUS.protocol_error, e instanceof FlowError ? e.message : 'bad ack');
      return;
    }
    if (peer.queue?.hasFrames()) this.io.framesReady(conn); // the window opened
  }

  /** Only the participant who asked the open answer's prompt may stop it (the host always can). */
  private onCancel(conn: ConnId, peer: Peer, turn: bigint, nowMs: number): void {
    if (peer.role !== 'participant') {
      this.sendControl(conn, peer, { type: 'error', code: STATUS.not_permitted, text: 'viewers cannot cancel turns' });
      return;
    }
    if (!this.generating || this.log.openTurn !== turn) return; // a race with the turn's end: harmless
    if (conn !== this.asker) {
      this.sendControl(conn, peer, { type: 'error', code: STATUS.not_permitted, text: ONLY_ASKER_MAY_CANCEL });
      return;
    }
    this.io.cancelGeneration();
    this.endTurn('cancelled', `cancelled by ${peer.name}`, nowMs);
    this.maybeStartNextTurn(nowMs);
  }

  private maybeStartNextTurn(nowMs: number): void {
    while (this.log.openTurn === null && this.prompts.length) {
      const prompt = this.prompts.shift()!;
      const asker = this.peers.get(prompt.conn);
      if (asker && asker.pendingPrompts > 0) asker.pendingPrompts -= 1;
      const asked = this.log.lastTurn + 1n;
      const at_ms = BigInt(nowMs);
      this.append({ type: 'turn_started', turn: asked, role: 'user', author: prompt.author, at_ms });
      this.appendText(asked, prompt.text);
      this.append({ type: 'turn_ended', turn: asked, end: 'done', reason: '', token_count: 0n, at_ms });
      const answer = asked + 1n;
      if (!this.config.llmAttached) {
        this.append({ type: 'turn_started', turn: answer, role: 'assistant', author: 'tokencast', at_ms });
        this.append({ type: 'turn_ended', turn: answer, end: 'error', reason: this.config.noModelReason, token_count: 0n, at_ms });
        continue;
      }
      this.append({ type: 'turn_started', turn: answer, role: 'assistant', author: this.config.modelName, at_ms });
      this.asker = prompt.conn;
      this.generating = true;
      this.turnTokens = 0n;
      this.io.startGeneration(answer, this.history());
    }
  }

  /** Appends text to an open turn as deltas of at most MAX_DELTA_BYTES (cut by bytes, as C++). */
  private appendText(turn: bigint, text: string | Uint8Array): void {
    const bytes = typeof text === 'string' ? utf8(text) : text;
    for (let at = 0; at < bytes.length; at += MAX_DELTA_BYTES) {
      this.append({ type: 'text_delta', turn, span: 1n, bytes: bytes.slice(at, at + MAX_DELTA_BYTES) });
    }
  }

  private endTurn(end: TurnEnd, reason: string, nowMs: number): void {
    const turn = this.log.openTurn;
    if (turn === null) return;
    this.append({ type: 'turn_ended', turn, end, reason: utf8Prefix(reason, 1024), token_count: this.turnTokens, at_ms: BigInt(nowMs) });
    this.generating = false;
    this.turnTokens = 0n;
  }

  llmDelta(turn: bigint, bytes: Uint8Array | string): void {
    if (!this.generating || this.log.openTurn !== turn || bytes.length === 0) return;
    this.appendText(turn, bytes);
    this.turnTokens += 1n;
  }

  llmDone(turn: bigint, tokenCount: bigint, nowMs: number): void {
    if (!this.generating || this.log.openTurn !== turn) return;
    if (tokenCount > 0n) this.turnTokens = tokenCount;
    this.endTurn('done', '', nowMs);
    this.maybeStartNextTurn(nowMs);
  }

  llmError(turn: bigint, reason: string, nowMs: number): void {
    if (!this.generating || this.log.openTurn !== turn) return;
    this.endTurn('error', reason, nowMs);
    this.maybeStartNextTurn(nowMs);
  }

  /** A prompt typed on the host page; with no model attached it is the answer everyone sees. */
  hostPrompt(text: string, nowMs: number): void {
    if (!text) return;
    if (!this.config.llmAttached) {
      if (this.log.openTurn !== null) return;
      const turn = this.log.lastTurn + 1n;
      this.append({ type: 'turn_started', turn, role: 'assistant', author: this.config.hostName, at_ms: BigInt(nowMs) });
      this.appendText(turn, text);
      this.append({ type: 'turn_ended', turn, end: 'done', reason: '', token_count: 1n, at_ms: BigInt(nowMs) });
      this.maybeStartNextTurn(nowMs);
      return;
    }
    this.prompts.push({ conn: 0, author: this.config.hostName, text, id: 0 });
    this.maybeStartNextTurn(nowMs);
  }

  hostCancel(nowMs: number): void {
    if (!this.generating) return;
    this.io.cancelGeneration();
    this.endTurn('cancelled', `cancelled by ${this.config.hostName}`, nowMs);
    this.maybeStartNextTurn(nowMs);
  }

  setMeta(title: string, model: string): void {
    this.append({ type: 'session_meta', title: utf8Prefix(title, 1024), model: utf8Prefix(model, 1024) });
  }

  peerClosed(conn: ConnId): void {
    const peer = this.peers.get(conn);
    if (!peer) return;
    if (peer.id !== 0n) {
      this.append({ type: 'peer_left', peer: peer.id });
      const key = foldName(peer.name);
      const n = this.namesInUse.get(key) ?? 0;
      if (n <= 1) this.namesInUse.delete(key);
      else this.namesInUse.set(key, n - 1);
    }
    this.peers.delete(conn);
  }

  nextFrame(conn: ConnId, nowMs: number): OutFrame | null {
    const peer = this.peers.get(conn);
    if (!peer) return null;
    if (peer.direct.length) {
      const bytes = peer.direct.shift()!;
      return { bytes, last: peer.direct.length === 0 && peer.phase === 'closing' };
    }
    const queue = peer.queue;
    if (!queue) return null;
    const next = queue.peek();
    if (!next) return null;
    if (next.events && peer.flow) {
      // Held back: pending events keep merging until the window opens or the pace allows.
      const gate = peer.flow.maySend(next.bytes, next.live, nowMs);
      if (!gate.send) {
        if (gate.retryAtMs !== undefined) this.io.wakeAt(conn, gate.retryAtMs);
        return null;
      }
    }
    const bytes = queue.pop();
    if (!bytes) return null;
    if (next.events && peer.flow) peer.flow.sent(queue.poppedSeq, bytes.length, next.live, nowMs);
    const last = queue.state === 'closed';
    if (last) peer.phase = 'closing';
    return { bytes, last };
  }

  /** Timeouts (hello, silent peers). Call every second or so. */
  tick(nowMs: number): void {
    for (const [conn, peer] of this.peers) {
      if (peer.phase === 'awaiting_hello' && nowMs - peer.openedAtMs > this.config.helloTimeoutMs) {
        this.refuse(conn, peer, STATUS.protocol_error, 'no hello in time');
      } else if (peer.phase === 'active' && nowMs - peer.lastHeardMs > this.config.silenceTimeoutMs) {
        this.refuse(conn, peer, STATUS.protocol_error, 'no keepalive from you in time');
      }
    }
  }

  /** The host removes the active peer shown as `name` (exact match, as the C++ host's
   *  remove_peer): its queued and held prompts are dropped and it is told bye removed, after which its
   *  link closes. The runtime bans its DTLS fingerprint. Returns its connection, or null. */
  removePeer(name: string): ConnId | null {
    for (const [conn, peer] of this.peers) {
      if (peer.phase !== 'active' || peer.name !== name) continue;
      for (let i = this.prompts.length - 1; i >= 0; i--) if (this.prompts[i].conn === conn) this.prompts.splice(i, 1);
      for (let i = this.held.length - 1; i >= 0; i--) if (this.held[i].conn === conn) this.held.splice(i, 1);
      peer.pendingPrompts = 0;
      this.sendControl(conn, peer, { type: 'bye', reason: STATUS.removed, text: 'the host removed you from the session' });
      peer.phase = 'closing';
      return conn;
    }
    return null;
  }

  /** Tells every peer the session ends (bye shutdown). */
  shutdown(): void {
    for (const [conn, peer] of this.peers) {
      if (peer.phase === 'closing') continue;
      this.sendControl(conn, peer, { type: 'bye', reason: STATUS.shutdown, text: 'the host ended the session' });
      peer.phase = 'closing';
    }
  }

  get status(): { peers: number; turn: bigint | null; generating: boolean; head: bigint; durable: bigint; heldPrompts: number } {
    let peers = 0;
    for (const p of this.peers.values()) if (p.phase === 'active') peers++;
    return { peers, turn: this.log.openTurn, generating: this.generating, head: this.log.head, durable: this.visible.head, heldPrompts: this.held.length };
  }

  /** The durable log (what peers can have been sent): what a signed export covers. */
  durableEvents(): readonly Event[] {
    return this.visible.all();
  }

  activePeers(): PeerInfo[] {
    const out: PeerInfo[] = [];
    for (const [conn, p] of this.peers) if (p.phase === 'active') out.push({ conn, id: p.id, name: p.name, role: p.role });
    return out;
  }

  /** Finished turns, newest last, within maxHistoryBytes; failed answers left out. */
  history(): ChatMessage[] {
    const events = this.log.all();
    const out: ChatMessage[] = [];
    let bytes = 0;
    let i = events.length;
    while (i > 0) {
      const ended = events[--i];
      if (ended.type !== 'turn_ended') continue;
      const endIndex = i;
      let size = 0;
      let started: Extract<Event, { type: 'turn_started' }> | null = null;
      while (i > 0 && !started) {
        const e = events[--i];
        if (e.type === 'text_delta' && e.turn === ended.turn) size += e.bytes.length;
        else if (e.type === 'turn_started' && e.turn === ended.turn) started = e;
      }
      if (!started) break;
      if (ended.end === 'error' || size === 0) continue;
      if (bytes + size > this.config.maxHistoryBytes && out.length) break;
      bytes += size;
      const parts: Uint8Array[] = [];
      for (let k = i + 1; k < endIndex; k++) {
        const e = events[k];
        if (e.type === 'text_delta' && e.turn === ended.turn) parts.push(e.bytes);
      }
      const content = new TextDecoder().decode(concatAll(parts));
      out.push({ role: started.role, content });
    }
    return out.reverse();
  }

  private takePromptToken(peer: Peer, nowMs: number): boolean {
    const burst = this.config.promptBurst;
    const period = Math.max(1, this.config.promptRefillMs);
    if (peer.promptRefilledMs === null) {
      peer.promptTokens = burst;
      peer.promptRefilledMs = nowMs;
    } else if (nowMs > peer.promptRefilledMs) {
      const periods = Math.floor((nowMs - peer.promptRefilledMs) / period);
      const room = burst - Math.min(burst, peer.promptTokens);
      peer.promptTokens += Math.min(periods, room);
      // A full bucket does not save up; a partial one keeps the time already served.
      peer.promptRefilledMs = peer.promptTokens >= burst ? nowMs : peer.promptRefilledMs + periods * period;
    }
    if (peer.promptTokens === 0) return false;
    peer.promptTokens -= 1;
    return true;
  }

  private cleanName(name: string, id: bigint): string {
    const max = this.config.maxNameBytes;
    let cleaned = utf8Prefix(neutralizeLine(name), max);
    if (!foldName(cleaned) || reservedName(cleaned, this.config.hostName)) cleaned = `guest-${id}`;
    const inUse = (n: string) => this.namesInUse.has(foldName(n));
    if (!inUse(cleaned)) return cleaned;
    for (let n = 2; ; n++) {
      const suffix = ` (${n})`;
      const candidate = utf8Prefix(cleaned, max - Math.min(max, suffix.length)) + suffix;
      if (!reservedName(candidate, this.config.hostName) && !inUse(candidate)) return candidate;
    }
  }
}
