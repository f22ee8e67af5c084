// @vitest-environment happy-dom
// The page's smaller parts: code blocks (copy button, highlighting once complete, hostile code
// stays text), the screen wake lock while an answer streams, the invite buttons (viewer links
// only), and the people list (names as text).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decorateCodeBlocks, loadHighlighter } from '../src/ui/code-blocks';
import { copyText } from '../src/ui/clipboard';
import { StreamWakeLock, type WakeLockEnv } from '../src/ui/wake-lock';
import { showInviteButtons } from '../src/ui/share';
import { PeopleList } from '../src/ui/people';
import type { PeerInfo } from '../src/client/session';

// Blocks as the sanitized Markdown has them (<pre><code class="language-x">), built directly:
// happy-dom's parser loses <pre> elements in DOMPurify's round trip; the Markdown path itself
// runs in Chromium (e2e/join.test.ts).
type Part = string | { code: string; lang?: string; cls?: string };
function rendered(parts: Part[], streaming: boolean, onReady: () => void = () => undefined): { body: HTMLElement; waits: boolean } {
  const body = document.createElement('div');
  for (const p of parts) {
    if (typeof p === 'string') {
      const para = document.createElement('p');
      para.textContent = p;
      body.append(para);
    } else {
      const pre = document.createElement('pre');
      const code = document.createElement('code');
      const cls = p.cls ?? (p.lang ? `language-${p.lang}` : '');
      if (cls) code.className = cls;
      code.textContent = p.code;
      pre.append(code);
      body.append(pre);
    }
  }
  document.body.append(body);
  return { body, waits: decorateCodeBlocks(body, streaming, onReady) };
}

const CODE = { code: 'def f(x):\n    return "<b>" + x  # note\n', lang: 'python' };

describe('code blocks', () => {
  afterEach(() => {
    document.body.replaceChildren();
  });

  it('waits for the highlighter chunk, then highlights a complete block with spans and text only', async () => {
    const ready = vi.fn();
    const first = rendered(['Here:', CODE, 'Done.'], false, ready);
    // Before the chunk has loaded the block is plain and the caller is told to render again.
    if (first.waits) {
      expect(first.body.querySelector('pre')!.dataset.highlight).toBe('pending');
      await loadHighlighter();
      expect(ready).toHaveBeenCalledTimes(1);
    }
    const { body, waits } = rendered(['Here:', CODE, 'Done.'], false);
    expect(waits).toBe(false);
    const pre = body.querySelector('pre')!;
    expect(pre.dataset.highlight).toBe('done');
    const code = pre.querySelector('code')!;
    expect(code.textContent).toBe('def f(x):\n    return "<b>" + x  # note\n');
    expect(code.querySelector('.hljs-keyword')?.textContent).toBe('def');
    expect(code.querySelector('.hljs-string')?.textContent).toBe('"<b>"');
    expect(code.querySelector('b')).toBeNull(); // the string's markup is text
    for (const el of code.querySelectorAll('*')) {
      expect(el.tagName).toBe('SPAN');
      expect([...el.attributes].map((a) => a.name)).toEqual(['class']);
    }
  });

  it('leaves the block that may still grow plain while the answer streams', async () => {
    await loadHighlighter();
    const streaming = rendered([CODE, 'more text', { code: 'const a = 1;', lang: 'js' }], true);
    const [closed, growing] = streaming.body.querySelectorAll('pre');
    expect(closed.dataset.highlight).toBe('done');
    expect(growing.dataset.highlight).toBe('pending');
    expect(growing.querySelector('span')).toBeNull();
    const ended = rendered([CODE, 'more text', { code: 'const a = 1;\n', lang: 'js' }], false);
    expect(ended.body.querySelectorAll('pre')[1].querySelector('.hljs-keyword')?.textContent).toBe('const');
  });

  it('keeps hostile code inert and ignores a language name it does not know', async () => {
    await loadHighlighter();
    const { body } = rendered(
      [
        { code: '<img src=x onerror=alert(1)></code><script>alert(2)</script>\n', cls: 'language-js" onmouseover="alert(1)' },
        { code: '</span><img src=x onerror=alert(3)>\n', lang: 'javascript' },
        { code: 'x = 1\n', lang: 'no-such-language' },
      ],
      false,
    );
    const [odd, hostile, unknown] = body.querySelectorAll('pre');
    expect(body.querySelector('img, script, [onerror], [onmouseover]')).toBeNull();
    expect(odd.dataset.highlight).toBe('plain');
    expect(odd.textContent).toBe('<img src=x onerror=alert(1)></code><script>alert(2)</script>\n');
    expect(hostile.dataset.highlight).toBe('done');
    expect(hostile.textContent).toBe('</span><img src=x onerror=alert(3)>\n');
    for (const el of hostile.querySelectorAll('code *')) {
      expect(el.tagName).toBe('SPAN');
      expect(el.className).toMatch(/^hljs-[a-z_-]+( hljs-[a-z_-]+)*$/);
    }
    expect(unknown.dataset.highlight).toBe('plain');
  });

  it('has a copy button that copies the code', async () => {
    const written: string[] = [];
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText: async (t: string) => void written.push(t) } });
    try {
      const { body } = rendered([{ code: 'echo "hi" && ls\n', lang: 'sh' }], false);
      const button = body.querySelector<HTMLButtonElement>('.code > button.copy-code')!;
      button.click();
      await vi.waitFor(() => expect(written).toEqual(['echo "hi" && ls\n']));
      await vi.waitFor(() => expect(button.textContent).toBe('Copied'));
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('copies without the Clipboard API (plain http) through a selected textarea', async () => {
    const exec = vi.fn(() => true);
    const doc = document as Document & { execCommand: typeof exec };
    const saved = doc.execCommand;
    doc.execCommand = exec;
    try {
      expect(await copyText('abc', { document })).toBe(true);
      expect(exec).toHaveBeenCalledWith('copy');
      expect(document.querySelector('textarea')).toBeNull(); // removed again
    } finally {
      doc.execCommand = saved;
    }
  });
});

class FakeWakeLock {
  requests = 0;
  held: { released: boolean; release(): Promise<void>; addEventListener(t: 'release', f: () => void): void; fire(): void } | null = null;
  async request() {
    this.requests++;
    let listener = () => undefined as void;
    const s = {
      released: false,
      release: async () => s.fire(),
      addEventListener: (_t: 'release', f: () => void) => void (listener = f),
      fire: () => {
        if (s.released) return;
        s.released = true;
        listener();
      },
    };
    this.held = s;
    return s;
  }
}

function fakeDocument() {
  const listeners: (() => void)[] = [];
  return {
    visibilityState: 'visible' as DocumentVisibilityState,
    addEventListener: (_t: string, f: () => void) => void listeners.push(f),
    setVisible(v: boolean) {
      this.visibilityState = v ? 'visible' : 'hidden';
      for (const f of listeners) f();
    },
  };
}

describe('screen wake lock while an answer streams', () => {
  it('is requested while streaming, released at the end, requested again when the page is visible again', async () => {
    const api = new FakeWakeLock();
    const doc = fakeDocument();
    const lock = new StreamWakeLock({ wakeLock: api, document: doc as unknown as WakeLockEnv['document'] });
    lock.streaming = true;
    lock.streaming = true; // repeated updates ask once
    await vi.waitFor(() => expect(lock.held).toBe(true));
    expect(api.requests).toBe(1);
    // Hidden: the browser releases it; visible again mid-answer: requested again.
    doc.setVisible(false);
    api.held!.fire();
    expect(lock.held).toBe(false);
    doc.setVisible(true);
    await vi.waitFor(() => expect(lock.held).toBe(true));
    expect(api.requests).toBe(2);
    lock.streaming = false;
    expect(api.held!.released).toBe(true);
    expect(lock.held).toBe(false);
    doc.setVisible(false);
    doc.setVisible(true);
    expect(api.requests).toBe(2); // not streaming: not requested
  });

  it('releases a lock granted after the answer ended, and does nothing where unsupported', async () => {
    const api = new FakeWakeLock();
    const lock = new StreamWakeLock({ wakeLock: api, document: fakeDocument() as unknown as WakeLockEnv['document'] });
    lock.streaming = true;
    lock.streaming = false; // before the request resolved
    await vi.waitFor(() => expect(api.held?.released).toBe(true));
    expect(lock.held).toBe(false);
    const none = new StreamWakeLock({ document: fakeDocument() as unknown as WakeLockEnv['document'] });
    none.streaming = true;
    expect(none.held).toBe(false);
  });
});

describe('invite buttons', () => {
  const VIEWER = 'http://192.168.1.20:8080/j#AQ';
  it('offer the viewer link: share where the browser can, else copy', async () => {
    const shared: { title?: string; url?: string }[] = [];
    const copied: string[] = [];
    const el = document.createElement('span');
    el.hidden = true;
    const env = { document, share: async (d: { title?: string; url?: string }) => void shared.push(d), clipboard: { writeText: async (t: string) => void copied.push(t) } };
    expect(showInviteButtons(el, { text: VIEWER, role: 0 }, () => 'Demo', env)).toBe(true);
    expect(el.hidden).toBe(false);
    el.querySelector<HTMLButtonElement>('button.share')!.click();
    el.querySelector<HTMLButtonElement>('button.copy-link')!.click();
    await vi.waitFor(() => expect(copied).toEqual([VIEWER]));
    expect(shared).toEqual([{ title: 'Demo', url: VIEWER }]);
    const noShare = document.createElement('span');
    showInviteButtons(noShare, { text: VIEWER, role: 0 }, () => 'Demo', { document, clipboard: env.clipboard });
    expect([...noShare.querySelectorAll('button')].map((b) => b.textContent)).toEqual(['Copy link']);
  });

  it('never put a participant link on screen or on the clipboard', () => {
    const el = document.createElement('span');
    el.hidden = true;
    expect(showInviteButtons(el, { text: 'http://h/j#secret', role: 1 }, () => '', { document, share: async () => undefined })).toBe(false);
    expect(el.hidden).toBe(true);
    expect(el.childElementCount).toBe(0);
  });
});

describe('people list', () => {
  it('shows every name as text with its role, marks this page, and follows joins and leaves', () => {
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    const ul = document.createElement('ul');
    details.append(summary, ul);
    const list = new PeopleList(summary, ul);
    const peers = new Map<bigint, PeerInfo>([
      [1n, { name: 'Ada', role: 'participant' }],
      [2n, { name: '<img src=x onerror=alert(1)>\u202eevil', role: 'viewer' }],
    ]);
    list.render(peers, 1n);
    expect(summary.textContent).toBe('2 here');
    expect([...ul.children].map((li) => li.textContent)).toEqual(['Ada can ask, you', '<img src=x onerror=alert(1)>evil watching']);
    expect(ul.querySelector('img')).toBeNull();
    peers.delete(2n);
    list.render(peers, 1n);
    expect(ul.children).toHaveLength(1);
    peers.clear();
    list.render(peers, 1n);
    expect(details.hidden).toBe(true);
  });
});
