// Build steps for what the browser fetches on the join's path (docs/web.md, "What is served"):
//  - the stylesheet and the early-socket script go into index.html (no request of their own),
//    and the Content-Security-Policy allows exactly those inline blocks by their SHA-256;
//  - every file of the output gets .br and .gz copies (when smaller) for the rendezvous to
//    serve by Accept-Encoding.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

// Text that would end or confuse an HTML raw-text element cannot be inlined safely.
function assertInlinable(what: string, text: string, tag: string): void {
  if (new RegExp(`</${tag}|<!--`, 'i').test(text)) throw new Error(`${what} cannot be inlined: it holds </${tag} or <!--`);
}

/**
 * Inlines the entry's stylesheet and `earlyScript` into index.html and writes the CSP meta tag
 * (`csp(scriptHashes, styleHashes)`) with their hashes.
 */
export function inlinePage(earlyScript: string, csp: (scripts: string[], styles: string[], page: string) => string): Plugin {
  // Both pages (index.html, host.html) share the stylesheet: the first one inlined removes it
  // from the bundle, so its text is kept for the next.
  const inlined = new Map<string, string>();
  return {
    name: 'tokencast-inline-page',
    apply: 'build',
    enforce: 'post',
    transformIndexHtml: {
      order: 'post',
      handler(html, ctx) {
        const bundle = ctx.bundle;
        if (!bundle) throw new Error('tokencast-inline-page: no bundle');
        const styles: string[] = [];
        html = html.replace(/<link rel="stylesheet"[^>]*href="\.\/(assets\/[^"]+\.css)"[^>]*>/g, (_tag, file: string) => {
          const asset = bundle[file];
          let css = inlined.get(file);
          if (css === undefined) {
            if (!asset || asset.type !== 'asset') throw new Error(`tokencast-inline-page: ${file} is not in the bundle`);
            css = typeof asset.source === 'string' ? asset.source : new TextDecoder().decode(asset.source);
            inlined.set(file, css);
          }
          assertInlinable(file, css, 'style');
          delete bundle[file];
          styles.push(css);
          return `<style>${css}</style>`;
        });
        if (styles.length === 0) throw new Error('tokencast-inline-page: no stylesheet found to inline');
        const early = earlyScript.trim();
        assertInlinable('the early-socket script', early, 'script');
        const moduleTag = html.search(/<script type="module"/);
        if (moduleTag < 0) throw new Error('tokencast-inline-page: no module script');
        html = html.slice(0, moduleTag) + `<script>${early}</script>\n    ` + html.slice(moduleTag);
        const meta = `<meta http-equiv="Content-Security-Policy" content="${csp([sha256(early)], styles.map(sha256), ctx.filename)}" />`;
        return html.replace('<meta charset="utf-8" />', `<meta charset="utf-8" />\n    ${meta}`);
      },
    },
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Writes <file>.br (brotli, quality 11) and <file>.gz (gzip -9) beside every output file they make smaller. */
export function precompress(outDir: () => string): Plugin {
  return {
    name: 'tokencast-precompress',
    apply: 'build',
    closeBundle() {
      for (const path of filesUnder(outDir())) {
        if (path.endsWith('.br') || path.endsWith('.gz')) continue;
        const raw = readFileSync(path);
        const br = brotliCompressSync(raw, {
          params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
        });
        const gz = gzipSync(raw, { level: 9 });
        if (!brotliDecompressSync(br).equals(raw) || !gunzipSync(gz).equals(raw)) throw new Error(`${path}: a compressed copy does not decode to the file`);
        if (br.length < raw.length) writeFileSync(`${path}.br`, br);
        if (gz.length < raw.length) writeFileSync(`${path}.gz`, gz);
      }
    },
  };
}
