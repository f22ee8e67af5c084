// The host's session log (docs/PROTOCOL.md §4.5), mirroring src/core/log/session_log.cpp: every
// event gets the next sequence; appends obey the turn rules, turn ids only grow, one delta is
// at most MAX_DELTA_BYTES (so any one event fits a frame on its own).
import { isValidUtf8, utf8 } from '../protocol/bytes';
import { MAX_LABEL_BYTES, PEER_ROLES, TURN_ENDS, TURN_ROLES, type Event } from '../protocol/frames';

export const MAX_DELTA_BYTES = 16320;

export type LogErrorName =
  | 'turn_already_open'
  | 'no_open_turn'
  | 'turn_mismatch'
  | 'stale_turn_id'
  | 'sequence_gap'
  | 'bad_span'
  | 'delta_too_large'
  | 'string_too_long'
  | 'invalid_utf8'
  | 'bad_enum'
  | 'beyond_head';

export class LogError extends Error {
  constructor(readonly code: LogErrorName) {
    super(`log: ${code}`);
  }
}

/** An event as the host appends it: everything but its sequence. */
export type EventBody = Event extends infer E ? (E extends Event ? Omit<E, 'seq'> : never) : never;

function labelDefect(text: string): LogErrorName | null {
  const b = utf8(text);
  if (b.length > MAX_LABEL_BYTES) return 'string_too_long';
  // A lone surrogate would be written as U+FFFD: refuse it rather than change the text.
  return isValidUtf8(b) && !/\p{Cs}/u.test(text) ? null : 'invalid_utf8';
}

function valueDefect(e: EventBody): LogErrorName | null {
  switch (e.type) {
    case 'turn_started':
      if (!TURN_ROLES.includes(e.role)) return 'bad_enum';
      return labelDefect(e.author);
    case 'turn_ended':
      if (!TURN_ENDS.includes(e.end)) return 'bad_enum';
      return labelDefect(e.reason);
    case 'peer_joined':
      if (!PEER_ROLES.includes(e.role)) return 'bad_enum';
      return labelDefect(e.name);
    case 'session_meta':
      return labelDefect(e.title) ?? labelDefect(e.model);
    default:
      return null;
  }
}

export class SessionLog {
  private readonly events: Event[] = [];
  private open: bigint | null = null;
  private last = 0n; // the highest turn id so far

  /** A log of stored events (sequences 1, 2, ... with span 1). Throws LogError. */
  static fromEvents(events: readonly Event[]): SessionLog {
    const log = new SessionLog();
    events.forEach((e, i) => {
      if (e.seq !== BigInt(i + 1)) throw new LogError('sequence_gap');
      if (e.type === 'text_delta' && e.span !== 1n) throw new LogError('bad_span');
      log.append(e);
    });
    return log;
  }

  get head(): bigint {
    return BigInt(this.events.length);
  }
  get openTurn(): bigint | null {
    return this.open;
  }
  get lastTurn(): bigint {
    return this.last;
  }
  /** The event at `seq` (1 ≤ seq ≤ head). */
  at(seq: bigint): Event {
    return this.events[Number(seq) - 1];
  }
  all(): readonly Event[] {
    return this.events;
  }

  private check(e: EventBody): LogErrorName | null {
    switch (e.type) {
      case 'turn_started':
        if (this.open !== null) return 'turn_already_open';
        if (e.turn <= this.last) return 'stale_turn_id';
        break;
      case 'text_delta':
      case 'turn_ended':
        if (this.open === null) return 'no_open_turn';
        if (e.turn !== this.open) return 'turn_mismatch';
        if (e.type === 'text_delta' && e.bytes.length > MAX_DELTA_BYTES) return 'delta_too_large';
        break;
      default:
        break;
    }
    return valueDefect(e);
  }

  /** Appends `body` as the next event and returns it. Throws LogError (nothing appended). */
  append(body: EventBody): Event {
    const defect = this.check(body);
    if (defect) throw new LogError(defect);
    if (body.type === 'turn_started') {
      this.open = body.turn;
      this.last = body.turn;
    } else if (body.type === 'turn_ended') {
      this.open = null;
    }
    const event = { ...body, seq: this.head + 1n } as Event;
    if (event.type === 'text_delta') event.span = 1n;
    this.events.push(event);
    return event;
  }
}
