// Renders the transcript into the page. Updates are batched with requestAnimationFrame; model
// answers go through the Markdown sanitizer, everything else is set as text. A reasoning
// model's thinking is a collapsed block above its answer (plain text), "Thinking…" while it
// streams; the reader opens it to watch or read it.
import type { Transcript, Turn } from '../client/session';
import { neutralizeBidi } from './text';

// The Markdown renderer (marked + DOMPurify, half of the page's script) is its own chunk, loaded
// when a model answer is first rendered or when the page asks (preloadMarkdown, once joined): it
// does not hold up the page or the join. Until it is there a model answer is shown at once as
// plain text (set with textContent, bidi controls removed, line breaks kept by the stylesheet),
// then rendered again as Markdown when it arrives. If it cannot be loaded, answers stay plain
// text (inert either way). A body says which it shows: data-format="text" or "markdown".
type Renderer = (source: string) => DocumentFragment;
type Decorator = (body: HTMLElement, streaming: boolean, onReady: () => void) => boolean;
let renderMarkdown: Renderer | null = null;
let decorateCodeBlocks: Decorator = () => false;
let loadingMarkdown: Promise<void> | null = null;
let markdownSettled = false; // loaded, or failed to load: no view waits for it any more
const waitingViews = new Set<TranscriptView>();

/** Starts loading the Markdown renderer (once); resolves when it is in, or has failed to load,
 *  and the views waiting for it have rendered their answers again. */
export function preloadMarkdown(): Promise<void> {
  loadingMarkdown ??= import('./markdown')
    .then(
      (m) => {
        renderMarkdown = m.renderMarkdown;
        decorateCodeBlocks = m.decorateCodeBlocks;
      },
      () => {
        renderMarkdown = null; // answers stay plain text
      },
    )
    .then(() => {
      markdownSettled = true;
      const views = [...waitingViews];
      waitingViews.clear();
      for (const v of views) v.markdownReady();
    });
  return loadingMarkdown;
}

export function authorLine(turn: Turn, model: string): string {
  const who = neutralizeBidi(turn.author);
  switch (turn.role) {
    case 'user':
      return `${who || 'someone'} asks:`;
    case 'assistant':
      return `${who || neutralizeBidi(model) || 'the model'} answers:`;
    default:
      return `${who || 'system'}:`;
  }
}

/** The thinking block: hidden without thinking; its open/closed state is the reader's. */
function renderThinking(block: HTMLDetailsElement, t: Turn): void {
  block.hidden = t.thinking === '';
  if (block.hidden) return;
  const live = t.open && t.text === '';
  block.classList.toggle('live', live);
  block.children[0].textContent = live ? 'Thinking…' : 'Thinking';
  block.children[1].textContent = neutralizeBidi(t.thinking);
}

export class TranscriptView {
  private readonly items = new Map<bigint, HTMLLIElement>();
  private readonly dirty = new Set<Turn>();
  private readonly awaitingMarkdown = new Set<Turn>(); // answers shown as plain text until Markdown arrives
  private readonly awaitingHighlighter = new Set<Turn>(); // answers with a complete code block shown plain until it arrives
  private scheduled = false;

  constructor(
    private readonly list: HTMLOListElement,
    private transcript: Transcript,
  ) {}

  /** Whether some change is not on screen yet: a render is scheduled, an answer is shown as
   *  text while the Markdown renderer loads, or a complete code block waits for the highlighter. */
  get pending(): boolean {
    return this.dirty.size > 0 || this.awaitingMarkdown.size > 0 || this.awaitingHighlighter.size > 0;
  }

  /** Show another transcript (after a reset or when viewing a past session). */
  replace(transcript: Transcript): void {
    this.transcript = transcript;
    this.items.clear();
    this.dirty.clear();
    this.awaitingMarkdown.clear();
    this.awaitingHighlighter.clear();
    this.list.replaceChildren();
    for (const t of transcript.turns) this.dirty.add(t);
    this.flush();
  }

  update(turns: Iterable<Turn>): void {
    for (const t of turns) this.dirty.add(t);
    if (this.scheduled) return;
    this.scheduled = true;
    const raf = typeof requestAnimationFrame === 'function' ? requestAnimationFrame : (f: () => void) => setTimeout(f, 16);
    raf(() => this.flush());
  }

  /** The Markdown renderer has arrived (or will not): render again the answers shown as text. */
  markdownReady(): void {
    if (this.awaitingMarkdown.size === 0) return;
    if (renderMarkdown) for (const t of this.awaitingMarkdown) this.dirty.add(t);
    this.awaitingMarkdown.clear();
    this.flush();
  }

  /** The highlighter has arrived (or will not): render again the answers waiting for it. */
  private highlighterReady = (): void => {
    for (const t of this.awaitingHighlighter) this.dirty.add(t);
    this.awaitingHighlighter.clear();
    this.flush();
  };

  /** Renders pending changes now. */
  flush(): void {
    this.scheduled = false;
    if (this.dirty.size === 0) return;
    const nearBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
    for (const t of this.dirty) this.render(t);
    this.dirty.clear();
    if (nearBottom) window.scrollTo({ top: document.body.scrollHeight });
  }

  private render(t: Turn): void {
    let li = this.items.get(t.id);
    if (!li) {
      li = document.createElement('li');
      const who = document.createElement('p');
      who.className = 'who';
      const thinking = document.createElement('details');
      thinking.className = 'thinking';
      thinking.hidden = true;
      const summary = document.createElement('summary');
      const thought = document.createElement('div');
      thought.className = 'thought';
      thinking.append(summary, thought);
      const body = document.createElement('div');
      body.className = 'body';
      li.append(who, thinking, body);
      this.items.set(t.id, li);
      this.list.append(li);
    }
    li.className = `turn ${t.role}${t.open ? ' open' : ''}`;
    li.dataset.turn = t.id.toString();
    li.setAttribute('aria-busy', t.open ? 'true' : 'false');
    const [who, thinking, body] = [li.children[0] as HTMLElement, li.children[1] as HTMLDetailsElement, li.children[2] as HTMLElement];
    who.textContent = authorLine(t, this.transcript.model);
    renderThinking(thinking, t);
    if (t.role === 'assistant' && renderMarkdown) {
      body.replaceChildren(renderMarkdown(t.text));
      body.dataset.format = 'markdown';
      if (decorateCodeBlocks(body, t.open, this.highlighterReady)) this.awaitingHighlighter.add(t);
      else this.awaitingHighlighter.delete(t);
    } else {
      body.textContent = neutralizeBidi(t.text);
      body.dataset.format = 'text';
      if (t.role === 'assistant' && !markdownSettled) {
        this.awaitingMarkdown.add(t);
        waitingViews.add(this);
        void preloadMarkdown();
      }
    }
    let end = li.querySelector<HTMLElement>('.end');
    if (!t.open && t.end && t.end !== 'done') {
      if (!end) {
        end = document.createElement('p');
        end.className = 'end';
        li.append(end);
      }
      end.textContent = `(${t.end}${t.reason ? `: ${neutralizeBidi(t.reason)}` : ''})`;
    } else if (end) {
      end.remove();
    }
  }
}
