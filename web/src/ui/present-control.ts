// The presenter view's moderation panel: given the control of `tokencast host --present` (its
// port on 127.0.0.1 and its token, from the address's fragment), it lists who is present with a
// Remove button each and, with --approve, the prompts waiting with Accept and Reject. It calls
// the host's control API (docs/SECURITY.md "Presenter control"); without a control it is never
// shown. Everything shown from the host (names, prompts, result lines) is set as text.
import type { PresenterControl } from './presenter';

interface RoomState {
  approve: boolean;
  peers: { name: string; role: string }[];
  held: { id: number; author: string; text: string }[];
}

const POLL_MS = 1000;
const TIMEOUT_MS = 4000;
const MAX_SHOWN = 200; // people or prompts listed; the host bounds both anyway

function parseRoom(v: unknown): RoomState | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.approve !== 'boolean' || !Array.isArray(o.peers) || !Array.isArray(o.held)) return null;
  const peers: RoomState['peers'] = [];
  for (const p of o.peers.slice(0, MAX_SHOWN)) {
    if (typeof p?.name !== 'string' || typeof p?.role !== 'string') return null;
    peers.push({ name: p.name, role: p.role });
  }
  const held: RoomState['held'] = [];
  for (const h of o.held.slice(0, MAX_SHOWN)) {
    if (!Number.isSafeInteger(h?.id) || typeof h?.author !== 'string' || typeof h?.text !== 'string') return null;
    held.push({ id: h.id, author: h.author, text: h.text });
  }
  return { approve: o.approve, peers, held };
}

export class PresenterModeration {
  private readonly base: string;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private last = '';

  constructor(
    private readonly control: PresenterControl,
    private readonly els: { panel: HTMLElement; people: HTMLUListElement; heldBox: HTMLElement; held: HTMLOListElement; result: HTMLElement },
    /** The name this screen goes by in the session (not listed: it is not a person). */
    private readonly selfName: () => string | null,
    /** Text shown in the page's tone; cleaned by the caller's display functions. */
    private readonly clean: (s: string) => string,
  ) {
    this.base = `http://127.0.0.1:${control.port}/v1/`;
  }

  start(): void {
    this.els.panel.hidden = false;
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async call(path: string, body?: object): Promise<Response> {
    return fetch(this.base + path, {
      method: body ? 'POST' : 'GET',
      mode: 'cors',
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
      headers: body
        ? { 'X-Tokencast-Control': this.control.token, 'Content-Type': 'application/json' }
        : { 'X-Tokencast-Control': this.control.token },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    try {
      const res = await this.call('room');
      if (res.status === 401) {
        this.say('the host refused this page\'s control token: open the presenter address tokencast host printed');
        this.stop();
        return;
      }
      const state = res.ok ? parseRoom(await res.json()) : null;
      if (state) this.render(state);
    } catch {
      this.say('the host\'s controls are not answering');
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.poll(), POLL_MS);
  }

  private async act(path: string, body: object): Promise<void> {
    try {
      const res = await this.call(path, body);
      const answer = (await res.json()) as { result?: unknown; error?: unknown };
      const line = typeof answer.result === 'string' ? answer.result : typeof answer.error === 'string' ? answer.error : `HTTP ${res.status}`;
      this.say(line);
    } catch {
      this.say('the host\'s controls are not answering');
    }
    if (this.timer) clearTimeout(this.timer);
    void this.poll();
  }

  private say(text: string): void {
    this.els.result.textContent = this.clean(text);
  }

  private button(label: string, aria: string, danger: boolean, onClick: () => void): HTMLButtonElement {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.setAttribute('aria-label', aria);
    if (danger) b.className = 'danger';
    b.addEventListener('click', onClick);
    return b;
  }

  private render(state: RoomState): void {
    const key = JSON.stringify(state);
    if (key === this.last) return; // unchanged: keep the buttons under the pointer
    this.last = key;
    const self = this.selfName();
    const people: HTMLLIElement[] = [];
    for (const p of state.peers) {
      if (p.name === self) continue;
      const name = this.clean(p.name);
      const li = document.createElement('li');
      const who = document.createElement('span');
      who.className = 'name';
      who.textContent = name;
      const role = document.createElement('span');
      role.className = 'role';
      role.textContent = p.role;
      li.append(
        who,
        role,
        this.button('Remove', `Remove ${name}`, true, () => {
          if (confirm(`Remove ${name} from this session? Its rejoins are refused.`)) void this.act('remove', { name: p.name });
        }),
      );
      people.push(li);
    }
    if (people.length === 0) {
      const li = document.createElement('li');
      li.className = 'role';
      li.textContent = 'nobody yet';
      people.push(li);
    }
    this.els.people.replaceChildren(...people);
    this.els.heldBox.hidden = !state.approve;
    const held: HTMLLIElement[] = [];
    for (const h of state.held) {
      const li = document.createElement('li');
      const text = document.createElement('span');
      text.className = 'text';
      text.textContent = `${this.clean(h.author)}: ${this.clean(h.text)}`;
      li.append(
        text,
        this.button('Accept', `Accept prompt ${h.id}`, false, () => void this.act('accept', { id: h.id })),
        this.button('Reject', `Reject prompt ${h.id}`, true, () => void this.act('reject', { id: h.id })),
      );
      held.push(li);
    }
    this.els.held.replaceChildren(...held);
  }
}
