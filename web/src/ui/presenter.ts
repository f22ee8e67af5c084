// The presenter view's pure parts (web/src/present.ts is the page): the viewer link it shows and
// joins with, read from its own address, and the head counts it shows.
import { formatInviteLink, InviteLinkError, parseInviteLink, type InviteLink } from '../protocol/invite';
import type { PeerInfo } from '../client/session';

/** Why an address is not a presenter view of a viewer link. Never echoes the link. */
export class PresenterLinkError extends Error {}

/**
 * The viewer link of a presenter address: `<base>/present#<payload>` (or `/present.html`, the
 * built file's own name) stands for `<base>/j#<payload>`. Only a viewer link is accepted: a
 * projected participant link would let the whole room ask, so a participant payload fails closed.
 */
export function viewerLinkOfPresenterUrl(href: string): { link: InviteLink; text: string } {
  const url = new URL(href);
  const base = url.pathname.replace(/\/present(\.html)?\/?$/, '');
  if (base === url.pathname) throw new PresenterLinkError('the presenter view lives at <base>/present#<viewer link payload>');
  let link: InviteLink;
  try {
    // The query holds the link's alternate rendezvous ("?r=...", docs/PROTOCOL.md section 1).
    link = parseInviteLink(`${url.origin}${base}/j${url.search}${url.hash}`);
  } catch (e) {
    throw new PresenterLinkError(`the link is not valid: ${e instanceof InviteLinkError ? e.message : 'unreadable'}`);
  }
  if (link.role !== 0) {
    throw new PresenterLinkError('this is a participant link: the presenter view shows only the viewer link (tokencast host prints it)');
  }
  return { link, text: formatInviteLink(link.baseUrl, 0, link.secret, link.hostKey, link.alternates) };
}

/** The host's moderation API (`tokencast host --present`, on 127.0.0.1): its port and token. */
export interface PresenterControl {
  port: number;
  token: string;
}

/**
 * Splits the control part off a presenter address: `<base>/present#<payload>&control=PORT.TOKEN`
 * (TOKEN: 64 lowercase hex digits) gives the address without it and the control; an address
 * without one, or with one that does not parse strictly, gives no control (and loses the part).
 */
export function splitPresenterControl(href: string): { href: string; control: PresenterControl | null } {
  const hash = href.indexOf('#');
  const amp = hash < 0 ? -1 : href.indexOf('&', hash);
  if (amp < 0) return { href, control: null };
  const m = /^control=([1-9][0-9]{0,4})\.([0-9a-f]{64})$/.exec(href.slice(amp + 1));
  const port = m ? Number(m[1]) : 0;
  return { href: href.slice(0, amp), control: m && port <= 65535 ? { port, token: m[2] } : null };
}

export interface HeadCount {
  viewers: number;
  participants: number;
}

/** Who is present besides this screen (`self`) and the host, by role (peer_joined/peer_left). */
export function headCount(peers: ReadonlyMap<bigint, PeerInfo>, self: bigint | null): HeadCount {
  const count: HeadCount = { viewers: 0, participants: 0 };
  for (const [id, p] of peers) {
    if (id === self) continue;
    if (p.role === 'viewer') count.viewers++;
    else if (p.role === 'participant') count.participants++;
  }
  return count;
}

export function headCountText(c: HeadCount): string {
  return `${c.viewers} watching · ${c.participants} ${c.participants === 1 ? 'participant' : 'participants'}`;
}
