// The joiner's first attempt takes index.html's early WebSocket only if it goes to the link's
// rendezvous and is still usable; otherwise it is closed.
import { afterEach, describe, expect, it } from 'vitest';
import { takeEarlySocket } from '../src/client/early-socket';

class FakeSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  closed = false;
  constructor(
    readonly url: string,
    public readyState: number,
  ) {}
  close(): void {
    this.closed = true;
  }
}

const g = globalThis as unknown as { WebSocket: unknown; __tokencastEarlySocket?: unknown };
const realWebSocket = g.WebSocket;

function early(url: string, state: number): FakeSocket {
  g.WebSocket = FakeSocket;
  const ws = new FakeSocket(url, state);
  g.__tokencastEarlySocket = ws;
  return ws;
}

afterEach(() => {
  delete g.__tokencastEarlySocket;
  g.WebSocket = realWebSocket;
});

describe('takeEarlySocket', () => {
  it('gives nothing when the page opened none', () => {
    expect(takeEarlySocket('ws://host:8080/ws')).toBeNull();
  });

  it('hands over a connecting or open socket to the same URL, once', () => {
    for (const state of [FakeSocket.CONNECTING, FakeSocket.OPEN]) {
      const ws = early('ws://host:8080/ws', state);
      expect(takeEarlySocket('ws://HOST:8080/ws')).toBe(ws);
      expect(ws.closed).toBe(false);
      expect(takeEarlySocket('ws://host:8080/ws')).toBeNull();
    }
  });

  it('closes a socket to another rendezvous, or one already closing', () => {
    const other = early('ws://page-host/ws', FakeSocket.CONNECTING);
    expect(takeEarlySocket('wss://rendezvous.example/base/ws')).toBeNull();
    expect(other.closed).toBe(true);
    const closing = early('ws://host/ws', FakeSocket.CLOSING);
    expect(takeEarlySocket('ws://host/ws')).toBeNull();
    expect(closing.closed).toBe(true);
  });
});
