// The relay stream (docs/PROTOCOL.md section 6) against tests/vectors/relay.json: the chain and
// checkpoint message as the C++ writer computes them, the stream released record by record,
// every tampering case failing at the same frame with the same error, strict decoding errors;
// resuming under a new parent and joining from an anchor.
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromHex, toHex } from '../src/protocol/bytes';
import { FrameDecoder } from '../src/protocol/frames';
import {
  decodeRelayFrame,
  RelayError,
  RelayVerifier,
  relayChainGenesis,
  relayChainNext,
  relayCheckpointMessage,
  type VerifiedRecord,
} from '../src/protocol/relay';
import { loadVectors } from './vectors';

const V = loadVectors('relay.json');
const sessionId = fromHex(V.session_id_hex);
const hostKey = fromHex(V.host_public_key_hex);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const streamFrames: Uint8Array[] = V.stream.frames.map((f: any) => fromHex(f.hex));

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof RelayError) return e.code;
    throw e;
  }
  return 'none';
}

describe('relay.json', () => {
  it('has the host key of its seed, and the same genesis, chain and checkpoint message', () => {
    expect(toHex(ed25519.getPublicKey(fromHex(V.host_key_seed_hex)))).toBe(V.host_public_key_hex);
    let chain = relayChainGenesis(sessionId, hostKey);
    expect(toHex(chain)).toBe(V.genesis_hex);
    const chains: string[] = [];
    let index = 0n;
    for (const f of V.stream.frames) {
      if (f.append_hex === undefined) continue;
      chain = relayChainNext(chain, ++index, fromHex(f.append_hex));
      chains.push(toHex(chain));
    }
    expect(chains).toEqual(V.stream.chain_hex);
    const cm = V.checkpoint_message;
    expect(toHex(relayCheckpointMessage(sessionId, BigInt(cm.index), fromHex(cm.chain_hex)))).toBe(cm.message_hex);
  });

  it('releases each record once a signature covers it, as the C++ verifier does', () => {
    const v = new RelayVerifier(sessionId, hostKey);
    for (const f of V.stream.frames) {
      const out = v.accept(fromHex(f.hex));
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      expect(out.map((r) => ({ index: Number(r.index), payload_hex: toHex(r.payload) }))).toEqual(f.released);
    }
    expect(v.unverifiedRecords).toBe(0);
  });

  for (const t of V.tampered) {
    it(`detects a tampering relay: ${t.name}`, () => {
      const v = new RelayVerifier(sessionId, hostKey);
      const released: string[] = [];
      let error = 'none';
      let at = -1;
      for (let i = 0; i < t.frames.length; i++) {
        const s = t.frames[i];
        const bytes = typeof s === 'number' ? streamFrames[s] : fromHex(s);
        error = codeOf(() => v.accept(bytes).forEach((r) => released.push(toHex(r.payload))));
        if (error !== 'none') {
          at = i;
          break;
        }
      }
      expect(error).toBe(t.error);
      expect(at).toBe(t.error_at);
      expect(released).toEqual(t.released_payloads_hex);
      expect(v.failed?.code).toBe(t.error);
      expect(codeOf(() => v.accept(streamFrames[0]))).toBe(t.error); // failed for good
    });
  }

  for (const t of V.invalid) {
    it(`refuses ${t.name}`, () => {
      expect(codeOf(() => decodeRelayFrame(fromHex(t.hex)))).toBe(t.error);
    });
  }

  it('releases the host\'s section 4 stream: a client decoder takes it from the start', () => {
    const v = new RelayVerifier(sessionId, hostKey);
    const decoder = new FrameDecoder();
    let text = '';
    for (const f of streamFrames) {
      for (const r of v.accept(f)) {
        const frame = decoder.decode(r.payload);
        if (frame.type === 'events') {
          for (const e of frame.events) if (e.type === 'text_delta') text += new TextDecoder().decode(e.bytes);
        }
      }
    }
    expect(text).toBe('Hello, world');
    expect(decoder.position).toEqual({ last_seq: 8n, open_turn: null });
  });

  it('refuses an oversized frame before reading it', () => {
    expect(codeOf(() => decodeRelayFrame(new Uint8Array(V.max_frame_bytes + 1).fill(0x20)))).toBe('oversized');
  });
});

describe('RelayVerifier', () => {
  it('resumes under a new parent from its verified position with no gap and no duplicate', () => {
    const first = new RelayVerifier(sessionId, hostKey);
    const got: VerifiedRecord[] = [];
    for (const f of streamFrames.slice(0, 4)) got.push(...first.accept(f)); // 4th record still waits
    expect(first.unverifiedRecords).toBe(1);
    const resume = first.verified;
    const again = new RelayVerifier(sessionId, hostKey, resume);
    for (const f of streamFrames) {
      if (decodeRelayFrame(f).index > resume.index) got.push(...again.accept(f));
    }
    const all = streamFrames.filter((f) => decodeRelayFrame(f).kind !== 'checkpoint').length;
    expect(got.map((r) => Number(r.index))).toEqual(Array.from({ length: all }, (_, i) => i + 1));
  });

  it('joins late from a checkpoint anchor, and refuses a forged one', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const cpAt = V.stream.frames.findIndex((f: any) => f.checkpoint);
    const anchor = streamFrames[cpAt];
    const v = RelayVerifier.fromAnchor(sessionId, hostKey, anchor);
    expect(v.verified.index).toBe(decodeRelayFrame(anchor).index);
    const released = streamFrames.slice(cpAt + 1).flatMap((f) => v.accept(f));
    expect(released.length).toBeGreaterThan(0);
    const forged = anchor.slice();
    forged[2] ^= 1;
    expect(codeOf(() => RelayVerifier.fromAnchor(sessionId, hostKey, forged))).toBe('bad_signature');
    expect(codeOf(() => RelayVerifier.fromAnchor(sessionId, hostKey, streamFrames[0]))).toBe('no_anchor');
  });

  it('bounds the records waiting for a signature', () => {
    const v = new RelayVerifier(sessionId, hostKey, undefined, { maxUnverifiedRecords: 1 });
    expect(codeOf(() => v.accept(Uint8Array.of(0x20, 0x01, 0x61)))).toBe('none');
    expect(codeOf(() => v.accept(Uint8Array.of(0x20, 0x02, 0x61)))).toBe('backlog_full');
  });
});
