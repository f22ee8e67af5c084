// Inlined into index.html's <head> at build time (vite.config.ts), ahead of the main script:
// opening an invite link (<base>/j#<payload>) opens the rendezvous WebSocket at once, so its
// handshake (and, on a phone, its round trips) overlaps the main script's download instead of
// following it. Only the page's own origin and path are read, never the fragment (the secret);
// the joiner adopts the socket if it is for the link's rendezvous (web/src/client/early-socket.ts)
// and closes it otherwise. Plain JavaScript: it is not bundled.
(function () {
  try {
    var l = location;
    if (l.hash.length < 2 || !/\/j$/.test(l.pathname) || !/^https?:$/.test(l.protocol)) return;
    var ws = new WebSocket((l.protocol === 'https:' ? 'wss://' : 'ws://') + l.host + l.pathname.slice(0, -2) + '/ws');
    ws.binaryType = 'arraybuffer';
    window.__tokencastEarlySocket = ws;
  } catch (e) {
    /* the joiner opens its own */
  }
})();
