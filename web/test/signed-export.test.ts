// A viewer's signed export (protocol version 4): the host's signature frame kept by the client
// session, paired with the client's own events up to the signed sequence, gives the file
// `tokencast export --signed` writes for that prefix. The host key is the fixed one of
// tests/vectors/transcript.json; the frames go through the real client session and decoder.
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { base64urlDecode } from '../src/protocol/base64url';
import { utf8 } from '../src/protocol/bytes';
import { encodeFrame, type Event } from '../src/protocol/frames';
import { ClientSession, type SessionEvent } from '../src/client/session';
import { loadSignature, signedExport, storeSignature } from '../src/client/signed-export';
import { parseSignedTranscript, signTranscript, transcriptFromEvents, TranscriptError } from '../src/protocol/transcript';
import { loadVectors } from './vectors';

const V = loadVectors('transcript.json');
const seed = base64urlDecode(V.host_key_seed);
const hostKey = ed25519.getPublicKey(seed);
const signer = { publicKey: hostKey, sign: async (m: Uint8Array) => ed25519.sign(m, seed) };
const sessionId = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);

/** A session's log: meta, a question, a cancelled answer split inside a character, a peer, and a
 *  third turn still streaming (after the signed point). */
function log(): { events: Event[]; signedSeq: bigint } {
  let seq = 0n;
  const e = <T extends Omit<Event, 'seq'>>(x: T) => ({ seq: ++seq, ...x }) as unknown as Event;
  const events: Event[] = [
    e({ type: 'session_meta', title: 'demo', model: 'llama3' }),
    e({ type: 'turn_started', turn: 1n, role: 'user', author: 'ada', at_ms: 10n }),
    e({ type: 'text_delta', turn: 1n, span: 1n, bytes: utf8('hi') }),
    e({ type: 'turn_ended', turn: 1n, end: 'done', reason: '', token_count: 0n, at_ms: 11n }),
    e({ type: 'turn_started', turn: 2n, role: 'assistant', author: 'llama3', at_ms: 12n }),
    e({ type: 'thinking_delta', turn: 2n, span: 1n, bytes: utf8('hmm') }), // never signed
    e({ type: 'text_delta', turn: 2n, span: 1n, bytes: Uint8Array.of(0x63, 0x61, 0x66, 0xc3) }),
    e({ type: 'text_delta', turn: 2n, span: 1n, bytes: Uint8Array.of(0xa9, 0x20, 0xff) }),
    e({ type: 'turn_ended', turn: 2n, end: 'cancelled', reason: 'cancelled by ada', token_count: 2n, at_ms: 13n }),
  ];
  const signedSeq = seq;
  events.push(
    e({ type: 'peer_joined', peer: 4n, role: 'viewer', name: 'bob' }),
    e({ type: 'turn_started', turn: 3n, role: 'assistant', author: 'llama3', at_ms: 14n }),
    e({ type: 'text_delta', turn: 3n, span: 1n, bytes: utf8('<script>') }),
  );
  return { events, signedSeq };
}

/** What the host sends: its signature over the transcript up to `seq`. */
async function hostSignature(events: Event[], seq: bigint) {
  const content = transcriptFromEvents(sessionId, events.filter((x) => x.seq <= seq));
  const signed = await signTranscript(content, signer);
  return { type: 'signature' as const, seq, turns: BigInt(content.turns.length), signature: signed.signature };
}

describe('signed export from a viewer copy', () => {
  it('keeps the signature sent before the catch-up and writes a file that verifies under the link key', async () => {
    const { events, signedSeq } = log();
    const sig = await hostSignature(events, signedSeq);
    const viewer = new ClientSession('bob');
    const got: SessionEvent[] = [];
    got.push(...viewer.receive(encodeFrame({ type: 'welcome', version: 4, session_id: sessionId, role: 'viewer', peer: 4n, head_seq: 12n })));
    got.push(...viewer.receive(encodeFrame(sig))); // catch-up: the latest signature right after the welcome
    expect(viewer.position.last_seq).toBe(0n); // not a log event
    expect(signedExport(sessionId, hostKey, [], viewer.signature)).toEqual({ ok: false, reason: 'incomplete' });
    got.push(...viewer.receive(encodeFrame({ type: 'events', events })));
    expect(got.map((x) => x.type)).toEqual(['welcomed', 'signed', 'applied']);

    const out = signedExport(sessionId, hostKey, events, viewer.signature);
    if (!out.ok) throw new Error(out.reason);
    // What `tokencast verify` does: strict parse, signature under the file's key, key = link's.
    const parsed = parseSignedTranscript(utf8(out.file));
    expect(parsed.hostPublicKey).toEqual(hostKey);
    expect(parsed.turns.map((t) => [t.turn, t.status, t.text])).toEqual([
      [1n, 'done', 'hi'],
      [2n, 'cancelled', 'café \ufffd'],
    ]);
    expect(parsed.title).toBe('demo');

    // Tampered: one byte of an answer changed is refused.
    let caught: unknown = null;
    try {
      parseSignedTranscript(utf8(out.file.replace('"text":"hi"', '"text":"ho"')));
    } catch (e) {
      caught = e;
    }
    expect((caught as TranscriptError).code).toBe('bad_signature');
  });

  it('refuses what it cannot vouch for: no signature, another host key, a copy that differs', async () => {
    const { events, signedSeq } = log();
    const sig = await hostSignature(events, signedSeq);
    const held = { seq: sig.seq, turns: sig.turns, signature: sig.signature };
    expect(signedExport(sessionId, hostKey, events, null)).toEqual({ ok: false, reason: 'no_signature' });
    const otherKey = ed25519.getPublicKey(new Uint8Array(32).fill(9));
    expect(signedExport(sessionId, otherKey, events, held)).toEqual({ ok: false, reason: 'mismatch' });
    const altered = events.map((e) => (e.type === 'text_delta' && e.turn === 1n ? { ...e, bytes: utf8('ho') } : e));
    expect(signedExport(sessionId, hostKey, altered, held)).toEqual({ ok: false, reason: 'mismatch' });
    expect(signedExport(sessionId, hostKey, events, { ...held, turns: 3n })).toEqual({ ok: false, reason: 'mismatch' });
    expect(signedExport(new Uint8Array(16), hostKey, events, held)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('keeps the latest signature, and stores it in a form it reads back', async () => {
    const { events, signedSeq } = log();
    const first = await hostSignature(events, 4n);
    const second = await hostSignature(events, signedSeq);
    const viewer = new ClientSession('bob');
    viewer.receive(encodeFrame({ type: 'welcome', version: 4, session_id: sessionId, role: 'viewer', peer: 4n, head_seq: 0n }));
    viewer.receive(encodeFrame(second));
    expect(viewer.receive(encodeFrame(first))).toEqual([]); // older: ignored
    expect(viewer.signature?.seq).toBe(signedSeq);
    const stored = storeSignature(viewer.signature!);
    expect(loadSignature(stored)).toEqual(viewer.signature);
    expect(loadSignature({ ...stored, signature: stored.signature.slice(2) })).toBeNull();
    expect(loadSignature({ ...stored, seq: '-1' })).toBeNull();
    expect(loadSignature(undefined)).toBeNull();
    // The earlier signature still verifies over the shorter prefix it covers.
    const out = signedExport(sessionId, hostKey, events, { seq: first.seq, turns: first.turns, signature: first.signature });
    expect(out.ok && parseSignedTranscript(utf8(out.file)).turns.length).toBe(1);
    viewer.reset();
    expect(viewer.signature).toBeNull();
  });
});
