// @vitest-environment happy-dom
// The transcript view: an answer shows its text at once, before the Markdown chunk (loaded with
// a dynamic import) has arrived, and is rendered as Markdown when it has.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { utf8 } from '../src/protocol/bytes';
import { Transcript } from '../src/client/session';

type ViewModule = typeof import('../src/ui/view');

// A fresh view module (its Markdown state is per module) whose import('./markdown') resolves
// only when the test says so, to the real module or to a failure.
async function viewWithGatedMarkdown(): Promise<{ view: ViewModule; load(): void; fail(): void }> {
  let settle!: (ok: boolean) => void;
  const gate = new Promise<boolean>((r) => (settle = r));
  vi.resetModules();
  vi.doMock('../src/ui/markdown', async () => {
    if (!(await gate)) throw new Error('chunk failed to load');
    return vi.importActual('../src/ui/markdown');
  });
  const view = await import('../src/ui/view');
  return { view, load: () => settle(true), fail: () => settle(false) };
}

function transcriptWith(answer: string, open = false): Transcript {
  const t = new Transcript();
  const bytes = utf8(answer);
  t.apply({ seq: 1n, type: 'turn_started', turn: 1n, role: 'user', author: 'ada', at_ms: 0n });
  t.apply({ seq: 2n, type: 'text_delta', turn: 1n, span: 2n, bytes: utf8('hi') });
  t.apply({ seq: 4n, type: 'turn_ended', turn: 1n, end: 'done', reason: '', token_count: 0n, at_ms: 0n });
  t.apply({ seq: 5n, type: 'turn_started', turn: 2n, role: 'assistant', author: 'm', at_ms: 0n });
  t.apply({ seq: 6n, type: 'text_delta', turn: 2n, span: BigInt(bytes.length), bytes });
  if (!open) t.apply({ seq: 6n + BigInt(bytes.length), type: 'turn_ended', turn: 2n, end: 'done', reason: '', token_count: 1n, at_ms: 0n });
  return t;
}

const answerBody = (list: HTMLElement) => list.querySelector<HTMLElement>('li.assistant .body')!;

describe('TranscriptView', () => {
  let list: HTMLOListElement;
  beforeEach(() => {
    list = document.createElement('ol');
    document.body.append(list);
  });
  afterEach(() => {
    list.remove();
    vi.doUnmock('../src/ui/markdown');
  });

  it('shows an answer as text before the Markdown renderer has loaded, then as Markdown', async () => {
    const { view, load } = await viewWithGatedMarkdown();
    const t = transcriptWith('hello **world**\nline\u202e two');
    new view.TranscriptView(list, t).replace(t);
    const body = answerBody(list);
    // At once: the text, plain (no markup made from it), line breaks kept, bidi controls removed.
    expect(body.textContent).toBe('hello **world**\nline two');
    expect(body.dataset.format).toBe('text');
    expect(body.querySelector('strong')).toBeNull();
    expect(list.querySelector('li.user .body')!.textContent).toBe('hi');
    load();
    await view.preloadMarkdown(); // the renderer is in and the view has rendered the answer again
    expect(body.dataset.format).toBe('markdown');
    expect(body.querySelector('strong')?.textContent).toBe('world');
    expect(body.textContent).toContain('line two');
    expect(list.querySelectorAll('li')).toHaveLength(2);
  });

  it('keeps an answer that streams in while the renderer loads, text first', async () => {
    const { view, load } = await viewWithGatedMarkdown();
    const t = transcriptWith('one', true);
    const v = new view.TranscriptView(list, t);
    v.replace(t);
    expect(answerBody(list).textContent).toBe('one');
    t.apply({ seq: 9n, type: 'text_delta', turn: 2n, span: 4n, bytes: utf8(' *two*') });
    v.update([t.turns[1]]);
    v.flush();
    expect(answerBody(list).textContent).toBe('one *two*');
    load();
    await view.preloadMarkdown();
    expect(answerBody(list).dataset.format).toBe('markdown');
    expect(answerBody(list).querySelector('em')?.textContent).toBe('two');
  });

  it('shows hostile text inert before the renderer loads, and stays text if it cannot load', async () => {
    const { view, fail } = await viewWithGatedMarkdown();
    const t = transcriptWith('<img src=x onerror=alert(1)> [x](javascript:alert(2))');
    const v = new view.TranscriptView(list, t);
    v.replace(t);
    const body = answerBody(list);
    expect(body.textContent).toBe('<img src=x onerror=alert(1)> [x](javascript:alert(2))');
    expect(body.children).toHaveLength(0);
    fail();
    await view.preloadMarkdown();
    // The load failed: the answer is still text, and a new answer is shown as text too.
    t.apply({ seq: 100n, type: 'turn_started', turn: 3n, role: 'assistant', author: 'm', at_ms: 0n });
    t.apply({ seq: 101n, type: 'text_delta', turn: 3n, span: 5n, bytes: utf8('**b**') });
    v.update([t.turns[2]]);
    v.flush();
    expect(list.querySelectorAll<HTMLElement>('li.assistant .body')[1].textContent).toBe('**b**');
    expect(body.dataset.format).toBe('text');
    expect(body.textContent).toBe('<img src=x onerror=alert(1)> [x](javascript:alert(2))');
    expect(list.querySelectorAll('img')).toHaveLength(0);
  });
});

describe('neutralizeBidi', () => {
  it('removes every bidi control a hostile name or answer could carry', async () => {
    const { neutralizeBidi } = await import('../src/ui/text');
    const hostile = 'a\u202Eb\u2066c\u2069d\u200Ee\u200Ff\u061Cg';
    expect(neutralizeBidi(hostile)).toBe('abcdefg');
    expect(neutralizeBidi('plain \u05D0 text')).toBe('plain \u05D0 text');
  });
});

describe('TranscriptView thinking', () => {
  it('shows thinking in a collapsed block above the answer, as text', async () => {
    const { view, load } = await viewWithGatedMarkdown();
    load();
    await view.preloadMarkdown();
    const list = document.createElement('ol');
    document.body.append(list);
    const t = new Transcript();
    t.apply({ seq: 1n, type: 'turn_started', turn: 1n, role: 'assistant', author: 'r1', at_ms: 0n });
    t.apply({ seq: 2n, type: 'thinking_delta', turn: 1n, span: 1n, bytes: utf8('<b>hmm</b>\nso\u202e 4') });
    const v = new view.TranscriptView(list, t);
    v.replace(t);
    const li = list.querySelector<HTMLElement>('li.assistant')!;
    const block = li.querySelector<HTMLDetailsElement>('details.thinking')!;
    expect(block.hidden).toBe(false);
    expect(block.open).toBe(false); // collapsed until the reader opens it
    expect(block.classList.contains('live')).toBe(true);
    expect(block.querySelector('summary')!.textContent).toBe('Thinking…');
    expect(block.querySelector('.thought')!.textContent).toBe('<b>hmm</b>\nso 4');
    expect(block.querySelector('b')).toBeNull();
    // Above the answer, which then streams below it.
    t.apply({ seq: 3n, type: 'text_delta', turn: 1n, span: 1n, bytes: utf8('**Four.**') });
    v.replace(t);
    const again = list.querySelector<HTMLElement>('li.assistant')!;
    const children = [...again.children].map((c) => c.className);
    expect(children.indexOf('thinking')).toBeLessThan(children.indexOf('body'));
    expect(again.querySelector('details.thinking')!.classList.contains('live')).toBe(false);
    expect(again.querySelector('.body strong')!.textContent).toBe('Four.');
    // An answer without thinking has no visible block.
    const plain = new Transcript();
    plain.apply({ seq: 1n, type: 'turn_started', turn: 1n, role: 'assistant', author: 'm', at_ms: 0n });
    v.replace(plain);
    expect(list.querySelector<HTMLDetailsElement>('details.thinking')!.hidden).toBe(true);
    list.remove();
  });
});
