// The joiner's first attempt takes index.html's early WebSocket only if it goes to the link's
// rendezvous and is still usable; otherwise it is closed.
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { takeEarlySocket } from '../src/client/early-socket';
import { base64urlDecode } from '../src/protocol/base64url';
import { parseInviteLink } from '../src/protocol/invite';
import { roomLocator } from '../src/protocol/keys';
import { joinSubprotocol } from '../src/protocol/rendezvous';
import { loadVectors } from './vectors';

const JOIN = 'tokencast.join.AQEAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw';
const OTHER_JOIN = 'tokencast.join.AQH__________________________________________w';

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

const g = globalThis as unknown as {
  WebSocket: unknown;
  __tokencastEarlySocket?: unknown;
  __tokencastEarlyJoin?: string;
  __tokencastEarlyMessages?: unknown[] & { overflow?: boolean };
};
const realWebSocket = g.WebSocket;

function early(url: string, state: number, offered = ''): FakeSocket {
  g.WebSocket = FakeSocket;
  const ws = new FakeSocket(url, state);
  g.__tokencastEarlySocket = ws;
  g.__tokencastEarlyJoin = offered;
  return ws;
}

afterEach(() => {
  delete g.__tokencastEarlySocket;
  delete g.__tokencastEarlyJoin;
  delete g.__tokencastEarlyMessages;
  g.WebSocket = realWebSocket;
});

describe('takeEarlySocket', () => {
  it('gives nothing when the page opened none', () => {
    expect(takeEarlySocket('ws://host:8080/ws', JOIN)).toBeNull();
  });

  it('hands over a connecting or open socket to the same URL, once', () => {
    for (const state of [FakeSocket.CONNECTING, FakeSocket.OPEN]) {
      const ws = early('ws://host:8080/ws', state);
      expect(takeEarlySocket('ws://HOST:8080/ws', JOIN)?.ws).toBe(ws);
      expect(ws.closed).toBe(false);
      expect(takeEarlySocket('ws://host:8080/ws', JOIN)).toBeNull();
    }
  });

  it('closes a socket to another rendezvous, or one already closing', () => {
    const other = early('ws://page-host/ws', FakeSocket.CONNECTING);
    expect(takeEarlySocket('wss://rendezvous.example/base/ws', JOIN)).toBeNull();
    expect(other.closed).toBe(true);
    const closing = early('ws://host/ws', FakeSocket.CLOSING);
    expect(takeEarlySocket('ws://host/ws', JOIN)).toBeNull();
    expect(closing.closed).toBe(true);
  });

  it("hands over a socket that joined the link's room in the upgrade, closes one of another room", () => {
    const same = early('ws://host/ws', FakeSocket.OPEN, JOIN);
    expect(takeEarlySocket('ws://host/ws', JOIN)?.ws).toBe(same);
    const other = early('ws://host/ws', FakeSocket.OPEN, OTHER_JOIN);
    expect(takeEarlySocket('ws://host/ws', JOIN)).toBeNull();
    expect(other.closed).toBe(true);
  });

  it('hands over what the socket received before it was taken, unless the script dropped some', () => {
    const joined = new ArrayBuffer(11);
    const beacon = new ArrayBuffer(74);
    const ws = early('ws://host/ws', FakeSocket.OPEN, JOIN);
    g.__tokencastEarlyMessages = [joined, beacon];
    const taken = takeEarlySocket('ws://host/ws', JOIN);
    expect(taken?.ws).toBe(ws);
    expect(taken?.messages).toEqual([joined, beacon]);
    expect(g.__tokencastEarlyMessages).toBeUndefined();
    const other = early('ws://host/ws', FakeSocket.OPEN, JOIN);
    g.__tokencastEarlyMessages = Object.assign([joined], { overflow: true });
    expect(takeEarlySocket('ws://host/ws', JOIN)).toBeNull();
    expect(other.closed).toBe(true);
  });
});

// The inline script itself (web/src/early-socket.js), run as the page runs it, with the page's
// location and a WebSocket that records what it was asked to open.
function runEarlyScript(href: string): { url: string; protocols: string[] | undefined; offered: unknown } | null {
  const src = readFileSync(new URL('../src/early-socket.js', import.meta.url), 'utf8');
  const u = new URL(href);
  const opened: { url: string; protocols: string[] | undefined }[] = [];
  const sockets: { onmessage: ((ev: { data: unknown }) => void) | null }[] = [];
  const ctx: Record<string, unknown> = {
    location: { hash: u.hash, pathname: u.pathname, protocol: u.protocol, host: u.host },
    atob,
    btoa,
    WebSocket: class {
      binaryType = 'blob';
      onmessage: ((ev: { data: unknown }) => void) | null = null;
      constructor(url: string, protocols?: string[]) {
        opened.push({ url, protocols });
        sockets.push(this);
      }
    },
  };
  ctx.window = ctx;
  runInNewContext(src, ctx);
  if (opened.length === 0) return null;
  expect(opened.length).toBe(1);
  // The server's first messages, before the main script takes the socket: kept, bounded.
  for (let i = 0; i < 70; i++) sockets[0].onmessage?.({ data: i });
  const kept = ctx.__tokencastEarlyMessages as unknown[] & { overflow?: boolean };
  expect(kept.length).toBe(64);
  expect(kept[63]).toBe(63);
  expect(kept.overflow).toBe(true);
  return { ...opened[0], offered: ctx.__tokencastEarlyJoin };
}

describe('the inline early-socket script', () => {
  it("joins every vector link's room in the upgrade (tests/vectors/rendezvous_join.json)", () => {
    const links = loadVectors('rendezvous_join.json').links;
    const base = new Map<string, string>(loadVectors('links.json').valid.map((v: { link: string; base_url: string }) => [v.link, v.base_url]));
    expect(links.length).toBeGreaterThan(0);
    for (const v of links) {
      if (!v.link.includes('/j#')) continue;
      const got = runEarlyScript(v.link);
      expect(got, v.name).not.toBeNull();
      expect(got!.protocols, v.name).toEqual([v.join_subprotocol]);
      expect(got!.offered, v.name).toBe(v.join_subprotocol);
      expect(got!.url.startsWith(base.get(v.link)!.replace(/^http/, 'ws')), v.name).toBe(true);
      // The same string the joiner computes with its own HKDF and SHA-256 (@noble/hashes).
      const link = parseInviteLink(v.link);
      expect(joinSubprotocol(roomLocator(link.secret, link.role, link.hostKey)), v.name).toBe(v.join_subprotocol);
      expect(base64urlDecode(v.join_subprotocol.slice('tokencast.join.'.length)).length).toBe(34);
    }
  });

  it('offers nothing for a fragment that is not a link payload, and opens nothing off /j', () => {
    const plain = runEarlyScript('http://10.0.0.1:8080/j#not-a-link');
    expect(plain?.protocols).toBeUndefined();
    expect(plain?.offered).toBe('');
    const badVersion = runEarlyScript('http://10.0.0.1:8080/j#' + 'A'.repeat(88));
    expect(badVersion?.protocols).toBeUndefined();
    expect(runEarlyScript('http://10.0.0.1:8080/host#' + 'A'.repeat(88))).toBeNull();
  });
});
