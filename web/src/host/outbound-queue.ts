// Per-peer outbound queue (docs/PROTOCOL.md §4.7-4.8), mirroring src/core/log/outbound_queue.cpp:
// catch-up planned lazily from the log, then live events (a span-1 delta as a delta frame),
// pending deltas of one turn merged while the peer is slow, pending memory bounded: past the
// bound everything pending is dropped for an error and a bye (slow_consumer).
import { concat } from '../protocol/bytes';
import { deltaEventSize, encodeFrame, eventSize, eventsHeaderSize, MAX_FRAME_BYTES, STATUS, type Event } from '../protocol/frames';
import { CatchupPlanner, EventBatch, lastSeqOf, type PlannedFrame } from './catchup';
import { MAX_DELTA_BYTES, type SessionLog } from './log';

export const DEFAULT_MAX_PENDING_BYTES = 1 << 20;

export type QueueState = 'catching_up' | 'live' | 'overflowed' | 'closed';
export type QueueErrorName = 'out_of_order' | 'overflowed' | 'closed';
export class QueueError extends Error {
  constructor(readonly code: QueueErrorName) {
    super(`queue: ${code}`);
  }
}

type Item = { frame: Uint8Array } | { event: Event };

export interface NextFrame {
  bytes: number; // exact for control and catch-up frames, an upper bound for pending events
  events: boolean; // carries log events
  live: boolean; // pending live events (pacing applies)
}

const isBye = (f: Uint8Array) => f.length > 0 && f[0] === 0x0a;

export class OutboundQueue {
  state: QueueState = 'catching_up';
  pendingBytes = 0;
  poppedSeq: bigint;
  private readonly items: Item[] = [];
  private planned: PlannedFrame | null = null;
  private liveSeq = 0n;
  private byeQueued = false;

  private constructor(
    private readonly log: SessionLog,
    private readonly planner: CatchupPlanner,
    private readonly maxPendingBytes: number,
  ) {
    this.poppedSeq = planner.cursor;
  }

  /** For a peer holding [1, peerLastSeq]. Throws LogError('beyond_head'). */
  static create(log: SessionLog, peerLastSeq: bigint, maxPendingBytes = DEFAULT_MAX_PENDING_BYTES): OutboundQueue {
    return new OutboundQueue(log, CatchupPlanner.create(log, peerLastSeq), maxPendingBytes);
  }

  hasFrames(): boolean {
    if (this.state === 'closed') return false;
    return this.items.length > 0 || this.planned !== null || (this.state === 'catching_up' && !this.planner.level);
  }

  peek(): NextFrame | null {
    if (this.state === 'closed') return null;
    const front = this.items[0];
    if (front) {
      if ('frame' in front) return { bytes: front.frame.length, events: false, live: false };
      let bytes = eventsHeaderSize(front.event.seq, this.items.length);
      for (const item of this.items) {
        if (!('event' in item) || bytes >= MAX_FRAME_BYTES) break;
        bytes += eventSize(item.event);
      }
      return { bytes: Math.min(bytes, MAX_FRAME_BYTES), events: true, live: true };
    }
    if (this.state === 'catching_up') {
      this.planned ??= this.planner.next();
      if (this.planned) return { bytes: this.planned.bytes.length, events: true, live: false };
      this.goLive();
    }
    return null;
  }

  private goLive(): void {
    this.state = 'live';
    this.liveSeq = this.planner.cursor;
  }

  private fits(more: number): boolean {
    return this.pendingBytes + more <= this.maxPendingBytes;
  }

  private overflow(): void {
    this.items.length = 0;
    this.state = 'overflowed';
    const error = encodeFrame({
      type: 'error',
      code: STATUS.slow_consumer,
      text: `slow consumer: more than ${this.maxPendingBytes} bytes pending; reconnect and resume from the last sequence received`,
    });
    const bye = encodeFrame({ type: 'bye', reason: STATUS.slow_consumer, text: 'slow consumer' });
    this.pendingBytes = error.length + bye.length;
    this.items.push({ frame: error }, { frame: bye });
    this.byeQueued = true;
  }

  private checkOpen(): void {
    if (this.state === 'overflowed') throw new QueueError('overflowed');
    if (this.state === 'closed' || this.byeQueued) throw new QueueError('closed');
  }

  /** Queues a frame that carries no events (welcome, pong, error, bye). Throws QueueError. */
  pushFrame(frame: Uint8Array): void {
    this.checkOpen();
    if (!this.fits(frame.length)) {
      this.overflow();
      throw new QueueError('overflowed');
    }
    this.byeQueued = isBye(frame);
    this.pendingBytes += frame.length;
    this.items.push({ frame });
  }

  private tryMerge(e: Event): boolean {
    if (e.type !== 'text_delta') return false;
    const back = this.items[this.items.length - 1];
    if (!back || !('event' in back) || lastSeqOf(back.event) + 1n !== e.seq) return false;
    const pending = back.event;
    if (pending.type !== 'text_delta' || pending.turn !== e.turn || pending.bytes.length + e.bytes.length > MAX_DELTA_BYTES) {
      return false;
    }
    const before = eventSize(pending);
    const after = deltaEventSize(e.turn, pending.span + e.span, pending.bytes.length + e.bytes.length);
    if (!this.fits(after - before)) {
      this.overflow();
      return true;
    }
    back.event = { ...pending, span: pending.span + e.span, bytes: concat(pending.bytes, e.bytes) };
    this.pendingBytes += after - before;
    return true;
  }

  /** Offers an event just appended to the log. Throws QueueError. */
  pushEvent(e: Event): void {
    this.checkOpen();
    if (this.state === 'catching_up') {
      if (e.seq >= 1n && e.seq <= this.log.head) return; // the planner will read it
      throw new QueueError('out_of_order');
    }
    if (e.seq >= 1n && lastSeqOf(e) <= this.liveSeq) return; // covered by catch-up already
    if (e.seq !== this.liveSeq + 1n) throw new QueueError('out_of_order');
    if (!this.tryMerge(e)) {
      const size = eventSize(e);
      if (!this.fits(size)) this.overflow();
      else {
        this.items.push({ event: e });
        this.pendingBytes += size;
      }
    }
    if (this.state === 'overflowed') throw new QueueError('overflowed');
    this.liveSeq = lastSeqOf(e);
  }

  private popEvents(): Uint8Array {
    const first = (this.items[0] as { event: Event }).event;
    if (first.type === 'text_delta' && first.span === 1n) {
      // The hot path: 1 byte of framing, sequence and turn implicit.
      this.pendingBytes -= eventSize(first);
      this.poppedSeq = first.seq;
      this.items.shift();
      return concat(Uint8Array.of(0x04), first.bytes);
    }
    const batch = new EventBatch();
    while (this.items.length) {
      const item = this.items[0];
      if (!('event' in item) || !batch.tryAdd(item.event)) break;
      this.pendingBytes -= eventSize(item.event);
      this.poppedSeq = lastSeqOf(item.event);
      this.items.shift();
    }
    return batch.finish();
  }

  pop(): Uint8Array | null {
    if (this.state === 'closed') return null;
    const front = this.items[0];
    if (front) {
      if ('frame' in front) {
        this.items.shift();
        this.pendingBytes -= front.frame.length;
        if (isBye(front.frame)) {
          this.state = 'closed';
          this.items.length = 0;
          this.pendingBytes = 0;
        }
        return front.frame;
      }
      return this.popEvents();
    }
    if (this.state === 'catching_up') {
      this.planned ??= this.planner.next();
      const planned = this.planned;
      this.planned = null;
      if (planned) {
        this.poppedSeq = planned.lastSeq;
        return planned.bytes;
      }
      this.goLive();
    }
    return null;
  }
}
