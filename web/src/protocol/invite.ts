// Invite links: <base-url>/j[?r=<alternate>&r=...]#<payload> (docs/PROTOCOL.md, section 1.1). Strict parsing with the
// same error names, in the same order, as the C++ reference (src/core/invite.cpp).
import { base64urlDecode, base64urlEncode } from './base64url';
import { utf8, wipe } from './bytes';

export const MAX_INVITE_LINK_LENGTH = 2048;
export const INVITE_PAYLOAD_CHARS = 88;
export const INVITE_PAYLOAD_SIZE = 66;
export const INVITE_VERSION = 1;
export const MAX_INVITE_ALTERNATES = 4;
export const MAX_INVITE_ALTERNATE_LENGTH = 200;

export type LinkRole = 0 | 1; // 0 viewer, 1 participant

export type InviteError =
  | 'too_long'
  | 'bad_scheme'
  | 'userinfo'
  | 'bad_host'
  | 'bad_port'
  | 'query'
  | 'bad_path'
  | 'wrong_path'
  | 'no_fragment'
  | 'wrong_length'
  | 'bad_base64url'
  | 'unknown_version'
  | 'unknown_role'
  | 'bad_alternate'
  | 'too_many_alternates'
  | 'duplicate_alternate';

const MESSAGES: Record<InviteError, string> = {
  too_long: 'invite link too long',
  bad_scheme: 'invite link must start with http:// or https://',
  userinfo: 'invite link must not contain user@ before the host',
  bad_host: 'invite link has an invalid host',
  bad_port: 'invite link has an invalid port',
  query: 'invite link must not contain a ?query',
  bad_path: 'invite link has an invalid path',
  wrong_path: 'invite link path must end in /j',
  no_fragment: 'invite link has no #payload (was it cut off?)',
  wrong_length: 'invite link payload must be exactly 88 characters',
  bad_base64url: 'invite link payload is not valid base64url',
  unknown_version: 'invite link version not supported (update tokencast?)',
  unknown_role: 'invite link role unknown',
  bad_alternate: 'invite link has an invalid alternate rendezvous (r=)',
  too_many_alternates: 'invite link has too many alternate rendezvous (at most 4)',
  duplicate_alternate: 'invite link repeats a rendezvous in its alternates',
};

/** A parse failure; its message never echoes the input (links are secrets). */
export class InviteLinkError extends Error {
  constructor(readonly code: InviteError) {
    super(MESSAGES[code]);
  }
}

export interface InviteLink {
  baseUrl: string; // normalized
  role: LinkRole;
  secret: Uint8Array; // 32 bytes
  hostKey: Uint8Array; // 32 bytes, Ed25519 public key
  alternates: string[]; // normalized alternate rendezvous base URLs, in the link's order
}

const isAlpha = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isDigit = (c: string) => c >= '0' && c <= '9';
const isHex = (c: string) => isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
const isPchar = (c: string) => isAlpha(c) || isDigit(c) || "-._~!$&'()*+,;=:@".includes(c);

function fail(code: InviteError): never {
  throw new InviteLinkError(code);
}

function parseHost(host: string): string {
  if (host.length === 0) fail('bad_host');
  if (host[0] === '[') {
    if (host.length < 4 || host[host.length - 1] !== ']') fail('bad_host');
    for (let i = 1; i + 1 < host.length; i++) {
      const c = host[i];
      if (!(isHex(c) || c === ':' || c === '.')) fail('bad_host');
    }
    return host.toLowerCase();
  }
  for (const c of host) {
    if (!(isAlpha(c) || isDigit(c) || c === '-' || c === '.')) fail('bad_host');
  }
  const out = host.toLowerCase();
  if (out.startsWith('.') || out.endsWith('.') || out.includes('..')) fail('bad_host');
  return out;
}

function parsePort(port: string): string {
  if (port.length === 0 || port.length > 5) fail('bad_port');
  for (const c of port) if (!isDigit(c)) fail('bad_port');
  const v = Number(port);
  if (v === 0 || v > 65535 || port[0] === '0') fail('bad_port');
  return port;
}

function validPath(path: string): boolean {
  if (path.length === 0) return true;
  if (path[0] !== '/') return false;
  let segLen = 0;
  for (let i = 1; i < path.length; i++) {
    const c = path[i];
    if (c === '/') {
      if (segLen === 0) return false;
      segLen = 0;
    } else if (c === '%') {
      if (i + 2 >= path.length || !isHex(path[i + 1]) || !isHex(path[i + 2])) return false;
      i += 2;
      segLen++;
    } else if (isPchar(c)) {
      segLen++;
    } else {
      return false;
    }
  }
  return segLen !== 0;
}

interface ParsedUrl {
  secure: boolean;
  authority: string;
  basePath: string;
  hasFragment: boolean;
  fragment: string;
  alternates: string | null; // after "?r=" (links only)
}

function parseUrl(url: string, allowFragment: boolean): ParsedUrl {
  if (utf8(url).length > MAX_INVITE_LINK_LENGTH) fail('too_long');
  const sep = url.indexOf('://');
  if (sep < 0) fail('bad_scheme');
  const scheme = url.slice(0, sep).toLowerCase();
  let secure = false;
  if (scheme === 'https') secure = true;
  else if (scheme !== 'http') fail('bad_scheme');
  let rest = url.slice(sep + 3);
  const m = /[/?#]/.exec(rest);
  const authEnd = m ? m.index : rest.length;
  const authority = rest.slice(0, authEnd);
  rest = rest.slice(authEnd);
  if (authority.includes('@')) fail('userinfo');

  let host = authority;
  let port = '';
  let hasPort = false;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) fail('bad_host');
    host = authority.slice(0, close + 1);
    const after = authority.slice(close + 1);
    if (after.length > 0) {
      if (after[0] !== ':') fail('bad_host');
      port = after.slice(1);
      hasPort = true;
    }
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon >= 0) {
      host = authority.slice(0, colon);
      port = authority.slice(colon + 1);
      hasPort = true;
    }
  }
  let normAuthority = parseHost(host);
  if (hasPort) normAuthority += ':' + parsePort(port);

  const hash = rest.indexOf('#');
  const pathAndQuery = hash < 0 ? rest : rest.slice(0, hash);
  let hasFragment = false;
  let fragment = '';
  if (hash >= 0) {
    if (!allowFragment) fail('bad_path');
    hasFragment = true;
    fragment = rest.slice(hash + 1);
  }
  let basePath = pathAndQuery;
  let alternates: string | null = null;
  const question = pathAndQuery.indexOf('?');
  if (question >= 0) {
    // A link's only query is its alternates, "?r=..." (checked after the payload).
    if (!allowFragment || !pathAndQuery.startsWith('?r=', question)) fail('query');
    alternates = pathAndQuery.slice(question + 3);
    basePath = pathAndQuery.slice(0, question);
  }
  return { secure, authority: normAuthority, basePath, hasFragment, fragment, alternates };
}

function assemble(p: ParsedUrl, path: string): string {
  return (p.secure ? 'https://' : 'http://') + p.authority + path;
}

export function normalizeBaseUrl(baseUrl: string): string {
  const p = parseUrl(baseUrl, false);
  let path = p.basePath;
  if (path.endsWith('/')) path = path.slice(0, -1);
  if (!validPath(path)) fail('bad_path');
  return assemble(p, path);
}

// One alternate: a base URL of the link's scheme, without '&'; returned normalized.
function checkAlternate(alt: string, secure: boolean): string {
  if (alt.length === 0 || alt.length > MAX_INVITE_ALTERNATE_LENGTH || alt.includes('&')) fail('bad_alternate');
  let n: string;
  try {
    n = normalizeBaseUrl(alt);
  } catch {
    fail('bad_alternate');
  }
  if (n.startsWith('https://') !== secure) fail('bad_alternate');
  return n;
}

function parseAlternates(text: string, secure: boolean, base: string): string[] {
  const out: string[] = [];
  for (;;) {
    const amp = text.indexOf('&');
    const item = amp < 0 ? text : text.slice(0, amp);
    if (out.length === MAX_INVITE_ALTERNATES) fail('too_many_alternates');
    const n = checkAlternate(item, secure);
    if (n !== item) fail('bad_alternate'); // one spelling per link
    if (n === base || out.includes(n)) fail('duplicate_alternate');
    out.push(n);
    if (amp < 0) return out;
    text = text.slice(amp + 1);
    if (!text.startsWith('r=')) fail('bad_alternate');
    text = text.slice(2);
  }
}

export function parseInviteLink(link: string): InviteLink {
  const p = parseUrl(link, true);
  const path = p.basePath;
  if (!validPath(path)) fail('bad_path');
  if (!path.endsWith('/j')) fail('wrong_path');
  if (!p.hasFragment || p.fragment.length === 0) fail('no_fragment');
  if (p.fragment.length !== INVITE_PAYLOAD_CHARS) fail('wrong_length');
  let payload: Uint8Array;
  try {
    payload = base64urlDecode(p.fragment);
  } catch {
    fail('bad_base64url');
  }
  if (payload.length !== INVITE_PAYLOAD_SIZE) fail('wrong_length');
  if (payload[0] !== INVITE_VERSION) fail('unknown_version');
  if (payload[1] > 1) fail('unknown_role');
  const out: InviteLink = {
    baseUrl: assemble(p, path.slice(0, path.length - 2)),
    role: payload[1] as LinkRole,
    secret: payload.slice(2, 34),
    hostKey: payload.slice(34, 66),
    alternates: [],
  };
  wipe(payload);
  if (p.alternates !== null) out.alternates = parseAlternates(p.alternates, p.secure, out.baseUrl);
  return out;
}

export function formatInviteLink(
  baseUrl: string,
  role: LinkRole,
  secret: Uint8Array,
  hostKey: Uint8Array,
  alternates: readonly string[] = [],
): string {
  const base = normalizeBaseUrl(baseUrl);
  if (alternates.length > MAX_INVITE_ALTERNATES) fail('too_many_alternates');
  const seen = [base];
  let query = '';
  for (const alt of alternates) {
    const n = checkAlternate(alt, base.startsWith('https://'));
    if (seen.includes(n)) fail('duplicate_alternate');
    query += (query ? '&r=' : '?r=') + n;
    seen.push(n);
  }
  const payload = new Uint8Array(INVITE_PAYLOAD_SIZE);
  payload[0] = INVITE_VERSION;
  payload[1] = role;
  payload.set(secret, 2);
  payload.set(hostKey, 34);
  const link = `${base}/j${query}#${base64urlEncode(payload)}`;
  wipe(payload);
  if (utf8(link).length > MAX_INVITE_LINK_LENGTH) fail('too_long');
  return link;
}

export function rendezvousWebSocketUrl(baseUrl: string): string {
  const base = normalizeBaseUrl(baseUrl);
  return 'ws' + base.slice(4) + '/ws';
}

/** The link's rendezvous base URLs in the order a joiner tries them. */
export function inviteRendezvousBases(link: InviteLink): string[] {
  return [link.baseUrl, ...link.alternates];
}

export function redactInviteLink(link: string): string {
  const hash = link.indexOf('#');
  return hash < 0 ? link : link.slice(0, hash + 1) + '<redacted>';
}
