// The presenter view's pure parts (src/ui/presenter.ts): which address stands for which viewer
// link, that a participant payload is refused, the host's moderation control in the fragment,
// and the head counts.
import { describe, expect, it } from 'vitest';
import { formatInviteLink } from '../src/protocol/invite';
import type { PeerInfo } from '../src/client/session';
import { headCount, headCountText, PresenterLinkError, splitPresenterControl, viewerLinkOfPresenterUrl } from '../src/ui/presenter';

const secret = new Uint8Array(32).fill(7);
const hostKey = new Uint8Array(32).fill(9);
const viewer = formatInviteLink('https://rv.example.net/events/tc', 0, secret, hostKey);
const participant = formatInviteLink('https://rv.example.net/events/tc', 1, secret, hostKey);
const payload = (link: string) => link.slice(link.indexOf('#'));

describe('presenter address', () => {
  it('stands for the viewer link of the same base, /present and /present.html alike', () => {
    for (const page of ['present', 'present.html', 'present/']) {
      const { link, text } = viewerLinkOfPresenterUrl(`https://rv.example.net/events/tc/${page}${payload(viewer)}`);
      expect(text).toBe(viewer);
      expect(link.role).toBe(0);
      expect(link.baseUrl).toBe('https://rv.example.net/events/tc');
    }
  });

  it("keeps the link's alternate rendezvous (the query) in the link it shows", () => {
    const withAlternates = formatInviteLink('https://rv1.example.net', 0, secret, hostKey, ['https://rv2.example.net']);
    const query = withAlternates.slice(withAlternates.indexOf('?'), withAlternates.indexOf('#'));
    const { link, text } = viewerLinkOfPresenterUrl(`https://rv1.example.net/present${query}${payload(withAlternates)}`);
    expect(text).toBe(withAlternates);
    expect(link.alternates).toEqual(['https://rv2.example.net']);
  });

  it('refuses a participant payload, another path, a missing or broken payload, never echoing it', () => {
    const bad = [
      `https://rv.example.net/events/tc/present${payload(participant)}`,
      `https://rv.example.net/events/tc/j${payload(viewer)}`,
      `https://rv.example.net/events/tc/presenter${payload(viewer)}`,
      'https://rv.example.net/present',
      `https://rv.example.net/present${payload(viewer).slice(0, 40)}`,
    ];
    for (const href of bad) {
      let error: unknown = null;
      try {
        viewerLinkOfPresenterUrl(href);
      } catch (e) {
        error = e;
      }
      expect(error, href).toBeInstanceOf(PresenterLinkError);
      expect((error as Error).message).not.toContain(payload(viewer).slice(1, 20));
    }
    expect(() => viewerLinkOfPresenterUrl(`https://rv.example.net/present${payload(participant)}`)).toThrow(/participant link/);
  });
});

describe('presenter control', () => {
  const token = 'ab'.repeat(32);
  const page = `https://rv.example.net/events/tc/present${payload(viewer)}`;

  it('splits "&control=PORT.TOKEN" off the fragment; the rest is the plain presenter address', () => {
    const { href, control } = splitPresenterControl(`${page}&control=43210.${token}`);
    expect(href).toBe(page);
    expect(control).toEqual({ port: 43210, token });
    expect(viewerLinkOfPresenterUrl(href).text).toBe(viewer);
    expect(splitPresenterControl(page)).toEqual({ href: page, control: null });
  });

  it('gives no control for anything but a port and 64 lowercase hex digits (and drops the part)', () => {
    for (const bad of [
      `control=0.${token}`,
      `control=65536.${token}`,
      `control=012.${token}`,
      `control=80.${token.toUpperCase()}`,
      `control=80.${token.slice(1)}`,
      `control=80.${token}0`,
      `control=80.${token}&x=1`,
      `control=80`,
      `token=${token}`,
      '',
    ]) {
      expect(splitPresenterControl(`${page}&${bad}`), bad).toEqual({ href: page, control: null });
    }
    // An "&" before the fragment is not the control.
    expect(splitPresenterControl(`https://rv.example.net/present?a=1&b=2${payload(viewer)}`).control).toBeNull();
  });
});

describe('head count', () => {
  it('counts viewers and participants besides this screen and the host', () => {
    const peers = new Map<bigint, PeerInfo>([
      [1n, { name: 'host', role: 'host' }],
      [2n, { name: 'presenter screen', role: 'viewer' }],
      [3n, { name: 'ada', role: 'participant' }],
      [4n, { name: 'bob', role: 'viewer' }],
      [5n, { name: 'cy', role: 'viewer' }],
    ]);
    expect(headCount(peers, 2n)).toEqual({ viewers: 2, participants: 1 });
    expect(headCountText(headCount(peers, 2n))).toBe('2 watching · 1 participant');
    expect(headCountText(headCount(new Map(), null))).toBe('0 watching · 0 participants');
  });
});
