// The built join page keeps the highlighter off the join's path: index.html loads one module
// script, which holds no highlighting code (no highlight.js grammar, no hljs class names), and
// the Markdown chunk holds no grammar either (the highlighter is its own chunk, imported when an
// answer first has a complete code block). Runs on web/dist (`npm test` builds it first).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const dist = resolve(__dirname, '..', 'dist');
const built = existsSync(join(dist, 'index.html'));
const required = !!(process.env.CI || process.env.TOKENCAST_E2E_REQUIRED);

describe.skipIf(!built && !required)('built join page', () => {
  it('has no highlighting code on the join path', () => {
    const html = readFileSync(join(dist, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script type="module"[^>]*src="\.\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
    expect(scripts).toHaveLength(1);
    const main = readFileSync(join(dist, scripts[0]), 'utf8');
    expect(main).not.toContain('hljs');
    expect(main).not.toContain('BACKSLASH_ESCAPE');
    const assets = readdirSync(join(dist, 'assets'));
    const markdown = assets.filter((f) => /^markdown-.*\.js$/.test(f));
    const highlight = assets.filter((f) => /^highlight-.*\.js$/.test(f));
    expect(markdown.length).toBeGreaterThan(0);
    expect(highlight).toHaveLength(1);
    for (const f of markdown) expect(readFileSync(join(dist, 'assets', f), 'utf8')).not.toContain('BACKSLASH_ESCAPE');
    expect(readFileSync(join(dist, 'assets', highlight[0]), 'utf8')).toContain('BACKSLASH_ESCAPE');
    // The main script names the Markdown chunk only; the Markdown chunk names the highlighter.
    expect(main).not.toMatch(/highlight-[\w-]+\.js/);
  });

  it('keeps the presenter view (its own build) off the join path', () => {
    const html = readFileSync(join(dist, 'present.html'), 'utf8');
    const scripts = [...html.matchAll(/<script type="module"[^>]*src="\.\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
    expect(scripts).toHaveLength(1);
    expect(readFileSync(join(dist, scripts[0]), 'utf8')).toContain('tokencast.present.theme');
    const index = readFileSync(join(dist, 'index.html'), 'utf8');
    expect(index).not.toContain(scripts[0]);
    const main = index.match(/<script type="module"[^>]*src="\.\/(assets\/[^"]+\.js)"/)![1];
    const code = readFileSync(join(dist, main), 'utf8');
    expect(code).not.toContain('tokencast.present');
    expect(code).not.toMatch(/present-[\w-]+\.js/);
  });
});
