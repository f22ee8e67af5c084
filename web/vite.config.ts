import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import { inlinePage, precompress } from './build/page-plugins';

// Content-Security-Policy of the built page (not of the dev server, which injects inline
// styles): scripts and styles from the origin, plus exactly the inline blocks the build puts in
// index.html (the stylesheet, the early-socket script), by hash; no plugins, no other inline
// code; connections to the page's own origin ('self' covers its ws:/wss: in CSP level 3; a
// pasted link of another rendezvous is opened as a page of that rendezvous). The rendezvous
// also sends a CSP header (src/signal/security_headers.hpp) whose directives must appear here
// unchanged, plus frame-ancestors 'none' (ignored in a meta tag).
// The join page's meta connect-src also allows ws: and wss: so that it can fail over to the
// link's alternate rendezvous: the header, which the browser enforces too, narrows that to
// exactly the alternates' WebSocket URLs the link names (?r=..., docs/PROTOCOL.md section 1).
// The host page (host.html) also fetches the model server its user names (another origin, often
// http://localhost): its connect-src adds http: and https: (kHostPageContentSecurityPolicy).
// The presenter view (present.html) also calls the host's moderation API on 127.0.0.1 (any
// port: `tokencast host --present` picks one): its connect-src adds http://127.0.0.1:*
// (kPresentPageContentSecurityPolicy).
function csp(scriptHashes: string[], styleHashes: string[], page: string): string {
  const hostPage = page.endsWith('host.html');
  const presentPage = page.endsWith('present.html');
  return [
    "default-src 'none'",
    ["script-src 'self'", ...scriptHashes].join(' '),
    ["style-src 'self'", ...styleHashes].join(' '),
    "img-src 'self' data:",
    hostPage ? "connect-src 'self' http: https:" : presentPage ? "connect-src 'self' http://127.0.0.1:*" : "connect-src 'self' ws: wss:",
    "media-src 'self' blob: mediastream:",
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
  ].join('; ');
}

const OUT_DIR = resolve(__dirname, 'dist');
// Inlined without its comment lines (the page carries it on every visit).
const EARLY_SOCKET = readFileSync(resolve(__dirname, 'src/early-socket.js'), 'utf8').replace(/^\s*\/\/.*\n/gm, '');

// Three builds into one dist: the join page (index.html), then with `--mode host` the host page
// (host.html) and with `--mode present` the presenter view (present.html), each on its own, so
// the join page keeps its single main script (no chunk shared with another page on the join's
// path) and no other page's code loads for a joiner.
const PAGES: Record<string, string> = { host: 'host.html', present: 'present.html' };
export default defineConfig(({ mode }) => ({
  // Relative asset URLs: the page is served at <base>/j behind any path prefix.
  base: './',
  plugins: [inlinePage(EARLY_SOCKET, csp), precompress(() => OUT_DIR)],
  build: {
    outDir: OUT_DIR,
    emptyOutDir: !(mode in PAGES),
    target: 'es2022',
    sourcemap: false,
    rollupOptions: { input: resolve(__dirname, PAGES[mode] ?? 'index.html') },
  },
  test: {
    include: ['test/**/*.test.ts', 'e2e/**/*.test.ts'],
    testTimeout: 20000,
    hookTimeout: 60000,
    fileParallelism: false,
  },
}));
