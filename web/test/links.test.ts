import { describe, expect, it } from 'vitest';
import { Base64urlDecodeError, base64urlDecode, base64urlEncode } from '../src/protocol/base64url';
import { fromHex, toHex } from '../src/protocol/bytes';
import {
  formatInviteLink,
  inviteRendezvousBases,
  InviteLinkError,
  normalizeBaseUrl,
  parseInviteLink,
  redactInviteLink,
  rendezvousWebSocketUrl,
} from '../src/protocol/invite';
import { roomLocator } from '../src/protocol/keys';
import { loadVectors } from './vectors';

const L = loadVectors('links.json');

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof InviteLinkError || e instanceof Base64urlDecodeError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('links.json valid', () => {
  for (const v of L.valid) {
    it(v.name, () => {
      const link = parseInviteLink(v.link);
      expect(link.baseUrl).toBe(v.base_url);
      expect(link.role).toBe(v.role);
      expect(toHex(link.secret)).toBe(v.secret_hex);
      expect(toHex(link.hostKey)).toBe(v.host_public_key_hex);
      expect(rendezvousWebSocketUrl(link.baseUrl)).toBe(v.rendezvous_websocket_url);
      if (v.room_locator_b64url) {
        expect(base64urlEncode(roomLocator(link.secret, link.role, link.hostKey))).toBe(v.room_locator_b64url);
      }
      if (v.payload_hex) expect(base64urlDecode(v.link.slice(v.link.indexOf('#') + 1))).toEqual(fromHex(v.payload_hex));
      expect(link.alternates).toEqual(v.alternates ?? []);
      if (v.canonical) expect(formatInviteLink(v.base_url, link.role, link.secret, link.hostKey, link.alternates)).toBe(v.link);
    });
  }
});

describe('links.json invalid', () => {
  for (const v of L.invalid) {
    it(`${v.name} -> ${v.error}`, () => {
      expect(code(() => parseInviteLink(v.link))).toBe(v.error);
    });
  }
  it('error messages never echo the link', () => {
    for (const v of L.invalid) {
      let threw = false;
      try {
        parseInviteLink(v.link);
      } catch (e) {
        threw = true;
        const frag = v.link.includes('#') ? v.link.slice(v.link.indexOf('#') + 1) : '';
        if (frag.length > 4) expect((e as Error).message).not.toContain(frag);
      }
      expect(threw).toBe(true);
    }
  });
});

describe('links.json base_urls', () => {
  for (const v of L.base_urls) {
    it(v.input, () => {
      if (v.error) {
        expect(code(() => normalizeBaseUrl(v.input))).toBe(v.error);
      } else {
        expect(normalizeBaseUrl(v.input)).toBe(v.normalized);
        expect(rendezvousWebSocketUrl(v.input)).toBe(v.rendezvous_websocket_url);
      }
    });
  }
});

describe('links.json base64url', () => {
  for (const v of L.base64url) {
    it(JSON.stringify(v.text), () => {
      if (v.error) {
        expect(code(() => base64urlDecode(v.text))).toBe(v.error);
      } else {
        expect(toHex(base64urlDecode(v.text))).toBe(v.bytes_hex);
        expect(base64urlEncode(fromHex(v.bytes_hex))).toBe(v.text);
      }
    });
  }
});

describe('redaction', () => {
  it('keeps everything up to #', () => {
    expect(redactInviteLink('https://h/j#abc')).toBe('https://h/j#<redacted>');
  });
});

describe('alternate rendezvous', () => {
  const secret = new Uint8Array(32).fill(7);
  const key = new Uint8Array(32).fill(9);
  it('formats normalized alternates in order and parses them back', () => {
    const link = formatInviteLink('https://A.example/', 0, secret, key, ['https://B.example/', 'https://c.example:8443']);
    expect(link.startsWith('https://a.example/j?r=https://b.example&r=https://c.example:8443#')).toBe(true);
    const parsed = parseInviteLink(link);
    expect(inviteRendezvousBases(parsed)).toEqual(['https://a.example', 'https://b.example', 'https://c.example:8443']);
    // Each alternate costs its length plus 3 characters ("?r=" or "&r=").
    expect(link.length).toBe(formatInviteLink('https://a.example', 0, secret, key).length + (3 + 17) + (3 + 22));
  });
  it('refuses what a link could not carry', () => {
    const fails = (alts: string[]) => code(() => formatInviteLink('https://a.example', 0, secret, key, alts));
    expect(fails(['http://b.example'])).toBe('bad_alternate');
    expect(fails(['https://b.example/x&y'])).toBe('bad_alternate');
    expect(fails([`https://b.example/${'x'.repeat(190)}`])).toBe('bad_alternate');
    expect(fails(['https://A.example'])).toBe('duplicate_alternate');
    expect(fails(['https://b.example', 'https://b.example/'])).toBe('duplicate_alternate');
    expect(fails(['https://b.e', 'https://c.e', 'https://d.e', 'https://f.e', 'https://g.e'])).toBe('too_many_alternates');
    expect(fails(['https://b.e', 'https://c.e', 'https://d.e', 'https://f.e'])).toBe('no error');
  });
});
