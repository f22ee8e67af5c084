// Inlined into index.html's <head> at build time (vite.config.ts), ahead of the main script:
// opening an invite link (<base>/j#<payload>) opens the rendezvous WebSocket at once, so its
// handshake (and, on a phone, its round trips) overlaps the main script's download instead of
// following it. It also joins the room in that upgrade (the join subprotocol, docs/PROTOCOL.md
// section 3): the room locator is derived here from the link's payload (HKDF-SHA256, section
// 1.2; a small SHA-256 of its own, since crypto.subtle is missing on plain-http pages), so that
// JOINED and the host's beacon are waiting when the main script starts. The secret never
// leaves this function; only the locator, which the rendezvous gets anyway, goes on the wire.
// The joiner adopts the socket (and replays the messages kept for it) if it is for the link's
// rendezvous and offered the link's room (web/src/client/early-socket.ts) and closes it
// otherwise. Plain JavaScript: it is not bundled.
(function () {
  // SHA-256 (FIPS 180-4) of an array of bytes; the constants are the fractional parts of the
  // square and cube roots of the first primes, computed rather than listed.
  function sha256(m) {
    var K = [], H = [], n = 2, p = 0, i, j;
    function frac(x) {
      return ((x - Math.floor(x)) * 4294967296) | 0;
    }
    function rotr(x, r) {
      return (x >>> r) | (x << (32 - r));
    }
    while (p < 64) {
      for (j = 2; j * j <= n && n % j; j++);
      if (j * j > n) {
        if (p < 8) H[p] = frac(Math.sqrt(n));
        K[p++] = frac(Math.cbrt(n));
      }
      n++;
    }
    var bits = m.length * 8;
    m = m.concat([0x80]);
    while (m.length % 64 !== 56) m.push(0);
    m.push(0, 0, 0, 0, (bits >>> 24) & 255, (bits >>> 16) & 255, (bits >>> 8) & 255, bits & 255);
    var w = [];
    for (i = 0; i < m.length; i += 64) {
      for (j = 0; j < 64; j++) {
        if (j < 16) {
          w[j] = (m[i + 4 * j] << 24) | (m[i + 4 * j + 1] << 16) | (m[i + 4 * j + 2] << 8) | m[i + 4 * j + 3];
        } else {
          var x = w[j - 15], y = w[j - 2];
          w[j] = (w[j - 16] + (rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)) + w[j - 7] + (rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10))) | 0;
        }
      }
      var a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
      for (j = 0; j < 64; j++) {
        var t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[j] + w[j]) | 0;
        var t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) | 0;
      }
      var v = [a, b, c, d, e, f, g, h];
      for (j = 0; j < 8; j++) H[j] = (H[j] + v[j]) | 0;
    }
    var out = [];
    for (j = 0; j < 32; j++) out.push((H[j >> 2] >>> (24 - 8 * (j & 3))) & 255);
    return out;
  }
  function hmac(key, data) {
    var inner = [], outer = [];
    for (var i = 0; i < 64; i++) {
      inner.push((key[i] || 0) ^ 0x36);
      outer.push((key[i] || 0) ^ 0x5c);
    }
    return sha256(outer.concat(sha256(inner.concat(data))));
  }
  function ascii(s) {
    var out = [];
    for (var i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
    return out;
  }
  // The join subprotocol of the link's payload, or '' when it does not look like a link (the
  // joiner's parser decides; it sends JOIN itself then).
  function joinProtocol(payload) {
    if (!/^[A-Za-z0-9_-]{88}$/.test(payload)) return '';
    var raw = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    var link = ascii(raw);
    if (link.length !== 66 || link[0] !== 1 || link[1] > 1) return '';
    var secret = link.slice(2, 34);
    var info = ascii('tokencast/v1/room-locator').concat([0, link[1]], link.slice(34));
    var prk = hmac(ascii('tokencast/v1'), secret);
    var join = [1, 1].concat(hmac(prk, info.concat([1])));
    return 'tokencast.join.' + btoa(String.fromCharCode.apply(null, join)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  try {
    var l = location;
    if (l.hash.length < 2 || !/\/j$/.test(l.pathname) || !/^https?:$/.test(l.protocol)) return;
    var offered = '';
    try {
      offered = joinProtocol(l.hash.slice(1));
    } catch (e) {
      offered = '';
    }
    var url = (l.protocol === 'https:' ? 'wss://' : 'ws://') + l.host + l.pathname.slice(0, -2) + '/ws';
    var ws = offered ? new WebSocket(url, [offered]) : new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    // Joined at the upgrade, the server's JOINED and the host's beacon may arrive before the
    // main script has taken the socket: keep them (at most 64 messages) for it to replay.
    var kept = [];
    ws.onmessage = function (ev) {
      if (kept.length < 64) kept.push(ev.data);
      else kept.overflow = true;
    };
    window.__tokencastEarlySocket = ws;
    window.__tokencastEarlyJoin = offered;
    window.__tokencastEarlyMessages = kept;
  } catch (e) {
    /* the joiner opens its own */
  }
})();
