// Code blocks in rendered answers: a copy button on each, and syntax highlighting once a block
// is complete. The highlighter (ui/highlight.ts: lowlight and its grammars) is its own chunk,
// imported the first time a complete block needs it, so neither the join nor an answer without
// code waits for it.
//
// Streaming: the view renders an open answer again on each animation frame (the Markdown is
// parsed whole each time). A block is highlighted once, when it is complete: when the answer
// has ended, or when something follows it (only the answer's last block can still grow). The
// result is cached by language and code, so later frames clone it instead of highlighting
// again; the growing last block stays plain. Highlighting work is thus linear in the code.
import { copyText, flashLabel } from './clipboard';

type Highlighter = (code: string, language: string) => DocumentFragment | null;
let highlighter: Highlighter | null = null;
let loading: Promise<void> | null = null;
let settled = false; // loaded, or failed to load (blocks then stay plain)
const waiting = new Set<() => void>();

/** Loads the highlighter chunk (once); resolves when it is in or has failed, after the views
 *  waiting for it were told. */
export function loadHighlighter(): Promise<void> {
  loading ??= import('./highlight')
    .then(
      (m) => {
        highlighter = m.highlightCode;
      },
      () => {
        highlighter = null;
      },
    )
    .then(() => {
      settled = true;
      const callbacks = [...waiting];
      waiting.clear();
      for (const f of callbacks) f();
    });
  return loading;
}

const MAX_CACHED = 256;
const cache = new Map<string, DocumentFragment | null>();

function highlighted(code: string, language: string): DocumentFragment | null {
  const key = `${language}\u0000${code}`;
  let out = cache.get(key);
  if (out === undefined) {
    try {
      out = highlighter!(code, language);
    } catch {
      out = null; // a grammar failing on hostile input: the block stays plain
    }
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(key, out);
  }
  return out ? (out.cloneNode(true) as DocumentFragment) : null;
}

/** Whether `node` ends `root`: nothing but whitespace follows it at any level up to root. */
function endsBody(node: Element, root: Element): boolean {
  for (let n: Node = node; n !== root && n.parentNode; n = n.parentNode) {
    for (let s = n.nextSibling; s; s = s.nextSibling) {
      if (s.nodeType !== Node.TEXT_NODE || (s.textContent ?? '').trim() !== '') return false;
    }
  }
  return true;
}

function copyButton(code: HTMLElement): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'copy-code';
  b.textContent = 'Copy';
  b.setAttribute('aria-label', 'copy this code');
  b.addEventListener('click', async () => flashLabel(b, await copyText(code.textContent ?? ''), 'Copy'));
  return b;
}

/** Adds the copy buttons and highlights the complete blocks of a freshly rendered answer
 *  `body`. Returns true when a block waits for the highlighter: `onReady` is then called once it
 *  has loaded (or failed), to render the answer again. */
export function decorateCodeBlocks(body: HTMLElement, streaming: boolean, onReady: () => void): boolean {
  let needsHighlighter = false;
  for (const pre of body.querySelectorAll('pre')) {
    const code = pre.querySelector('code');
    if (!code) continue;
    const wrap = document.createElement('div');
    wrap.className = 'code';
    pre.replaceWith(wrap);
    wrap.append(copyButton(code), pre);
    if (streaming && endsBody(wrap, body)) {
      pre.dataset.highlight = 'pending'; // may still grow
      continue;
    }
    if (!settled) {
      needsHighlighter = true;
      pre.dataset.highlight = 'pending';
      continue;
    }
    const language = /^language-(.+)$/.exec(code.className)?.[1] ?? '';
    const out = highlighter ? highlighted(code.textContent ?? '', language.toLowerCase()) : null;
    if (out) {
      code.replaceChildren(out);
      code.classList.add('hljs');
    }
    pre.dataset.highlight = out ? 'done' : 'plain';
  }
  if (needsHighlighter) {
    waiting.add(onReady);
    void loadHighlighter();
  }
  return needsHighlighter;
}
