// Rendezvous WebSocket wire protocol, version 1 (docs/PROTOCOL.md, section 3). Every message
// is one binary WebSocket message; decoders accept only the canonical form.
import { base64urlDecode, base64urlEncode } from './base64url';
import { concat, readU64be, u64be } from './bytes';

export const RENDEZVOUS_VERSION = 1;
export const LOCATOR_SIZE = 32;
export const MAX_PAYLOAD = 65536;
export const MAX_LISTED_PEERS = 16383;
export const MAX_ICE_SERVERS = 8;
export const MAX_ICE_FIELD = 255;
/** The largest ICE list: a count and eight entries of three 255-byte fields. */
export const MAX_ICE_LIST_SIZE = 1 + MAX_ICE_SERVERS * (3 + 3 * MAX_ICE_FIELD);

/** One STUN/TURN server from ICE_SERVERS (0x87); the credential is a secret: never log it. */
export interface IceServerEntry {
  url: string;
  username: string;
  credential: string;
}

export type ClientMessage =
  | { type: 'join'; room: Uint8Array }
  | { type: 'send'; to: bigint; payload: Uint8Array }
  | { type: 'ping'; token: bigint };

export type ServerMessage =
  | { type: 'joined'; self: bigint; peers: bigint[] }
  | { type: 'peer_joined'; peer: bigint }
  | { type: 'peer_left'; peer: bigint }
  | { type: 'envelope'; from: bigint; payload: Uint8Array }
  | { type: 'error'; code: 1 | 2; peer: bigint }
  | { type: 'pong'; token: bigint }
  | { type: 'ice_servers'; servers: IceServerEntry[] };

export type WireError = 'truncated' | 'trailing_bytes' | 'unknown_type' | 'bad_version' | 'bad_value' | 'bad_join_offer';

export class RendezvousWireError extends Error {
  constructor(readonly code: WireError) {
    super(`rendezvous wire: ${code}`);
  }
}

function wire(code: WireError): never {
  throw new RendezvousWireError(code);
}

export function encodeClientMessage(m: ClientMessage): Uint8Array {
  switch (m.type) {
    case 'join':
      if (m.room.length !== LOCATOR_SIZE) wire('bad_value');
      return concat(Uint8Array.of(0x01, RENDEZVOUS_VERSION), m.room);
    case 'send':
      if (m.payload.length < 1 || m.payload.length > MAX_PAYLOAD || m.to === 0n) wire('bad_value');
      return concat(Uint8Array.of(0x02), u64be(m.to), m.payload);
    case 'ping':
      return concat(Uint8Array.of(0x03), u64be(m.token));
  }
}

function exact(b: Uint8Array, size: number): void {
  if (b.length < size) wire('truncated');
  if (b.length > size) wire('trailing_bytes');
}

export function decodeServerMessage(b: Uint8Array): ServerMessage {
  if (b.length === 0) wire('truncated');
  switch (b[0]) {
    case 0x81: {
      if (b.length < 11) wire('truncated');
      const self = readU64be(b, 1);
      const count = (b[9] << 8) | b[10];
      if (count > MAX_LISTED_PEERS) wire('bad_value');
      exact(b, 11 + 8 * count);
      if (self === 0n) wire('bad_value');
      const peers: bigint[] = [];
      const seen = new Set<bigint>();
      for (let i = 0; i < count; i++) {
        const p = readU64be(b, 11 + 8 * i);
        if (p === 0n || p === self || seen.has(p)) wire('bad_value');
        seen.add(p);
        peers.push(p);
      }
      return { type: 'joined', self, peers };
    }
    case 0x82:
    case 0x83: {
      exact(b, 9);
      const peer = readU64be(b, 1);
      if (peer === 0n) wire('bad_value');
      return { type: b[0] === 0x82 ? 'peer_joined' : 'peer_left', peer };
    }
    case 0x84: {
      if (b.length < 10) wire('truncated');
      if (b.length > 9 + MAX_PAYLOAD) wire('trailing_bytes');
      const from = readU64be(b, 1);
      if (from === 0n) wire('bad_value');
      return { type: 'envelope', from, payload: b.slice(9) };
    }
    case 0x85: {
      exact(b, 10);
      if (b[1] !== 1 && b[1] !== 2) wire('bad_value');
      return { type: 'error', code: b[1] as 1 | 2, peer: readU64be(b, 2) };
    }
    case 0x86:
      exact(b, 9);
      return { type: 'pong', token: readU64be(b, 1) };
    case 0x87:
      return decodeIceServers(b);
  }
  wire('unknown_type');
}

const ICE_SCHEMES = ['stun:', 'stuns:', 'turn:', 'turns:'];

function validIceField(text: string, min: number): boolean {
  if (text.length < min || text.length > MAX_ICE_FIELD) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

function validIceEntry(e: IceServerEntry): boolean {
  return (
    validIceField(e.url, 1) &&
    validIceField(e.username, 0) &&
    validIceField(e.credential, 0) &&
    ICE_SCHEMES.some((s) => e.url.length > s.length && e.url.startsWith(s))
  );
}

/** The ICE list (count, then entries) shared by ICE_SERVERS (after its type byte) and the
 *  host's ICE beacon (docs/PROTOCOL.md sections 2 and 3). Strict; throws RendezvousWireError. */
export function decodeIceList(b: Uint8Array): IceServerEntry[] {
  if (b.length < 1) wire('truncated');
  const count = b[0];
  if (count === 0 || count > MAX_ICE_SERVERS) wire('bad_value');
  let pos = 1;
  const field = (): string => {
    if (pos >= b.length) wire('truncated');
    const len = b[pos++];
    if (b.length - pos < len) wire('truncated');
    let text = '';
    for (let i = 0; i < len; i++) text += String.fromCharCode(b[pos + i]);
    pos += len;
    return text;
  };
  const servers: IceServerEntry[] = [];
  for (let i = 0; i < count; i++) {
    const e = { url: field(), username: field(), credential: field() };
    if (!validIceEntry(e)) wire('bad_value');
    servers.push(e);
  }
  if (pos !== b.length) wire('trailing_bytes');
  return servers;
}

export function encodeIceList(servers: IceServerEntry[]): Uint8Array {
  if (servers.length === 0 || servers.length > MAX_ICE_SERVERS) wire('bad_value');
  const out: number[] = [servers.length];
  for (const e of servers) {
    if (!validIceEntry(e)) wire('bad_value');
    for (const text of [e.url, e.username, e.credential]) {
      out.push(text.length);
      for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i));
    }
  }
  return Uint8Array.from(out);
}

function decodeIceServers(b: Uint8Array): ServerMessage {
  return { type: 'ice_servers', servers: decodeIceList(b.subarray(1)) };
}

function encodeIceServers(servers: IceServerEntry[]): Uint8Array {
  return concat(Uint8Array.of(0x87), encodeIceList(servers));
}

/** Peer -> server messages, decoded (for tests and tools). */
export function decodeClientMessage(b: Uint8Array): ClientMessage {
  if (b.length === 0) wire('truncated');
  switch (b[0]) {
    case 0x01:
      exact(b, 34);
      if (b[1] !== RENDEZVOUS_VERSION) wire('bad_version');
      return { type: 'join', room: b.slice(2) };
    case 0x02: {
      if (b.length < 10) wire('truncated');
      if (b.length > 9 + MAX_PAYLOAD) wire('trailing_bytes');
      return { type: 'send', to: readU64be(b, 1), payload: b.slice(9) };
    }
    case 0x03:
      exact(b, 9);
      return { type: 'ping', token: readU64be(b, 1) };
  }
  wire('unknown_type');
}

/** Server -> peer messages, encoded (for tests and fakes). */
export function encodeServerMessage(m: ServerMessage): Uint8Array {
  switch (m.type) {
    case 'joined':
      return concat(Uint8Array.of(0x81), u64be(m.self), Uint8Array.of(m.peers.length >> 8, m.peers.length & 255), ...m.peers.map(u64be));
    case 'peer_joined':
      return concat(Uint8Array.of(0x82), u64be(m.peer));
    case 'peer_left':
      return concat(Uint8Array.of(0x83), u64be(m.peer));
    case 'envelope':
      return concat(Uint8Array.of(0x84), u64be(m.from), m.payload);
    case 'error':
      return concat(Uint8Array.of(0x85, m.code), u64be(m.peer));
    case 'pong':
      return concat(Uint8Array.of(0x86), u64be(m.token));
    case 'ice_servers':
      return encodeIceServers(m.servers);
  }
}

/** JOIN carried in the WebSocket upgrade (docs/PROTOCOL.md section 3, "Joining at the
 *  upgrade"): offered as this subprotocol, base64url of the JOIN message after the prefix. A
 *  server that joined us at the upgrade selects it (`WebSocket.protocol`); one that did not
 *  selects none, and the JOIN message follows the open as before. */
export const JOIN_SUBPROTOCOL_PREFIX = 'tokencast.join.';
export const JOIN_SUBPROTOCOL_SIZE = JOIN_SUBPROTOCOL_PREFIX.length + 46;
export const MAX_JOIN_OFFER_SIZE = 1024;

export function joinSubprotocol(room: Uint8Array): string {
  return JOIN_SUBPROTOCOL_PREFIX + base64urlEncode(encodeClientMessage({ type: 'join', room }));
}

/** One offered subprotocol -> its room; throws 'bad_join_offer' (or 'bad_version'). */
export function parseJoinSubprotocol(protocol: string): Uint8Array {
  if (protocol.length !== JOIN_SUBPROTOCOL_SIZE || !protocol.startsWith(JOIN_SUBPROTOCOL_PREFIX)) wire('bad_join_offer');
  let bytes: Uint8Array;
  try {
    bytes = base64urlDecode(protocol.slice(JOIN_SUBPROTOCOL_PREFIX.length));
  } catch {
    wire('bad_join_offer');
  }
  let m: ClientMessage;
  try {
    m = decodeClientMessage(bytes);
  } catch (e) {
    if (e instanceof RendezvousWireError && e.code === 'bad_version') throw e;
    wire('bad_join_offer');
  }
  if (m.type !== 'join') wire('bad_join_offer');
  return m.room;
}

/** A whole Sec-WebSocket-Protocol offer, as the server reads it: null when no entry is a join
 *  subprotocol; the room when exactly one is and parses; throws otherwise. (The browser never
 *  parses offers; this is the server's rule, for the shared vectors.) */
export function findJoinInOffer(offer: string): Uint8Array | null {
  if (offer.length > MAX_JOIN_OFFER_SIZE) wire('bad_join_offer');
  let found: Uint8Array | null = null;
  for (const raw of offer.length ? offer.split(',') : []) {
    const entry = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (!entry.startsWith(JOIN_SUBPROTOCOL_PREFIX)) continue;
    if (found) wire('bad_join_offer');
    found = parseJoinSubprotocol(entry);
  }
  return found;
}
