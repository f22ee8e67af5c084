import { defineConfig, type Plugin } from 'vitest/config';

// Content-Security-Policy of the built page (not of the dev server, which injects inline
// styles): scripts and styles from the origin only, no plugins, no inline code, connections to
// the page's own origin only ('self' covers its ws:/wss: in CSP level 3; a pasted link of
// another rendezvous is opened as a page of that rendezvous). Keep it equal to the header the
// rendezvous sends (src/signal/security_headers.hpp), which adds frame-ancestors 'none'
// (ignored in a meta tag).
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "media-src 'self' blob: mediastream:",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');

function contentSecurityPolicy(): Plugin {
  return {
    name: 'tokencast-csp',
    apply: 'build',
    transformIndexHtml(html) {
      return html.replace('<meta charset="utf-8" />', `<meta charset="utf-8" />\n    <meta http-equiv="Content-Security-Policy" content="${CSP}" />`);
    },
  };
}

export default defineConfig({
  // Relative asset URLs: the page is served at <base>/j behind any path prefix.
  base: './',
  plugins: [contentSecurityPolicy()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
  test: {
    include: ['test/**/*.test.ts', 'e2e/**/*.test.ts'],
    testTimeout: 20000,
    hookTimeout: 60000,
    fileParallelism: false,
  },
});
