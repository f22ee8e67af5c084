// Per-peer flow control and pacing (docs/PROTOCOL.md §4.8), mirroring
// src/core/log/flow_control.cpp: a version 2 peer acknowledges, and the host keeps at most a
// window of unacknowledged bytes in flight, sized from the measured delivery rate and minimum
// round trip; live frames are paced to one per interval. Time is a parameter.
import { ACK_DELAY_MS } from '../protocol/frames';

export interface FlowOptions {
  minWindowBytes: number;
  maxWindowBytes: number;
  perFrameOverheadBytes: number; // SCTP, DTLS, UDP and IP headers of one message
  paceIntervalMs: number; // 0: no pacing
}

export const DEFAULT_FLOW: FlowOptions = {
  minWindowBytes: 1024,
  maxWindowBytes: 256 * 1024,
  perFrameOverheadBytes: 85,
  paceIntervalMs: 16,
};

// A minimum round trip older than this is measured again after a drain (see acked()).
const MIN_RTT_HORIZON_MS = 10_000;
const RATE_DECAY = 0.95;

export type FlowErrorName = 'ack_beyond_sent' | 'ack_went_back';
export class FlowError extends Error {
  constructor(readonly code: FlowErrorName) {
    super(code === 'ack_beyond_sent' ? 'ack for a sequence that was never sent' : 'ack below an earlier ack');
  }
}

export interface Gate {
  send: boolean;
  retryAtMs?: number; // only pacing holds the frame: ask again then
}

export class FlowControl {
  private readonly frames: { lastSeq: bigint; charged: number; sentMs: number; deliveredAtSend: number }[] = [];
  inFlight = 0;
  window: number;
  private sentSeq: bigint;
  ackedSeq: bigint;
  private delivered = 0;
  private rate = 0;
  private minRttMs: number | null = null;
  private minRttAtMs = 0;
  /** Set while the window is held at its floor to measure the expired minimum round trip again. */
  private drainSinceMs: number | null = null;
  private lastPacedMs: number | null = null;

  constructor(
    private readonly options: FlowOptions,
    readonly acks: boolean,
    startSeq: bigint,
  ) {
    this.window = options.minWindowBytes;
    this.sentSeq = startSeq;
    this.ackedSeq = startSeq;
  }

  /** True while the window is held at its floor to measure the minimum round trip again. */
  get draining(): boolean {
    return this.drainSinceMs !== null;
  }

  private charge(bytes: number): number {
    return bytes + this.options.perFrameOverheadBytes;
  }

  maySend(bytes: number, paced: boolean, nowMs: number): Gate {
    if (this.acks && this.inFlight > 0 && this.inFlight + this.charge(bytes) > this.window) return { send: false };
    if (paced && this.options.paceIntervalMs > 0 && this.lastPacedMs !== null) {
      const next = this.lastPacedMs + this.options.paceIntervalMs;
      if (nowMs < next) return { send: false, retryAtMs: next };
    }
    return { send: true };
  }

  sent(lastSeq: bigint, bytes: number, paced: boolean, nowMs: number): void {
    if (paced) this.lastPacedMs = nowMs;
    if (lastSeq > this.sentSeq) this.sentSeq = lastSeq;
    if (!this.acks) return;
    this.frames.push({ lastSeq, charged: this.charge(bytes), sentMs: nowMs, deliveredAtSend: this.delivered });
    this.inFlight += this.charge(bytes);
  }

  /** The peer holds everything up to `lastSeq`. Throws FlowError. */
  acked(lastSeq: bigint, nowMs: number): void {
    if (lastSeq > this.sentSeq) throw new FlowError('ack_beyond_sent');
    if (lastSeq < this.ackedSeq) throw new FlowError('ack_went_back');
    this.ackedSeq = lastSeq;
    let newest: (typeof this.frames)[number] | null = null;
    while (this.frames.length && this.frames[0].lastSeq <= lastSeq) {
      newest = this.frames.shift()!;
      this.inFlight -= newest.charged;
      this.delivered += newest.charged;
    }
    if (!newest) return;
    const rtt = Math.max(1, nowMs - newest.sentMs);
    if (this.minRttMs === null || rtt <= this.minRttMs) {
      this.minRttMs = rtt;
      this.minRttAtMs = nowMs;
      this.drainSinceMs = null;
    } else if (this.drainSinceMs !== null) {
      // The first frame sent during the drain had at most the floor ahead of it.
      if (newest.sentMs >= this.drainSinceMs) {
        this.minRttMs = rtt;
        this.minRttAtMs = nowMs;
        this.drainSinceMs = null;
      }
    } else if (nowMs - this.minRttAtMs > MIN_RTT_HORIZON_MS) {
      // Expired: a sample now includes the queue the window keeps on a slow path, and a window
      // sized from it lets that queue grow each horizon. Drain to the floor, then measure.
      this.drainSinceMs = nowMs;
    }
    const sample = ((this.delivered - newest.deliveredAtSend) * 1000) / rtt;
    this.rate = Math.max(sample, this.rate * RATE_DECAY);
    if (this.drainSinceMs !== null) {
      this.window = this.options.minWindowBytes;
      return;
    }
    const wanted = 2 * this.rate * (((this.minRttMs ?? 0) + ACK_DELAY_MS) / 1000);
    this.window = Math.min(this.options.maxWindowBytes, Math.max(this.options.minWindowBytes, Math.floor(wanted)));
  }
}
