// The rendezvous WebSocket that index.html's inline script (web/src/early-socket.js) opened
// while the main script was still downloading. The first join attempt takes it, once, if it
// goes to the link's rendezvous; otherwise (another rendezvous, already closing) it is closed
// and the joiner opens its own.
type EarlyWindow = { __tokencastEarlySocket?: WebSocket };

function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
}

export function takeEarlySocket(wsUrl: string): WebSocket | null {
  const w = globalThis as unknown as EarlyWindow;
  const ws = w.__tokencastEarlySocket;
  if (!ws) return null;
  delete w.__tokencastEarlySocket;
  const usable = ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN;
  if (usable && sameUrl(ws.url, wsUrl)) return ws;
  try {
    ws.close();
  } catch {
    /* already closed */
  }
  return null;
}
