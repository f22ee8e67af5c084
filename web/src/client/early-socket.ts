// The rendezvous WebSocket that index.html's inline script (web/src/early-socket.js) opened
// while the main script was still downloading. The first join attempt takes it, once, if it
// goes to the link's rendezvous and offered the link's join subprotocol (or none: then the
// joiner sends JOIN on it); otherwise (another rendezvous, another room, already closing) it is
// closed and the joiner opens its own.
type Kept = unknown[] & { overflow?: boolean };
type EarlyWindow = { __tokencastEarlySocket?: WebSocket; __tokencastEarlyJoin?: string; __tokencastEarlyMessages?: Kept };

/** The early socket and what it received before it was taken (JOINED, the host's beacon...):
 *  the taker replays `messages`, in order, before any later message. */
export interface EarlySocket {
  ws: WebSocket;
  messages: unknown[];
}

function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
}

/** `joinProtocol`: the join subprotocol of the link's room (docs/PROTOCOL.md section 3). */
export function takeEarlySocket(wsUrl: string, joinProtocol: string): EarlySocket | null {
  const w = globalThis as unknown as EarlyWindow;
  const ws = w.__tokencastEarlySocket;
  const offered = w.__tokencastEarlyJoin ?? '';
  const kept = w.__tokencastEarlyMessages ?? [];
  delete w.__tokencastEarlyJoin;
  delete w.__tokencastEarlyMessages;
  if (!ws) return null;
  delete w.__tokencastEarlySocket;
  const usable = ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN;
  // Over its bound the script dropped messages: the socket cannot be trusted to be complete.
  if (usable && !kept.overflow && sameUrl(ws.url, wsUrl) && (offered === '' || offered === joinProtocol)) {
    ws.onmessage = null; // the taker's handler comes next; nothing is kept any more
    return { ws, messages: [...kept] };
  }
  try {
    ws.close();
  } catch {
    /* already closed */
  }
  return null;
}
