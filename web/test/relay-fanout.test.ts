// RelayForwarder and RelayFanout (src/protocol/relay-fanout.ts), a browser relay's serving side,
// against the cases of tests/core_relay_test.cpp (RelayForwarder.*, RelayFanout.*), with the
// host's frames of tests/vectors/relay.json: records 1..8, signed at 3 and 7 (signed records)
// and 4 and 8 (checkpoints).
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/protocol/bytes';
import { ed25519 } from '@noble/curves/ed25519.js';
import { concatAll } from '../src/protocol/bytes';
import {
  decodeRelayFrame,
  RelayError,
  RelayVerifier,
  relayChainGenesis,
  relayChainNext,
  relayCheckpointMessage,
  type VerifiedRecord,
} from '../src/protocol/relay';
import { RelayFanout, RelayForwarder } from '../src/protocol/relay-fanout';
import { loadVectors } from './vectors';

const V = loadVectors('relay.json');
const sessionId = fromHex(V.session_id_hex);
const hostKey = fromHex(V.host_public_key_hex);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const frames: Uint8Array[] = V.stream.frames.map((f: any) => fromHex(f.hex));
const kinds = frames.map((f) => decodeRelayFrame(f));
const zero = new Uint8Array(32);
const hello = (last: bigint, chain: Uint8Array) => ({ version: 5, last_index: last, chain_hash: chain });

function feed(v: RelayVerifier, fs: Uint8Array[]): bigint[] {
  const out: VerifiedRecord[] = [];
  for (const f of fs) out.push(...v.accept(f));
  return out.map((r) => r.index);
}
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => BigInt(from + i + 1));

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof RelayError) return e.code;
    throw e;
  }
  return 'none';
}

describe('RelayForwarder', () => {
  it('keeps the stream in order, skips resent frames and resumes children', () => {
    expect(kinds.map((k) => k.kind[0]).join('')).toBe('rrsrcrrsrc');
    const relay = new RelayForwarder();
    for (const f of frames) expect(relay.add(f)).toBe('forward');
    expect(relay.head).toBe(8n);
    expect(relay.oldest()).toBe(1n);
    for (const f of frames.slice(3)) expect(relay.add(f)).toBe('duplicate');
    const full = new RelayVerifier(sessionId, hostKey);
    expect(feed(full, frames.slice(0, 3))).toEqual([1n, 2n, 3n]);
    const child = new RelayVerifier(sessionId, hostKey, full.verified);
    expect(feed(child, relay.since(3n)!)).toEqual(range(3, 8));
    expect(relay.since(8n)).toEqual([]);
    expect(relay.since(99n)).toEqual([]); // a child ahead of its parent waits for live frames
    const gap = new RelayForwarder();
    gap.add(frames[0]);
    expect(codeOf(() => gap.add(frames[2]))).toBe('out_of_order');
  });

  it('is bounded and says when it cannot resume a child', () => {
    const relay = new RelayForwarder({ maxFrames: 4, maxBytes: 1 << 20 });
    for (const f of frames) relay.add(f);
    expect(relay.frames).toBe(4); // r6 s7 r8 c8
    expect(relay.oldest()).toBe(6n);
    expect(relay.since(5n)!.length).toBe(4);
    expect(relay.since(4n)).toBeNull(); // record 5 is gone: resume from the host
    const bytes = new RelayForwarder({ maxFrames: 100, maxBytes: frames[8].length + frames[9].length });
    for (const f of frames) bytes.add(f);
    expect(bytes.frames).toBe(2);
  });
});

describe('RelayFanout', () => {
  const genesis = relayChainGenesis(sessionId, hostKey);

  it('serves every child position it can vouch for', () => {
    const fanout = new RelayFanout(sessionId, hostKey);
    for (const f of frames) expect(fanout.add(f)).toBe('forward');
    for (const f of frames) expect(fanout.add(f)).toBe('duplicate');
    expect(fanout.head).toBe(8n);

    // From the genesis, or all zero (a child never welcomed does not know the session id).
    for (const h of [genesis, zero]) {
      const s = fanout.serve(hello(0n, h))!;
      expect(s.welcome).toEqual({ version: 5, session_id: sessionId, head_index: 8n });
      expect(s.anchor).toBeNull();
      expect(feed(new RelayVerifier(sessionId, hostKey), s.frames)).toEqual(range(0, 8));
    }
    const other = genesis.slice();
    other[0] ^= 1;
    expect(fanout.serve(hello(0n, other))).toBeNull();

    // From a chain position the child verified: the records after it.
    const part = new RelayVerifier(sessionId, hostKey);
    feed(part, frames.slice(0, 5)); // up to the checkpoint at 4
    const at = part.verified;
    expect(at.index).toBe(4n);
    expect(toHex(fanout.chainAt(4n)!)).toBe(toHex(at.chain));
    const resumed = fanout.serve(hello(at.index, at.chain))!;
    expect(resumed.anchor).toBeNull();
    expect(feed(new RelayVerifier(sessionId, hostKey, at), resumed.frames)).toEqual(range(4, 8));
    const forged = at.chain.slice();
    forged[5] ^= 1;
    expect(fanout.serve(hello(4n, forged))).toBeNull();
    expect(fanout.serve(hello(9n, fanout.chainAt(8n)!))).toBeNull(); // past the relay's head

    // Events held up to the unsigned index 6, no chain position: anchored at 4, then 5.. (the
    // child verifies 5 and 6 without applying them).
    const anchored = fanout.serve(hello(6n, zero))!;
    expect(anchored.anchor).not.toBeNull();
    expect(decodeRelayFrame(anchored.anchor!).index).toBe(4n);
    expect(toHex(anchored.anchor!)).toBe(toHex(frames[4])); // the host's own checkpoint, rebuilt
    const fromAnchor = RelayVerifier.fromAnchor(sessionId, hostKey, anchored.anchor!);
    expect(feed(fromAnchor, anchored.frames)).toEqual(range(4, 8));
    // Held up to 3, the signed record: anchored at 3 (a signed record's signature makes the anchor).
    const at3 = fanout.serve(hello(3n, zero))!;
    expect(decodeRelayFrame(at3.anchor!).index).toBe(3n);
    expect(feed(RelayVerifier.fromAnchor(sessionId, hostKey, at3.anchor!), at3.frames)).toEqual(range(3, 8));
    // A child ahead of the relay is anchored at its newest signed record and waits.
    const ahead = fanout.serve(hello(40n, zero))!;
    expect(decodeRelayFrame(ahead.anchor!).index).toBe(8n);
    expect(ahead.frames).toEqual([]);
  });

  it('is bounded, and a relay that joined from an anchor serves from there', () => {
    const small = new RelayFanout(sessionId, hostKey, { maxFrames: 4, maxBytes: 1 << 20 });
    for (const f of frames) small.add(f);
    expect(small.serve(hello(0n, zero))).toBeNull(); // record 1 is gone
    expect(small.chainAt(5n)).not.toBeNull();
    expect(small.serve(hello(5n, small.chainAt(5n)!))!.frames.length).toBe(4);
    // Record 5 is gone: a child at 4 cannot be served, whatever hash it holds.
    expect(small.serve(hello(4n, small.chainAt(4n) ?? zero))).toBeNull();
    // Held up to 5 without a chain: no signed index the ring continues from (4 is out of reach).
    expect(small.serve(hello(5n, zero))).toBeNull();
    // Positions the ring no longer reaches: the child goes back to the host.
    expect(small.serve(hello(3n, zero))).toBeNull();

    // A relay whose own link started from its parent's anchor at 4 (it held 1..4 as plain events).
    const parent = new RelayVerifier(sessionId, hostKey);
    feed(parent, frames.slice(0, 5));
    const late = new RelayFanout(sessionId, hostKey);
    late.setBase({ index: 0n, chain: genesis }); // what it knew at its welcome: nothing
    expect(late.add(frames[4])).toBe('duplicate'); // the anchor: the chain's base, not forwarded
    for (const f of frames.slice(5)) expect(late.add(f)).toBe('forward');
    expect(late.serve(hello(0n, zero))).toBeNull();
    const fromFour = late.serve(hello(4n, parent.verified.chain))!;
    expect(fromFour.frames.length).toBe(5);
    const z = late.serve(hello(4n, zero))!;
    expect(toHex(z.anchor!)).toBe(toHex(frames[4]));

    const gap = new RelayFanout(sessionId, hostKey);
    gap.add(frames[0]);
    expect(codeOf(() => gap.add(frames[2]))).toBe('out_of_order');
  });
});

describe('RelayFanout over a long stream', () => {
  // A stream of `n` signed records (0x21) under relay.json's host key: every record carries the
  // host's signature over its checkpoint message, as the C++ writer with sign_interval_ms 0 does.
  function signedStream(n: number): Uint8Array[] {
    const seed = fromHex(V.host_key_seed_hex);
    let chain = relayChainGenesis(sessionId, hostKey);
    const out: Uint8Array[] = [];
    for (let i = 1n; i <= BigInt(n); i++) {
      const payload = Uint8Array.of(0x04, Number(i % 256n));
      chain = relayChainNext(chain, i, payload);
      const signature = ed25519.sign(relayCheckpointMessage(sessionId, i, chain), seed);
      const varint: number[] = [];
      for (let v = i; ; v >>= 7n) {
        if (v < 0x80n) {
          varint.push(Number(v));
          break;
        }
        varint.push(Number(v & 0x7fn) | 0x80);
      }
      out.push(concatAll([Uint8Array.of(0x21, ...varint), signature, payload]));
    }
    return out;
  }

  it('stays bounded (ring and chain) and serves exactly what the ring reaches', () => {
    const stream = signedStream(3000);
    const fanout = new RelayFanout(sessionId, hostKey, { maxFrames: 100, maxBytes: 1 << 20 });
    for (const f of stream) expect(fanout.add(f)).toBe('forward');
    expect(fanout.head).toBe(3000n);
    expect(fanout.chainAt(2899n)).toBeNull();
    const at = fanout.chainAt(2900n)!;
    const s = fanout.serve(hello(2900n, at))!;
    expect(s.frames.length).toBe(100);
    expect(feed(new RelayVerifier(sessionId, hostKey, { index: 2900n, chain: at }), s.frames)).toEqual(range(2900, 3000));
    const anchored = fanout.serve(hello(2950n, zero))!;
    expect(decodeRelayFrame(anchored.anchor!).index).toBe(2950n);
    expect(feed(RelayVerifier.fromAnchor(sessionId, hostKey, anchored.anchor!), anchored.frames)).toEqual(range(2950, 3000));
    expect(fanout.serve(hello(2899n, zero))).toBeNull(); // record 2900 is gone
    expect(fanout.serve(hello(0n, zero))).toBeNull();
  });
});
