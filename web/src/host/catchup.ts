// Catch-up (docs/PROTOCOL.md §4.7), mirroring src/core/log/catchup*.cpp: events frames filled
// up to MAX_FRAME_BYTES, runs of consecutive deltas of one turn merged, every frame ending on
// an exact log sequence (a merged delta is split only between two log deltas).
import { concat } from '../protocol/bytes';
import { deltaEventSize, encodeFrame, eventSize, eventsHeaderSize, MAX_FRAME_BYTES, type Event } from '../protocol/frames';
import { LogError, type SessionLog } from './log';

export function lastSeqOf(e: Event): bigint {
  return e.seq + (e.type === 'text_delta' ? e.span : 1n) - 1n;
}

/** Packs consecutive events into one events frame, merging runs of deltas of one turn. */
export class EventBatch {
  private readonly events: Event[] = [];
  private bodyBytes = 0;
  // The open run of deltas: kept apart so it can grow until another event ends it.
  private run: { seq: bigint; turn: bigint; span: bigint; parts: Uint8Array[]; length: number } | null = null;

  get empty(): boolean {
    return this.events.length === 0 && this.run === null;
  }
  private get count(): number {
    return this.events.length + (this.run ? 1 : 0);
  }
  private get firstSeq(): bigint {
    return this.events.length ? this.events[0].seq : this.run!.seq;
  }
  private runSize(): number {
    return this.run ? deltaEventSize(this.run.turn, this.run.span, this.run.length) : 0;
  }

  /** Adds `e` (the next event) if the frame still fits; false otherwise (nothing changed). */
  tryAdd(e: Event): boolean {
    const first = this.empty ? e.seq : this.firstSeq;
    const run = this.run;
    if (e.type === 'text_delta' && run && e.turn === run.turn) {
      const merged =
        eventsHeaderSize(first, this.count) + this.bodyBytes + deltaEventSize(run.turn, run.span + e.span, run.length + e.bytes.length);
      if (merged > MAX_FRAME_BYTES) return false;
      run.span += e.span;
      run.parts.push(e.bytes);
      run.length += e.bytes.length;
      return true;
    }
    const added = eventSize(e);
    if (eventsHeaderSize(first, this.count + 1) + this.bodyBytes + this.runSize() + added > MAX_FRAME_BYTES) return false;
    this.flushRun();
    if (e.type === 'text_delta') {
      this.run = { seq: e.seq, turn: e.turn, span: e.span, parts: [e.bytes], length: e.bytes.length };
    } else {
      this.events.push(e);
      this.bodyBytes += added;
    }
    return true;
  }

  private flushRun(): void {
    const run = this.run;
    if (!run) return;
    const bytes = run.parts.length === 1 ? run.parts[0] : concat(...run.parts);
    this.events.push({ seq: run.seq, type: 'text_delta', turn: run.turn, span: run.span, bytes });
    this.bodyBytes += deltaEventSize(run.turn, run.span, run.length);
    this.run = null;
  }

  /** The events frame (the batch must not be empty). */
  finish(): Uint8Array {
    this.flushRun();
    return encodeFrame({ type: 'events', events: this.events.splice(0) });
  }
}

export interface PlannedFrame {
  bytes: Uint8Array;
  firstSeq: bigint;
  lastSeq: bigint;
}

/** Plans catch-up lazily, one frame per next(), reading the log by sequence. */
export class CatchupPlanner {
  private constructor(
    private readonly log: SessionLog,
    private cursorSeq: bigint,
  ) {}

  /** For a peer holding [1, lastSeq]. Throws LogError('beyond_head') past the head. */
  static create(log: SessionLog, lastSeq: bigint): CatchupPlanner {
    if (lastSeq > log.head || lastSeq < 0n) throw new LogError('beyond_head');
    return new CatchupPlanner(log, lastSeq);
  }

  get cursor(): bigint {
    return this.cursorSeq;
  }
  get level(): boolean {
    return this.cursorSeq >= this.log.head;
  }

  next(): PlannedFrame | null {
    const head = this.log.head;
    if (this.cursorSeq >= head) return null;
    const batch = new EventBatch();
    let seq = this.cursorSeq + 1n;
    // The first event always fits: the log bounds every event to fit a frame on its own.
    while (seq <= head && batch.tryAdd(this.log.at(seq))) seq += 1n;
    const frame = { bytes: batch.finish(), firstSeq: this.cursorSeq + 1n, lastSeq: seq - 1n };
    this.cursorSeq = seq - 1n;
    return frame;
  }
}

export function planCatchup(log: SessionLog, lastSeq: bigint): PlannedFrame[] {
  const planner = CatchupPlanner.create(log, lastSeq);
  const out: PlannedFrame[] = [];
  for (let f = planner.next(); f; f = planner.next()) out.push(f);
  return out;
}
