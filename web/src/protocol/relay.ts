// The relay stream (docs/PROTOCOL.md section 6): the host's stream as records bound into a hash
// chain with Ed25519-signed checkpoints, so a viewer can take it from any relay without trusting
// it. A viewer's side only: the frame decoder and RelayVerifier. Mirrors
// src/core/relay/relay_stream.cpp; known answers: tests/vectors/relay.json. Used on a child's link
// to its relay (client/relay-child.ts) and on a relay's own link to the host (client/session.ts).
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatAll, equalBytes, u64be, utf8 } from './bytes';

export const RELAY_RECORD = 0x20;
export const RELAY_SIGNED_RECORD = 0x21;
export const RELAY_CHECKPOINT = 0x22;
export const MAX_RELAY_FRAME_BYTES = 16384;
const U64_MAX = (1n << 64n) - 1n;

const CHAIN_LABEL = utf8('tokencast/v1/relay-chain');
const CHECKPOINT_LABEL = utf8('tokencast/v1/relay-checkpoint');

export type RelayErrorCode =
  | 'truncated'
  | 'oversized'
  | 'unknown_frame_type'
  | 'bad_varint'
  | 'trailing_bytes'
  | 'bad_index'
  | 'out_of_order'
  | 'bad_signature'
  | 'chain_mismatch'
  | 'backlog_full'
  | 'no_anchor';

export class RelayError extends Error {
  constructor(readonly code: RelayErrorCode) {
    super(`relay: ${code}`);
  }
}

export type RelayFrame =
  | { kind: 'record'; index: bigint; payload: Uint8Array }
  | { kind: 'signed_record'; index: bigint; signature: Uint8Array; payload: Uint8Array }
  | { kind: 'checkpoint'; index: bigint; chain: Uint8Array; signature: Uint8Array };

/** Strict, stateless: the first defect in wire order, as the C++ decoder reports it. */
export function decodeRelayFrame(bytes: Uint8Array): RelayFrame {
  if (bytes.length > MAX_RELAY_FRAME_BYTES) throw new RelayError('oversized');
  if (bytes.length === 0) throw new RelayError('truncated');
  const type = bytes[0];
  if (type !== RELAY_RECORD && type !== RELAY_SIGNED_RECORD && type !== RELAY_CHECKPOINT) {
    throw new RelayError('unknown_frame_type');
  }
  // The index: a canonical LEB128 varint of at most 64 bits.
  let pos = 1;
  let index = 0n;
  for (let shift = 0n; ; shift += 7n) {
    if (pos >= bytes.length) throw new RelayError('truncated');
    const b = bytes[pos++];
    if (shift === 63n && b > 1) throw new RelayError('bad_varint');
    if (b === 0 && shift > 0n) throw new RelayError('bad_varint');
    index |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
  }
  if (index === 0n) throw new RelayError('bad_index');
  const take = (n: number): Uint8Array => {
    if (bytes.length - pos < n) throw new RelayError('truncated');
    const out = bytes.slice(pos, pos + n);
    pos += n;
    return out;
  };
  if (type === RELAY_CHECKPOINT) {
    const chain = take(32);
    const signature = take(64);
    if (pos !== bytes.length) throw new RelayError('trailing_bytes');
    return { kind: 'checkpoint', index, chain, signature };
  }
  if (type === RELAY_SIGNED_RECORD) {
    const signature = take(64);
    return { kind: 'signed_record', index, signature, payload: bytes.slice(pos) };
  }
  return { kind: 'record', index, payload: bytes.slice(pos) };
}

/** A checkpoint frame (0x22): `index`, the chain hash there and the host's signature over it
 *  (a relay's anchor for a late joiner is built from a signature it verified). */
export function encodeRelayCheckpoint(index: bigint, chain: Uint8Array, signature: Uint8Array): Uint8Array {
  if (index < 1n || index > U64_MAX || chain.length !== 32 || signature.length !== 64) throw new RelayError('bad_index');
  const varint: number[] = [];
  let v = index;
  while (v >= 0x80n) {
    varint.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  varint.push(Number(v));
  return concatAll([Uint8Array.of(RELAY_CHECKPOINT, ...varint), chain, signature]);
}

export function relayChainGenesis(sessionId: Uint8Array, hostPublicKey: Uint8Array): Uint8Array {
  return sha256(concatAll([CHAIN_LABEL, Uint8Array.of(0), sessionId, hostPublicKey]));
}

export function relayChainNext(previous: Uint8Array, index: bigint, payload: Uint8Array): Uint8Array {
  return sha256(concatAll([previous, u64be(index), payload]));
}

export function relayCheckpointMessage(sessionId: Uint8Array, index: bigint, chain: Uint8Array): Uint8Array {
  return concatAll([CHECKPOINT_LABEL, Uint8Array.of(0), sessionId, u64be(index), chain]);
}

export interface RelayPosition {
  index: bigint;
  chain: Uint8Array;
}

export interface VerifiedRecord {
  index: bigint;
  payload: Uint8Array;
}

export interface RelayVerifierOptions {
  maxUnverifiedRecords: number;
  maxUnverifiedBytes: number;
}
const DEFAULT_OPTIONS: RelayVerifierOptions = { maxUnverifiedRecords: 256, maxUnverifiedBytes: 1 << 20 };

/**
 * Takes relay frames from whichever parent forwards them and releases each record's payload once a
 * signature of the host covers it. The first error is final (the viewer drops that parent and
 * resumes elsewhere from `verified`).
 */
export class RelayVerifier {
  private received: RelayPosition;
  private verifiedPos: RelayPosition;
  private pending: VerifiedRecord[] = [];
  private pendingBytes = 0;
  private failure: RelayError | null = null;
  private readonly options: RelayVerifierOptions;

  /** From `start` (a position this viewer verified itself), or from the start of the stream. */
  constructor(
    private readonly sessionId: Uint8Array,
    private readonly hostPublicKey: Uint8Array,
    start?: RelayPosition,
    options: Partial<RelayVerifierOptions> = {},
  ) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
    const from = start ?? { index: 0n, chain: relayChainGenesis(sessionId, hostPublicKey) };
    this.verifiedPos = { index: from.index, chain: from.chain.slice() };
    this.received = { index: from.index, chain: from.chain.slice() };
  }

  /** A late joiner's start: a checkpoint frame its parent hands it, checked against the host key. */
  static fromAnchor(
    sessionId: Uint8Array,
    hostPublicKey: Uint8Array,
    checkpoint: Uint8Array,
    options: Partial<RelayVerifierOptions> = {},
  ): RelayVerifier {
    const f = decodeRelayFrame(checkpoint);
    if (f.kind !== 'checkpoint') throw new RelayError('no_anchor');
    if (!verify(hostPublicKey, relayCheckpointMessage(sessionId, f.index, f.chain), f.signature)) {
      throw new RelayError('bad_signature');
    }
    return new RelayVerifier(sessionId, hostPublicKey, { index: f.index, chain: f.chain }, options);
  }

  get verified(): RelayPosition {
    return { index: this.verifiedPos.index, chain: this.verifiedPos.chain.slice() };
  }
  get receivedIndex(): bigint {
    return this.received.index;
  }
  get unverifiedRecords(): number {
    return this.pending.length;
  }
  get failed(): RelayError | null {
    return this.failure;
  }

  /** One frame from the parent: the records it made verified, in order. Throws RelayError. */
  accept(bytes: Uint8Array): VerifiedRecord[] {
    if (this.failure) throw this.failure;
    let f: RelayFrame;
    try {
      f = decodeRelayFrame(bytes);
    } catch (e) {
      throw this.fail(e instanceof RelayError ? e.code : 'truncated');
    }
    if (f.kind === 'checkpoint') {
      if (f.index !== this.received.index) throw this.fail('out_of_order');
      if (!equalBytes(f.chain, this.received.chain)) throw this.fail('chain_mismatch');
      return this.settle(f.signature);
    }
    if (this.received.index === U64_MAX || f.index !== this.received.index + 1n) throw this.fail('out_of_order');
    if (
      f.kind === 'record' &&
      (this.pending.length + 1 > this.options.maxUnverifiedRecords ||
        this.pendingBytes + f.payload.length > this.options.maxUnverifiedBytes)
    ) {
      throw this.fail('backlog_full');
    }
    this.received = { index: f.index, chain: relayChainNext(this.received.chain, f.index, f.payload) };
    this.pending.push({ index: f.index, payload: f.payload });
    this.pendingBytes += f.payload.length;
    return f.kind === 'signed_record' ? this.settle(f.signature) : [];
  }

  private settle(signature: Uint8Array): VerifiedRecord[] {
    const message = relayCheckpointMessage(this.sessionId, this.received.index, this.received.chain);
    if (!verify(this.hostPublicKey, message, signature)) throw this.fail('bad_signature');
    this.verifiedPos = this.received;
    const released = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    return released;
  }

  private fail(code: RelayErrorCode): RelayError {
    this.failure = new RelayError(code);
    this.pending = [];
    this.pendingBytes = 0;
    return this.failure;
  }
}

function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
