// The people list: who is connected, by the names the host gave them (peer_joined events) and
// their role. Names are peers' own text: set with textContent only, bidi controls removed.
import type { PeerInfo } from '../client/session';
import { neutralizeBidi } from './text';

const ROLE_LABEL: Record<PeerInfo['role'], string> = { viewer: 'watching', participant: 'can ask', host: 'host' };

export class PeopleList {
  private shown = ''; // the peers last rendered (ids), to skip the work when nothing changed

  constructor(
    private readonly summary: HTMLElement,
    private readonly list: HTMLUListElement,
  ) {}

  /** Renders `peers`; `self` (this page's peer id, once welcomed) is marked "you". */
  render(peers: ReadonlyMap<bigint, PeerInfo>, self: bigint | null): void {
    const key = `${self}|${[...peers.keys()].join(',')}`;
    if (key === this.shown) return;
    this.shown = key;
    const n = peers.size;
    this.summary.textContent = n ? `${n} here` : '';
    this.summary.parentElement!.hidden = n === 0;
    const items: HTMLLIElement[] = [];
    for (const [id, p] of peers) {
      const li = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = neutralizeBidi(p.name) || 'guest';
      const role = document.createElement('span');
      role.className = 'role';
      role.textContent = id === self ? `${ROLE_LABEL[p.role]}, you` : ROLE_LABEL[p.role];
      li.append(name, ' ', role);
      items.push(li);
    }
    this.list.replaceChildren(...items);
    this.summary.setAttribute('aria-label', `${n} ${n === 1 ? 'person' : 'people'} connected: show names`);
  }
}
