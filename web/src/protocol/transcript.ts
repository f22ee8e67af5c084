// Signed transcripts (docs/PROTOCOL.md section 5, "Signed transcripts (exports)"): the turns of a
// session signed with the host's Ed25519 session key, in the file `tokencast export --signed`
// writes, byte for byte, and `tokencast verify` checks. Mirrors src/core/log/signed_transcript.cpp;
// known answers: tests/vectors/transcript.json.
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base64urlDecode, base64urlEncode } from './base64url';
import { concatAll, toHex, u64be, utf8 } from './bytes';
import { TURN_ENDS, TURN_ROLES, type Event, type TurnEnd, type TurnRole } from './frames';
import { nestingBeyond, parseStrictJson, type JsonValue } from './strict-json';

export const TRANSCRIPT_FORMAT = 'tokencast-signed-transcript/1';
const LABEL = utf8('tokencast/v1/transcript');
export const MAX_TRANSCRIPT_BYTES = 64 * 1024 * 1024;
export const MAX_TRANSCRIPT_TURNS = 1_000_000;
// An object of arrays of objects: deeper is not a transcript (checked before parsing).
const MAX_DEPTH = 3;

export type TurnStatus = TurnEnd | 'streaming';
const STATUSES: readonly TurnStatus[] = [...TURN_ENDS, 'streaming']; // the status byte is the index

export interface TranscriptTurn {
  turn: bigint; // u64
  role: TurnRole;
  author: string;
  status: TurnStatus;
  reason: string;
  tokens: bigint; // u64
  startedAtMs: bigint; // i64
  endedAtMs: bigint; // i64; 0 while streaming
  text: string;
}

export interface TranscriptContent {
  sessionId: Uint8Array; // 16 bytes
  title: string;
  model: string;
  turns: TranscriptTurn[];
}

export interface SignedTranscript extends TranscriptContent {
  hostPublicKey: Uint8Array; // 32 bytes
  signature: Uint8Array; // 64 bytes
}

export type TranscriptErrorCode = 'too_large' | 'not_json' | 'not_transcript' | 'bad_signature';

export class TranscriptError extends Error {
  constructor(readonly code: TranscriptErrorCode) {
    super(`signed transcript: ${code}`);
  }
}

/** The session's turns, title and model from its log events in order (as the C++ Transcript
 *  folds them): text decoded as one stream per turn, invalid bytes as U+FFFD. */
export function transcriptFromEvents(sessionId: Uint8Array, events: readonly Event[]): TranscriptContent {
  const out: TranscriptContent = { sessionId, title: '', model: '', turns: [] };
  const byId = new Map<bigint, { turn: TranscriptTurn; decoder: TextDecoder | null }>();
  for (const e of events) {
    if (e.type === 'turn_started') {
      const turn: TranscriptTurn = {
        turn: e.turn,
        role: e.role,
        author: e.author,
        status: 'streaming',
        reason: '',
        tokens: 0n,
        startedAtMs: BigInt.asIntN(64, e.at_ms),
        endedAtMs: 0n,
        text: '',
      };
      out.turns.push(turn);
      byId.set(e.turn, { turn, decoder: new TextDecoder('utf-8') });
    } else if (e.type === 'text_delta') {
      const t = byId.get(e.turn);
      if (t?.decoder) t.turn.text += t.decoder.decode(e.bytes, { stream: true });
    } else if (e.type === 'turn_ended') {
      const t = byId.get(e.turn);
      if (!t || !t.decoder) continue;
      t.turn.text += t.decoder.decode();
      t.decoder = null;
      t.turn.status = e.end;
      t.turn.reason = e.reason;
      t.turn.tokens = e.token_count;
      t.turn.endedAtMs = BigInt.asIntN(64, e.at_ms);
    } else if (e.type === 'session_meta') {
      out.title = e.title;
      out.model = e.model;
    }
  }
  // A turn still streaming: what has arrived, an incomplete last character as U+FFFD.
  for (const t of byId.values()) if (t.decoder) t.turn.text += t.decoder.decode();
  return out;
}

function u32be(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

/** The 56 bytes the signature covers: label | 0x00 | SHA-256(body) (docs/PROTOCOL.md). */
export function transcriptMessage(t: TranscriptContent, hostPublicKey: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [t.sessionId, hostPublicKey];
  const short = (s: string) => {
    const b = utf8(s);
    parts.push(u32be(b.length), b);
  };
  short(t.title);
  short(t.model);
  parts.push(u64be(BigInt(t.turns.length)));
  for (const turn of t.turns) {
    parts.push(
      u64be(turn.turn),
      Uint8Array.of(TURN_ROLES.indexOf(turn.role), STATUSES.indexOf(turn.status)),
      u64be(BigInt.asUintN(64, turn.startedAtMs)),
      u64be(BigInt.asUintN(64, turn.endedAtMs)),
      u64be(turn.tokens),
    );
    short(turn.author);
    short(turn.reason);
    const text = utf8(turn.text);
    parts.push(u64be(BigInt(text.length)), text);
  }
  return concatAll([LABEL, Uint8Array.of(0), sha256(concatAll(parts))]);
}

/** Signs with the host's session key (a signer: the browser host's key may be non-extractable). */
export async function signTranscript(
  t: TranscriptContent,
  signer: { publicKey: Uint8Array; sign(message: Uint8Array): Promise<Uint8Array> },
): Promise<SignedTranscript> {
  const signature = await signer.sign(transcriptMessage(t, signer.publicKey));
  return { ...t, hostPublicKey: signer.publicKey, signature };
}

/** True when the signature verifies under the transcript's own key (whether that key is the
 *  host meant is the caller's check: compare it with a link's host key). */
export function verifyTranscript(t: SignedTranscript): boolean {
  try {
    // RFC 8032 strict, as OpenSSL on the C++ side (ZIP-215 would accept encodings it refuses).
    return ed25519.verify(t.signature, transcriptMessage(t, t.hostPublicKey), t.hostPublicKey, { zip215: false });
  } catch {
    return false;
  }
}

function hex4(code: number): string {
  return '\\u' + code.toString(16).padStart(4, '0');
}

/** A JSON string literal as C++ json_escape writes it (src/core/wire/text.cpp): ", \ and
 *  \n \r \t escaped; other C0 controls, DEL, C1 controls, U+2028 and U+2029 as \u (lowercase
 *  hex); everything else as is. */
export function jsonString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) out += hex4(c);
    else if (c >= 0xd800 && c <= 0xdfff) out += '\uFFFD'; // a lone surrogate is not UTF-8
    else out += ch;
  }
  return out + '"';
}

/** The file, byte for byte as `tokencast export --signed` writes it (ends with a newline). */
export function encodeSignedTranscript(t: SignedTranscript): string {
  let out =
    `{"format":"${TRANSCRIPT_FORMAT}","session_id":"${toHex(t.sessionId)}","host_public_key":"${base64urlEncode(t.hostPublicKey)}",` +
    `"title":${jsonString(t.title)},"model":${jsonString(t.model)},"turns":[`;
  t.turns.forEach((turn, i) => {
    out += i === 0 ? '\n' : ',\n';
    out +=
      `{"turn":${turn.turn},"role":"${turn.role}","author":${jsonString(turn.author)},"status":"${turn.status}",` +
      `"reason":${jsonString(turn.reason)},"tokens":${turn.tokens},"started_at_ms":${turn.startedAtMs},` +
      `"ended_at_ms":${turn.endedAtMs},"text":${jsonString(turn.text)}}`;
  });
  return out + `],\n"signature":"${base64urlEncode(t.signature)}"}\n`;
}

// ---------------------------------------------------------------- parsing (strict) and verifying

function notTranscript(): never {
  throw new TranscriptError('not_transcript');
}

function exactKeys(v: JsonValue, keys: readonly string[]): Map<string, JsonValue> {
  if (v.kind !== 'object' || v.fields.size !== keys.length) notTranscript();
  const fields = (v as Extract<JsonValue, { kind: 'object' }>).fields;
  for (const k of keys) if (!fields.has(k)) notTranscript();
  return fields;
}

function str(v: JsonValue | undefined): string {
  return v?.kind === 'string' ? v.value : notTranscript();
}

function unsigned(v: JsonValue | undefined): bigint {
  return v?.kind === 'unsigned' ? v.value : notTranscript();
}

function signed(v: JsonValue | undefined): bigint {
  if (v?.kind === 'unsigned' && v.value < 1n << 63n) return v.value;
  if (v?.kind === 'integer') return v.value;
  return notTranscript();
}

function fixedBytes(v: JsonValue | undefined, n: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = base64urlDecode(str(v));
  } catch (e) {
    if (e instanceof TranscriptError) throw e;
    return notTranscript();
  }
  return bytes.length === n ? bytes : notTranscript();
}

const TURN_KEYS = ['turn', 'role', 'author', 'status', 'reason', 'tokens', 'started_at_ms', 'ended_at_ms', 'text'] as const;
const FILE_KEYS = ['format', 'session_id', 'host_public_key', 'title', 'model', 'turns', 'signature'] as const;

function parseTurn(v: JsonValue): TranscriptTurn {
  const f = exactKeys(v, TURN_KEYS);
  const role = str(f.get('role')) as TurnRole;
  const status = str(f.get('status')) as TurnStatus;
  if (!TURN_ROLES.includes(role) || !STATUSES.includes(status)) notTranscript();
  return {
    turn: unsigned(f.get('turn')),
    role,
    author: str(f.get('author')),
    status,
    reason: str(f.get('reason')),
    tokens: unsigned(f.get('tokens')),
    startedAtMs: signed(f.get('started_at_ms')),
    endedAtMs: signed(f.get('ended_at_ms')),
    text: str(f.get('text')),
  };
}

/** Parses a file strictly (every field present, none unknown or twice, types and ranges
 *  checked) and verifies its signature: an altered or unsigned file throws TranscriptError. */
export function parseSignedTranscript(file: Uint8Array): SignedTranscript {
  if (file.length > MAX_TRANSCRIPT_BYTES) throw new TranscriptError('too_large');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file);
  } catch {
    throw new TranscriptError('not_json');
  }
  if (nestingBeyond(text, MAX_DEPTH)) notTranscript();
  let doc;
  try {
    doc = parseStrictJson(text);
  } catch {
    throw new TranscriptError('not_json');
  }
  if (doc.duplicateKey) notTranscript();
  const f = exactKeys(doc.value, FILE_KEYS);
  const sessionHex = str(f.get('session_id'));
  const turns = f.get('turns');
  if (str(f.get('format')) !== TRANSCRIPT_FORMAT || !/^[0-9a-f]{32}$/.test(sessionHex) || turns?.kind !== 'array') notTranscript();
  const items = (turns as Extract<JsonValue, { kind: 'array' }>).items;
  if (items.length > MAX_TRANSCRIPT_TURNS) throw new TranscriptError('too_large');
  const t: SignedTranscript = {
    sessionId: Uint8Array.from(sessionHex.match(/../g)!.map((h) => parseInt(h, 16))),
    hostPublicKey: fixedBytes(f.get('host_public_key'), 32),
    title: str(f.get('title')),
    model: str(f.get('model')),
    turns: items.map(parseTurn),
    signature: fixedBytes(f.get('signature'), 64),
  };
  if (!verifyTranscript(t)) throw new TranscriptError('bad_signature');
  return t;
}
