#!/usr/bin/env node
// Splits a text into the pieces an OpenAI-compatible server would stream for it: the o200k_base
// tokens in order, each one's text, with a token that does not end on a UTF-8 character boundary
// merged with the following token(s) until it does (what such servers put in one delta.content).
// Every piece is therefore valid UTF-8 and the pieces concatenate to the input byte for byte; both
// are checked before anything is written.
import { readFileSync, writeFileSync } from 'node:fs';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import ranks from 'gpt-tokenizer/bpeRanks/o200k_base';
import { fail, installedVersion, parseCommandLine, usageError } from './lib/cli.mjs';

const USAGE = `usage: node bench/js/tokenize.mjs --in FILE --out FILE

Tokenizes FILE (UTF-8 text) with o200k_base (gpt-tokenizer) and writes a JSON array of strings to
--out: the streamed pieces in order, one per token, a token that ends inside a UTF-8 character
merged with the next ones until the piece ends on a character boundary. The pieces concatenate to
the input exactly. Prints {"tokens":N,"text_bytes":B,...} on one line to stdout.

options:
  --in FILE    the text to tokenize (bench/data/answer.md)
  --out FILE   where to write the JSON array
  --help       show this help and exit

exit codes: 0 done, 1 the input is not valid UTF-8 or the check failed, 2 bad usage
`;

const args = parseCommandLine(USAGE, { in: { type: 'string' }, out: { type: 'string' } });
if (!args.in) usageError(USAGE, '--in is required');
if (!args.out) usageError(USAGE, '--out is required');

let bytes;
try {
  bytes = readFileSync(args.in);
} catch (e) {
  fail(`cannot read ${args.in}: ${e.message}`);
}
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
let text;
try {
  text = strict.decode(bytes);
} catch {
  fail(`${args.in} is not valid UTF-8`);
}

let ids;
try {
  ids = encode(text); // special tokens such as <|endoftext|> in the text are refused, not encoded
} catch (e) {
  fail(`cannot tokenize ${args.in}: ${e.message}`);
}

const utf8 = new TextEncoder();
/** A token's bytes: the rank table holds a string for tokens that are valid UTF-8, else the bytes. */
function tokenBytes(id) {
  const v = ranks[id];
  if (typeof v === 'string') return utf8.encode(v);
  if (Array.isArray(v)) return Uint8Array.from(v);
  fail(`token ${id} is not in the o200k_base table`);
}

/** True when `b` is complete, valid UTF-8 (no character cut at either end). */
function isWholeUtf8(b) {
  try {
    strict.decode(b);
    return true;
  } catch {
    return false;
  }
}

const pieces = [];
let pending = [];
let pendingLength = 0;
let merged = 0; // tokens that were merged into the following piece
for (const id of ids) {
  const b = tokenBytes(id);
  pending.push(b);
  pendingLength += b.length;
  const joined = pending.length === 1 ? b : Buffer.concat(pending, pendingLength);
  if (!isWholeUtf8(joined)) {
    merged++;
    continue;
  }
  pieces.push(strict.decode(joined));
  pending = [];
  pendingLength = 0;
}
if (pending.length) fail('the last token ends inside a UTF-8 character (cannot happen for valid input)');

// The check: the pieces concatenate to the input byte for byte.
const roundTrip = Buffer.from(pieces.join(''), 'utf8');
if (!roundTrip.equals(bytes)) fail('the pieces do not concatenate to the input');

// One piece per line: the file stays readable and diffs well.
try {
  writeFileSync(args.out, `[\n${pieces.map((p) => JSON.stringify(p)).join(',\n')}\n]\n`);
} catch (e) {
  fail(`cannot write ${args.out}: ${e.message}`);
}

process.stdout.write(
  JSON.stringify({
    tokens: pieces.length,
    text_bytes: bytes.length,
    model_tokens: ids.length,
    merged_tokens: merged,
    encoding: 'o200k_base',
    versions: { 'gpt-tokenizer': await installedVersion('gpt-tokenizer') },
  }) + '\n',
);
