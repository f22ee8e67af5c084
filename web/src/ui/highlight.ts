// Syntax highlighting of code blocks in answers: lowlight (highlight.js grammars, a syntax tree
// instead of an HTML string), loaded lazily as its own chunk by ui/code-blocks.ts. The tree is
// turned into DOM with createElement('span') and text nodes only: nothing is ever parsed as
// HTML, so model text stays text whatever it contains; classes are limited to hljs-* names.
import { createLowlight } from 'lowlight';
import type { ElementContent, RootContent } from 'hast';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

import stylesheet from './highlight.css?url';

// The colours come with the highlighter: a stylesheet file of the page's origin (CSP style-src
// 'self'), linked once when this chunk loads.
if (typeof document !== 'undefined' && !document.querySelector('link[data-highlight-css]')) {
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = stylesheet;
  link.dataset.highlightCss = '';
  document.head.append(link);
}

const lowlight = createLowlight({ bash, c, cpp, css, diff, go, java, javascript, json, python, rust, sql, typescript, xml, yaml });

// Bounds: a grammar's work grows with the code; beyond these a block stays plain text.
export const MAX_HIGHLIGHT_CHARS = 100_000;
const MAX_AUTO_CHARS = 20_000; // guessing the language runs every grammar
const CLASS_NAME = /^hljs-[a-z_-]{1,40}$/;

function toDom(nodes: readonly (RootContent | ElementContent)[], parent: Node): void {
  for (const n of nodes) {
    if (n.type === 'text') {
      parent.appendChild(document.createTextNode(n.value));
    } else if (n.type === 'element') {
      const names = n.properties?.className;
      const kept = (Array.isArray(names) ? names : []).filter((c): c is string => typeof c === 'string' && CLASS_NAME.test(c));
      if (kept.length === 0) {
        toDom(n.children, parent); // e.g. an embedded language's wrapper: no span needed
        continue;
      }
      const span = document.createElement('span');
      span.classList.add(...kept);
      toDom(n.children, span);
      parent.appendChild(span);
    }
  }
}

/** The code highlighted as a fragment of spans and text, or null when there is nothing to
 *  highlight (unknown language, too long, no language recognized). */
export function highlightCode(code: string, language: string): DocumentFragment | null {
  if (code.length > MAX_HIGHLIGHT_CHARS) return null;
  let tree;
  if (language) {
    if (!lowlight.registered(language)) return null;
    tree = lowlight.highlight(language, code);
  } else {
    if (code.length > MAX_AUTO_CHARS) return null;
    tree = lowlight.highlightAuto(code);
    if (!tree.data?.language || (tree.data.relevance ?? 0) < 3) return null;
  }
  const out = document.createDocumentFragment();
  toDom(tree.children, out);
  return out;
}
