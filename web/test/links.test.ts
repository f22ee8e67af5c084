import { describe, expect, it } from 'vitest';
import { Base64urlDecodeError, base64urlDecode, base64urlEncode } from '../src/protocol/base64url';
import { fromHex, toHex } from '../src/protocol/bytes';
import {
  formatInviteLink,
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
      if (v.canonical) expect(formatInviteLink(v.base_url, link.role, link.secret, link.hostKey)).toBe(v.link);
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
