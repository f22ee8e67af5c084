// Markdown for model answers: no raw HTML (escaped as text), no images (their alt text is
// shown), only http(s)/mailto links, sanitized again by DOMPurify, bidi controls removed.
// The page loads this module (and marked and DOMPurify with it) as a separate chunk, with a
// dynamic import() from ui/view.ts: the join does not wait for it.
import DOMPurify from 'dompurify';
import { Marked } from 'marked';

import { escapeHtml, neutralizeBidi } from './text';

export { escapeHtml, neutralizeBidi };
// Code blocks' copy buttons and highlighting come with the renderer (off the join's path).
export { decorateCodeBlocks } from './code-blocks';

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    html({ text }) {
      return escapeHtml(text);
    },
    image({ text }) {
      return escapeHtml(text);
    },
  },
});

const ALLOWED_TAGS = [
  'p', 'br', 'strong', 'em', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
];

const LANGUAGE_CLASS = /^language-[\w+#.-]{1,32}$/;

let hooked = false;
function purifier(): typeof DOMPurify {
  if (!hooked) {
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      // class survives on <code> only as marked writes it for a fenced block's language
      // (language-NAME, which the highlighter reads); everywhere else it is removed.
      const cls = node.getAttribute('class');
      if (cls !== null && !(node.tagName === 'CODE' && LANGUAGE_CLASS.test(cls))) node.removeAttribute('class');
      if (node.tagName === 'A') {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer nofollow');
      }
    });
    hooked = true;
  }
  return DOMPurify;
}

/** Renders Markdown into a sanitized fragment (never a string handed to innerHTML unsanitized). */
export function renderMarkdown(source: string): DocumentFragment {
  const html = marked.parse(neutralizeBidi(source)) as string;
  return purifier().sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR: ['href', 'title', 'start', 'align', 'target', 'rel', 'class'],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
    ALLOW_DATA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  });
}
