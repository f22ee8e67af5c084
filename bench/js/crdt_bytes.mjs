#!/usr/bin/env node
// Bytes a peer receives per streamed token when the answer is a CRDT text instead of tokencast's
// log: Yjs incremental updates (what y-webrtc broadcasts), the whole Yjs state per token,
// Automerge changes (what a change broadcast carries) and Automerge's sync protocol between two
// documents. Each receiving side is rebuilt from what was counted and compared with the text, so
// a figure cannot be wrong silently.
import { readFileSync } from 'node:fs';
import * as Y from 'yjs';
import * as A from '@automerge/automerge';
import { fail, installedVersion, parseCommandLine, positiveInt, usageError } from './lib/cli.mjs';

const USAGE = `usage: node bench/js/crdt_bytes.mjs --tokens FILE [--count N]

Streams the first N tokens of FILE (a JSON array of strings, as written by tokenize.mjs) into
Yjs and Automerge documents, one token per change, and prints one JSON line with the total bytes a
receiving peer gets for the N tokens:
  yjs_incremental    every update emitted by doc.on('update') (y-webrtc's broadcast)
  yjs_whole_state    Y.encodeStateAsUpdate(doc) after every token (whole document per token)
  automerge_change   A.getLastLocalChange(doc) after every token (a change broadcast)
  automerge_sync     every sync message, both directions, between the writer and one reader
                     (generateSyncMessage/receiveSyncMessage until both are idle, per token)
Divide by "tokens" for bytes per token, by "text_bytes" for the ratio to the text.

options:
  --tokens FILE   the token file (bench/data/answer.tokens.json)
  --count N       how many tokens to stream (default: all of them)
  --help          show this help and exit

exit codes: 0 done, 1 a receiver did not rebuild the exact text (or bad input), 2 bad usage
`;

const args = parseCommandLine(USAGE, { tokens: { type: 'string' }, count: { type: 'string' } });
if (!args.tokens) usageError(USAGE, '--tokens is required');

let all;
try {
  all = JSON.parse(readFileSync(args.tokens, 'utf8'));
} catch (e) {
  fail(`cannot read ${args.tokens}: ${e.message}`);
}
if (!Array.isArray(all) || all.length === 0 || !all.every((t) => typeof t === 'string')) {
  fail(`${args.tokens} is not a non-empty JSON array of strings`);
}
const count = args.count === undefined ? all.length : positiveInt(USAGE, 'count', args.count);
if (count > all.length) usageError(USAGE, `--count ${count}: ${args.tokens} holds only ${all.length} tokens`);
const tokens = all.slice(0, count);
const text = tokens.join('');
const textBytes = Buffer.byteLength(text, 'utf8');

function mismatch(what, got) {
  let i = 0;
  while (i < got.length && got[i] === text[i]) i++;
  fail(`${what}: the receiver's text differs from the streamed text at UTF-16 offset ${i} (${got.length} vs ${text.length} code units)`);
}

// A Yjs client id is a random uint32; nearly all (15 in 16) need a 5-byte varint. A fixed one
// of that size keeps the figures reproducible.
const YJS_CLIENT_ID = 0xc0ffee42;

function yjsIncremental() {
  const doc = new Y.Doc();
  doc.clientID = YJS_CLIENT_ID;
  const ytext = doc.getText('answer');
  const reader = new Y.Doc();
  let bytes = 0;
  let updates = 0;
  doc.on('update', (update) => {
    bytes += update.byteLength;
    updates++;
    Y.applyUpdate(reader, update, 'remote');
  });
  let length = 0;
  for (const t of tokens) {
    doc.transact(() => ytext.insert(length, t));
    length += t.length;
  }
  if (updates !== count) fail(`yjs: ${updates} updates for ${count} tokens`);
  const got = reader.getText('answer').toString();
  if (got !== text) mismatch('yjs_incremental', got);
  return { bytes };
}

function yjsWholeState() {
  const doc = new Y.Doc();
  doc.clientID = YJS_CLIENT_ID;
  const ytext = doc.getText('answer');
  let bytes = 0;
  let length = 0;
  let prefix = '';
  // Every state is checked against the text so far on a sample of tokens (every one would be
  // O(n^2) decoding work for nothing more): the first 64, then every 97th, and the last.
  for (let i = 0; i < count; i++) {
    const t = tokens[i];
    doc.transact(() => ytext.insert(length, t));
    length += t.length;
    prefix += t;
    const state = Y.encodeStateAsUpdate(doc);
    bytes += state.byteLength;
    if (i < 64 || i % 97 === 0 || i === count - 1) {
      const reader = new Y.Doc();
      Y.applyUpdate(reader, state);
      const got = reader.getText('answer').toString();
      if (got !== prefix) fail(`yjs_whole_state: the state after token ${i + 1} does not rebuild the text so far`);
      reader.destroy();
    }
  }
  if (prefix !== text) mismatch('yjs_whole_state', prefix);
  return bytes;
}

// Automerge actors are random 16-byte ids; fixed ones keep runs identical.
const WRITER = 'aa'.repeat(16);
const READER = 'bb'.repeat(16);

/** The writer's document with an empty text field, and a reader holding that first change. */
function automergeStart() {
  let writer = A.init({ actor: WRITER });
  writer = A.change(writer, (d) => {
    d.answer = '';
  });
  const reader = A.load(A.save(writer), { actor: READER });
  return { writer, reader };
}

function automergeChanges() {
  let { writer, reader } = automergeStart();
  let bytes = 0;
  let length = 0;
  for (const t of tokens) {
    writer = A.change(writer, (d) => A.splice(d, ['answer'], length, 0, t));
    length += t.length;
    const change = A.getLastLocalChange(writer);
    if (!change) fail('automerge: no change recorded for a token');
    bytes += change.byteLength;
    [reader] = A.applyChanges(reader, [change]);
  }
  if (reader.answer !== text) mismatch('automerge_change', String(reader.answer));
  return bytes;
}

function automergeSync() {
  let { writer, reader } = automergeStart();
  let ws = A.initSyncState();
  let rs = A.initSyncState();
  const stats = { toReader: 0, toWriter: 0, messages: 0 };
  // Exchanges messages until neither side has anything to say; counts what each side sends.
  const settle = (counted) => {
    for (let rounds = 0; ; rounds++) {
      if (rounds > 100) fail('automerge sync did not settle in 100 rounds');
      let msg;
      let quiet = true;
      [ws, msg] = A.generateSyncMessage(writer, ws);
      if (msg) {
        quiet = false;
        if (counted) (stats.toReader += msg.byteLength), stats.messages++;
        [reader, rs] = A.receiveSyncMessage(reader, rs, msg);
      }
      [rs, msg] = A.generateSyncMessage(reader, rs);
      if (msg) {
        quiet = false;
        if (counted) (stats.toWriter += msg.byteLength), stats.messages++;
        [writer, ws] = A.receiveSyncMessage(writer, ws, msg);
      }
      if (quiet) return;
    }
  };
  settle(false); // the peers meet and agree on the initial document: not part of streaming
  let length = 0;
  for (const t of tokens) {
    writer = A.change(writer, (d) => A.splice(d, ['answer'], length, 0, t));
    length += t.length;
    settle(true);
  }
  if (reader.answer !== text) mismatch('automerge_sync', String(reader.answer));
  return stats;
}

const started = performance.now();
const log = (s) => process.stderr.write(`crdt_bytes: ${s}\n`);
const inc = yjsIncremental();
log(`yjs incremental: ${inc.bytes} B, ${(inc.bytes / count).toFixed(2)} B/token`);
const whole = yjsWholeState();
log(`yjs whole state: ${whole} B, ${(whole / count).toFixed(1)} B/token`);
const change = automergeChanges();
log(`automerge change: ${change} B, ${(change / count).toFixed(2)} B/token`);
const sync = automergeSync();
log(
  `automerge sync: ${sync.toReader + sync.toWriter} B (${sync.toReader} to the reader, ${sync.toWriter} back) ` +
    `in ${sync.messages} messages, ${((sync.toReader + sync.toWriter) / count).toFixed(2)} B/token`,
);
log(`${count} tokens, ${textBytes} text bytes, ${((performance.now() - started) / 1000).toFixed(1)} s`);

process.stdout.write(
  JSON.stringify({
    tokens: count,
    text_bytes: textBytes,
    yjs_incremental: inc.bytes,
    yjs_whole_state: whole,
    automerge_change: change,
    automerge_sync: sync.toReader + sync.toWriter,
    automerge_sync_to_reader: sync.toReader,
    automerge_sync_messages: sync.messages,
    versions: { yjs: await installedVersion('yjs'), '@automerge/automerge': await installedVersion('@automerge/automerge') },
  }) + '\n',
);
