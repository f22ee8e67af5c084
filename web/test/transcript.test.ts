// Signed transcripts (docs/PROTOCOL.md section 5) against tests/vectors/transcript.json: the
// signed message, the signature and the file byte for byte as the C++ export writes them; the
// strict parser and verifier; tampered copies refused.
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { base64urlDecode } from '../src/protocol/base64url';
import { utf8 } from '../src/protocol/bytes';
import type { Event } from '../src/protocol/frames';
import {
  encodeSignedTranscript,
  jsonString,
  parseSignedTranscript,
  signTranscript,
  transcriptFromEvents,
  transcriptMessage,
  TranscriptError,
  type TranscriptErrorCode,
} from '../src/protocol/transcript';
import { loadVectors } from './vectors';

const V = loadVectors('transcript.json');
const seed = base64urlDecode(V.host_key_seed);
const signer = { publicKey: ed25519.getPublicKey(seed), sign: async (m: Uint8Array) => ed25519.sign(m, seed) };

function failsWith(file: string | Uint8Array, code: TranscriptErrorCode): void {
  const bytes = typeof file === 'string' ? utf8(file) : file;
  let caught: unknown = null;
  try {
    parseSignedTranscript(bytes);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(TranscriptError);
  expect((caught as TranscriptError).code).toBe(code);
}

describe('transcript.json', () => {
  it('parses and verifies the file, and reproduces the message, the signature and the file', async () => {
    const t = parseSignedTranscript(utf8(V.file));
    expect(t.hostPublicKey).toEqual(signer.publicKey);
    expect(t.turns.map((x) => x.status)).toEqual(['done', 'cancelled', 'streaming']);
    expect(transcriptMessage(t, t.hostPublicKey)).toEqual(base64urlDecode(V.message_b64));
    const { sessionId, title, model, turns } = t;
    const signed = await signTranscript({ sessionId, title, model, turns }, signer);
    expect(signed.signature).toEqual(base64urlDecode(V.signature_b64));
    expect(encodeSignedTranscript(signed)).toBe(V.file);
  });

  it('builds the same file from the session log (text as one stream per turn, invalid bytes as U+FFFD)', async () => {
    const t = parseSignedTranscript(utf8(V.file));
    let seq = 0n;
    const e = <T extends Omit<Event, 'seq'>>(x: T) => ({ seq: ++seq, ...x }) as unknown as Event;
    const events: Event[] = [
      e({ type: 'session_meta', title: 'demo', model: 'llama3' }),
      e({ type: 'turn_started', turn: 1n, role: 'user', author: 'ada', at_ms: 10n }),
      e({ type: 'text_delta', turn: 1n, bytes: utf8('hi') }),
      e({ type: 'turn_ended', turn: 1n, end: 'done', reason: '', token_count: 1n, at_ms: 11n }),
      e({ type: 'turn_started', turn: 2n, role: 'assistant', author: 'llama3', at_ms: 12n }),
      e({ type: 'text_delta', turn: 2n, bytes: Uint8Array.of(0x63, 0x61, 0x66, 0xc3) }), // "caf" + half of é
      e({ type: 'text_delta', turn: 2n, bytes: Uint8Array.of(0xa9, 0x20, 0xff) }),
      e({ type: 'turn_ended', turn: 2n, end: 'cancelled', reason: 'cancelled by ada', token_count: 2n, at_ms: 13n }),
      e({ type: 'turn_started', turn: 3n, role: 'assistant', author: 'llama3', at_ms: 14n }),
      e({ type: 'text_delta', turn: 3n, bytes: utf8('<script>') }),
    ];
    const content = transcriptFromEvents(t.sessionId, events);
    expect(content.turns).toEqual(t.turns);
    expect(encodeSignedTranscript(await signTranscript(content, signer))).toBe(V.file);
  });

  it('escapes strings as C++ json_escape does', () => {
    expect(jsonString('a"b\\c\nd\re\tf\u0001\b\f\u007f\u0080\u009f\u00a0\u2028\u2029/é😀')).toBe(
      '"a\\"b\\\\c\\nd\\re\\tf\\u0001\\u0008\\u000c\\u007f\\u0080\\u009f\u00a0\\u2028\\u2029/é😀"',
    );
  });

  it('verifies a reformatted file (the message is recomputed from the fields)', () => {
    const spaced = V.file.replaceAll(',"', ', "').replace('"title":"demo"', '"title":"\\u0064emo"');
    expect(parseSignedTranscript(utf8(spaced)).title).toBe('demo');
  });

  it('refuses tampered, malformed and hostile files', () => {
    const f: string = V.file;
    failsWith(f.replace('"text":"hi"', '"text":"ho"'), 'bad_signature');
    failsWith(f.replace('"author":"ada"', '"author":"bob"'), 'bad_signature');
    failsWith(f.replace('"status":"cancelled"', '"status":"done"'), 'bad_signature');
    failsWith(f.replace('"title":"demo"', '"title":"demo2"'), 'bad_signature');
    failsWith(f.replace(/"signature":"./, '"signature":"A'), 'bad_signature');
    // A turn dropped.
    failsWith(f.replace(/\n\{"turn":1,[^\n]*\},/, ''), 'bad_signature');
    // A key twice (the last would win in most readers), an unknown key, a missing key.
    failsWith(f.replace('"title":"demo"', '"title":"other","title":"demo"'), 'not_transcript');
    failsWith(f.replace('"title":"demo"', '"title":"demo","extra":1'), 'not_transcript');
    failsWith(f.replace('"model":"llama3",', ''), 'not_transcript');
    // Numbers: a fraction, an exponent, a minus on an unsigned field, beyond u64.
    failsWith(f.replace('"tokens":1,', '"tokens":1.0,'), 'not_transcript');
    failsWith(f.replace('"tokens":1,', '"tokens":1e0,'), 'not_transcript');
    failsWith(f.replace('"tokens":1,', '"tokens":-1,'), 'not_transcript');
    failsWith(f.replace('"turn":1,', '"turn":18446744073709551616,'), 'not_transcript');
    failsWith(f.replace('"role":"user"', '"role":"admin"'), 'not_transcript');
    failsWith(f.replace('"session_id":"00112233445566778899aabbccddeeff"', '"session_id":"00112233445566778899AABBCCDDEEFF"'), 'not_transcript');
    failsWith(f.replace('"format":"tokencast-signed-transcript/1"', '"format":"tokencast-signed-transcript/2"'), 'not_transcript');
    failsWith(f.replace('"text":"hi"', '"text":[[["deep"]]]'), 'not_transcript');
    // Not JSON: invalid UTF-8, a lone surrogate, a trailing comma, trailing garbage.
    const bytes = utf8(f);
    const bad = new Uint8Array(bytes);
    bad[bytes.indexOf(0x68 /* h of "hi" */, f.indexOf('"text":"hi"'))] = 0xff;
    failsWith(bad, 'not_json');
    failsWith(f.replace('"text":"hi"', '"text":"\\ud800"'), 'not_json');
    failsWith(f.replace('}],', '},],'), 'not_json');
    failsWith(f + 'x', 'not_json');
    failsWith(new Uint8Array(64 * 1024 * 1024 + 1), 'too_large');
  });
});
