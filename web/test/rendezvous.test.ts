import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/protocol/bytes';
import {
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  findJoinInOffer,
  JOIN_SUBPROTOCOL_SIZE,
  joinSubprotocol,
  parseJoinSubprotocol,
  RendezvousWireError,
  type ServerMessage,
} from '../src/protocol/rendezvous';
import { loadVectors } from './vectors';

const room = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');

function code(hex: string): string {
  try {
    decodeServerMessage(fromHex(hex));
  } catch (e) {
    return (e as RendezvousWireError).code;
  }
  return 'ok';
}

describe('rendezvous wire (docs/PROTOCOL.md section 3 example)', () => {
  it('encodes peer -> server messages', () => {
    expect(toHex(encodeClientMessage({ type: 'join', room }))).toBe('0101' + toHex(room));
    expect(toHex(encodeClientMessage({ type: 'send', to: 0x1a2b3c4d5e6f7081n, payload: fromHex('deadbeef') }))).toBe('021a2b3c4d5e6f7081deadbeef');
    expect(toHex(encodeClientMessage({ type: 'ping', token: 7n }))).toBe('030000000000000007');
    expect(() => encodeClientMessage({ type: 'send', to: 1n, payload: new Uint8Array(0) })).toThrow();
    expect(decodeClientMessage(fromHex('0101' + toHex(room)))).toEqual({ type: 'join', room });
  });

  it('decodes server -> peer messages', () => {
    expect(decodeServerMessage(fromHex('811a2b3c4d5e6f70810000'))).toEqual({ type: 'joined', self: 0x1a2b3c4d5e6f7081n, peers: [] });
    expect(decodeServerMessage(fromHex('8199aabbccddeeff0000011a2b3c4d5e6f7081'))).toEqual({
      type: 'joined',
      self: 0x99aabbccddeeff00n,
      peers: [0x1a2b3c4d5e6f7081n],
    });
    expect(decodeServerMessage(fromHex('8299aabbccddeeff00'))).toEqual({ type: 'peer_joined', peer: 0x99aabbccddeeff00n });
    expect(decodeServerMessage(fromHex('8399aabbccddeeff00'))).toEqual({ type: 'peer_left', peer: 0x99aabbccddeeff00n });
    expect(decodeServerMessage(fromHex('8499aabbccddeeff00deadbeef'))).toEqual({
      type: 'envelope',
      from: 0x99aabbccddeeff00n,
      payload: fromHex('deadbeef'),
    });
    expect(decodeServerMessage(fromHex('85010000000000000063'))).toEqual({ type: 'error', code: 1, peer: 0x63n });
    expect(decodeServerMessage(fromHex('860000000000000009'))).toEqual({ type: 'pong', token: 9n });
    const samples: ServerMessage[] = [
      { type: 'joined', self: 5n, peers: [1n, 2n] },
      { type: 'envelope', from: 3n, payload: fromHex('01') },
    ];
    for (const m of samples) {
      expect(decodeServerMessage(encodeServerMessage(m))).toEqual(m);
    }
  });

  it('is strict', () => {
    expect(code('')).toBe('truncated');
    expect(code('01')).toBe('unknown_type');
    expect(code('811a2b3c4d5e6f7081')).toBe('truncated');
    expect(code('811a2b3c4d5e6f70810001')).toBe('truncated');
    expect(code('811a2b3c4d5e6f7081000000')).toBe('trailing_bytes');
    expect(code('811a2b3c4d5e6f708100011a2b3c4d5e6f7081')).toBe('bad_value'); // self listed
    expect(code('8100000000000000000000')).toBe('bad_value'); // self 0
    expect(code('82000000000000000000')).toBe('trailing_bytes');
    expect(code('840000000000000001')).toBe('truncated'); // empty payload
    expect(code('85030000000000000063')).toBe('bad_value');
    expect(code('8600')).toBe('truncated');
  });
});

describe('rendezvous ICE_SERVERS (tests/vectors/rendezvous_ice.json)', () => {
  const vectors = loadVectors('rendezvous_ice.json');

  it('decodes and re-encodes every valid vector', () => {
    expect(vectors.valid.length).toBeGreaterThan(0);
    for (const v of vectors.valid) {
      const m = decodeServerMessage(fromHex(v.hex));
      expect(m, v.name).toEqual({ type: 'ice_servers', servers: v.servers });
      expect(toHex(encodeServerMessage(m)), v.name).toBe(v.hex);
    }
  });

  it('refuses every invalid vector with the named error', () => {
    const names: Record<string, string> = { truncated: 'truncated', trailing_bytes: 'trailing_bytes', bad_ice_server: 'bad_value' };
    expect(vectors.invalid.length).toBeGreaterThan(0);
    for (const v of vectors.invalid) expect(code(v.hex), v.name).toBe(names[v.error]);
  });

  it('refuses to encode what it would not decode', () => {
    expect(() => encodeServerMessage({ type: 'ice_servers', servers: [] })).toThrow();
    expect(() => encodeServerMessage({ type: 'ice_servers', servers: [{ url: 'http:a', username: '', credential: '' }] })).toThrow();
    expect(() => encodeServerMessage({ type: 'ice_servers', servers: [{ url: 'turn:a', username: 'é', credential: '' }] })).toThrow();
  });
});

describe('JOIN in the upgrade (tests/vectors/rendezvous_join.json)', () => {
  const vectors = loadVectors('rendezvous_join.json');

  it('makes the subprotocol of every room, and reads it back', () => {
    expect(vectors.subprotocols.length).toBeGreaterThan(0);
    for (const v of vectors.subprotocols) {
      expect(joinSubprotocol(fromHex(v.room)), v.name).toBe(v.subprotocol);
      expect(v.subprotocol.length).toBe(JOIN_SUBPROTOCOL_SIZE);
      expect(toHex(parseJoinSubprotocol(v.subprotocol)), v.name).toBe(v.room);
    }
  });

  it('finds the room in every offer the server takes', () => {
    expect(vectors.offers.length).toBeGreaterThan(0);
    for (const v of vectors.offers) {
      const room = findJoinInOffer(v.offer);
      expect(room === null ? null : toHex(room), v.name).toBe(v.room);
    }
  });

  it('refuses every invalid offer with the named error', () => {
    const names: Record<string, string> = { bad_join_offer: 'bad_join_offer', unsupported_version: 'bad_version' };
    expect(vectors.invalid.length).toBeGreaterThan(0);
    for (const v of vectors.invalid) {
      let got = 'ok';
      try {
        findJoinInOffer(v.offer);
      } catch (e) {
        got = (e as RendezvousWireError).code;
      }
      expect(got, v.name).toBe(names[v.error]);
    }
  });
});
