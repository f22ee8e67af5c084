// What a viewer's verifier of the relay stream (docs/PROTOCOL.md section 6) spends per record and
// per signature in JavaScript: SHA-256 of one chain step (a 120-byte payload), Ed25519 verify of
// one checkpoint message with @noble/curves (what web/src/protocol/relay.ts uses) and with
// WebCrypto's native Ed25519. Run from web/: node bench/relay-verify.mjs [--iterations N]
// Prints one JSON line. docs/SECURITY.md, "Relays", has the figures.
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';

const arg = process.argv.indexOf('--iterations');
const n = arg > 0 ? Number(process.argv[arg + 1]) : 500;
if (!Number.isInteger(n) || n < 1) {
  console.error('usage: node bench/relay-verify.mjs [--iterations N]');
  process.exit(2);
}
const seed = new Uint8Array(32).fill(7);
const pk = ed25519.getPublicKey(seed);
const message = new Uint8Array(30 + 16 + 8 + 32).fill(1); // label | 0 | session | index | chain
const sig = ed25519.sign(message, seed);
const step = new Uint8Array(32 + 8 + 120).fill(3); // h_(i-1) | index | payload

function time(f, count) {
  for (let i = 0; i < Math.min(50, count); i++) f();
  const t = performance.now();
  for (let i = 0; i < count; i++) f();
  return ((performance.now() - t) / count) * 1000;
}
const nobleUs = time(() => {
  if (!ed25519.verify(sig, message, pk, { zip215: false })) throw new Error('verify failed');
}, n);
const shaUs = time(() => sha256(step), n * 40);

const { subtle } = globalThis.crypto;
let webcryptoUs = null;
try {
  const key = await subtle.importKey('raw', pk, { name: 'Ed25519' }, false, ['verify']);
  for (let i = 0; i < 50; i++) await subtle.verify({ name: 'Ed25519' }, key, sig, message);
  const t = performance.now();
  for (let i = 0; i < n * 4; i++) {
    if (!(await subtle.verify({ name: 'Ed25519' }, key, sig, message))) throw new Error('verify failed');
  }
  webcryptoUs = ((performance.now() - t) / (n * 4)) * 1000;
} catch (e) {
  if (e.message === 'verify failed') throw e;
}
console.log(
  JSON.stringify({
    node: process.version,
    noble_verify_us: Math.round(nobleUs),
    webcrypto_verify_us: webcryptoUs === null ? null : Math.round(webcryptoUs),
    sha256_chain_step_us: Number(shaUs.toFixed(1)),
  }),
);
