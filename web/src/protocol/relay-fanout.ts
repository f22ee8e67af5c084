// A relay's serving side, sans I/O (docs/PROTOCOL.md section 6, "The child's link to its relay"):
// the frames it forwards (a bounded ring), the chain hash at every index the ring covers and the
// signatures among them, and the answer to a child's relay_hello. The browser relay
// (client/relay-parent.ts) runs one per relay link to the host. The same rules as the C++
// RelayForwarder and RelayFanout (src/core/relay/relay_stream.cpp, relay_fanout.cpp); tests in
// web/test/relay-fanout.test.ts against the cases of tests/core_relay_test.cpp.
import { CHAIN_HASH_BYTES, RELAY_LINK_VERSION, type RelayHello, type RelayWelcome } from './frames';
import { equalBytes } from './bytes';
import { decodeRelayFrame, encodeRelayCheckpoint, RelayError, relayChainGenesis, relayChainNext, type RelayPosition } from './relay';

export interface RelayRingOptions {
  maxFrames: number;
  maxBytes: number;
}

/** 16,384 frames / 8 MiB: a typical session from record 1 (one record per event). */
export const DEFAULT_RELAY_RING: RelayRingOptions = { maxFrames: 16384, maxBytes: 8 << 20 };

export type Added = 'forward' | 'duplicate';

/** An array queue whose front is dropped in O(1) (amortized): entries before `start` are dead
 *  and compacted away once they are the larger half. */
class Queue<T> {
  private items: T[] = [];
  private start = 0;
  get length(): number {
    return this.items.length - this.start;
  }
  at(i: number): T {
    return this.items[this.start + i];
  }
  push(v: T): void {
    this.items.push(v);
  }
  shift(): T {
    const v = this.items[this.start++];
    if (this.start > 1024 && this.start * 2 > this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
    return v;
  }
  clear(): void {
    this.items = [];
    this.start = 0;
  }
  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.start; i < this.items.length; i++) yield this.items[i];
  }
}

interface Kept {
  index: bigint;
  checkpoint: boolean;
  bytes: Uint8Array;
}

/** The ring of recent frames: order checked (a gap is out_of_order), resent frames skipped. */
export class RelayForwarder {
  private readonly options: RelayRingOptions;
  private readonly ring = new Queue<Kept>();
  private bytes = 0;
  private headIndex = 0n;
  private headSigned = false;

  constructor(options: Partial<RelayRingOptions> = {}) {
    this.options = { ...DEFAULT_RELAY_RING, ...options };
    this.options.maxFrames = Math.max(1, this.options.maxFrames);
  }

  /** A frame from the parent. Throws RelayError (the decoder's, out_of_order for a gap). */
  add(bytes: Uint8Array): Added {
    const f = decodeRelayFrame(bytes);
    const checkpoint = f.kind === 'checkpoint';
    if (checkpoint) {
      if (f.index < this.headIndex || (f.index === this.headIndex && this.headSigned)) return 'duplicate';
      if (f.index !== this.headIndex) throw new RelayError('out_of_order');
      this.headSigned = true;
    } else {
      if (f.index <= this.headIndex) return 'duplicate';
      // The first record may be anywhere (a relay that joined from an anchor).
      if (this.headIndex !== 0n && f.index !== this.headIndex + 1n) throw new RelayError('out_of_order');
      this.headIndex = f.index;
      this.headSigned = f.kind === 'signed_record';
    }
    this.ring.push({ index: f.index, checkpoint, bytes: bytes.slice() });
    this.bytes += bytes.length;
    while (this.ring.length > this.options.maxFrames || (this.bytes > this.options.maxBytes && this.ring.length > 1)) {
      this.bytes -= this.ring.shift()!.bytes.length;
    }
    return 'forward';
  }

  /** The frames a child holding records up to `after` needs, oldest first; null when the ring
   *  no longer reaches back to record after + 1. A child ahead gets nothing yet. */
  since(after: bigint): Uint8Array[] | null {
    if (after >= this.headIndex) return [];
    if (this.oldest() > after + 1n) return null;
    const out: Uint8Array[] = [];
    for (const k of this.ring) if (k.index > after) out.push(k.bytes);
    return out;
  }

  get head(): bigint {
    return this.headIndex;
  }
  get frames(): number {
    return this.ring.length;
  }
  /** The oldest record the ring holds (head + 1 when it holds none). */
  oldest(): bigint {
    for (const k of this.ring) if (!k.checkpoint) return k.index;
    return this.headIndex + 1n;
  }
}

interface Link {
  index: bigint;
  chain: Uint8Array;
  signature: Uint8Array | null;
}

export interface Serving {
  welcome: RelayWelcome;
  anchor: Uint8Array | null;
  frames: Uint8Array[];
}

function allZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

export class RelayFanout {
  private readonly genesis: Uint8Array;
  private readonly options: RelayRingOptions;
  private readonly forwarder: RelayForwarder;
  private readonly chain = new Queue<Link>(); // consecutive indexes; the front is the base

  constructor(
    readonly sessionId: Uint8Array,
    hostKey: Uint8Array,
    options: Partial<RelayRingOptions> = {},
  ) {
    this.options = { ...DEFAULT_RELAY_RING, ...options };
    this.forwarder = new RelayForwarder(this.options);
    this.genesis = relayChainGenesis(sessionId, hostKey);
    this.chain.push({ index: 0n, chain: this.genesis, signature: null });
  }

  get head(): bigint {
    return this.forwarder.head;
  }

  /** Where the relay's own chain stands before its parent's next record (its verifier's position
   *  when a link starts). Ignored when the chain already tracks that index. */
  setBase(position: RelayPosition): void {
    if (this.linkAt(position.index)) return;
    if (this.forwarder.head !== 0n && position.index !== this.forwarder.head) return;
    this.chain.clear();
    this.chain.push({ index: position.index, chain: position.chain.slice(), signature: null });
  }

  chainAt(index: bigint): Uint8Array | null {
    return this.linkAt(index)?.chain.slice() ?? null;
  }

  private linkAt(index: bigint): Link | null {
    if (!this.chain.length) return null;
    const first = this.chain.at(0).index;
    if (index < first || index > this.chain.at(this.chain.length - 1).index) return null;
    return this.chain.at(Number(index - first));
  }

  /** One relay frame from the parent, after the relay's own verifier took it: 'forward' (send it
   *  to every welcomed child) or 'duplicate'. Throws RelayError (out_of_order: start a new one). */
  add(bytes: Uint8Array): Added {
    const f = decodeRelayFrame(bytes);
    if (f.kind === 'checkpoint' && this.forwarder.head === 0n) {
      // The anchor a parent sends when this relay resumed from an index it holds without a ring:
      // the base of the chain, and a signed position late joiners can be anchored at.
      if (this.chain.length === 1 && this.chain.at(0).index <= f.index) {
        this.chain.clear();
        this.chain.push({ index: f.index, chain: f.chain, signature: f.signature });
      }
      return 'duplicate';
    }
    const added = this.forwarder.add(bytes);
    if (added === 'duplicate') return added;
    const last = this.chain.length ? this.chain.at(this.chain.length - 1) : null;
    if (f.kind === 'checkpoint') {
      if (last && last.index === f.index && equalBytes(last.chain, f.chain)) last.signature = f.signature;
      return added;
    }
    if (last && last.index + 1n === f.index) {
      this.chain.push({ index: f.index, chain: relayChainNext(last.chain, f.index, f.payload), signature: f.kind === 'signed_record' ? f.signature : null });
    } else {
      this.chain.clear(); // the chain before this record is unknown: only positions it reaches count
    }
    this.trim();
    return added;
  }

  private trim(): void {
    // Keep the hash of the record just before the ring's oldest one (a child resuming there).
    const oldest = this.forwarder.oldest();
    while (this.chain.length > 1 && (this.chain.at(0).index + 1n < oldest || this.chain.length > this.options.maxFrames + 1)) {
      this.chain.shift();
    }
  }

  /** The answer to a child's relay_hello (docs/PROTOCOL.md section 6); null: not servable (bye
   *  resume_unavailable, the child goes back through the host). */
  serve(hello: RelayHello): Serving | null {
    const last = hello.last_index;
    if (hello.chain_hash.length !== CHAIN_HASH_BYTES) return null;
    const zero = allZero(hello.chain_hash);
    const welcome: RelayWelcome = { version: RELAY_LINK_VERSION, session_id: this.sessionId, head_index: this.forwarder.head };
    let after = last;
    let anchor: Uint8Array | null = null;
    if (last === 0n) {
      if (!zero && !equalBytes(hello.chain_hash, this.genesis)) return null;
    } else if (!zero) {
      const link = this.linkAt(last);
      if (!link || !equalBytes(link.chain, hello.chain_hash)) return null;
    } else {
      // The newest signed position at or below L from which the ring continues.
      let found: Link | null = null;
      for (let i = this.chain.length - 1; i >= 0; i--) {
        const l = this.chain.at(i);
        if (l.index > last || !l.signature || l.index === 0n) continue;
        if (!this.forwarder.since(l.index)) break; // older ones are out of reach too
        found = l;
        break;
      }
      if (!found) return null;
      anchor = encodeRelayCheckpoint(found.index, found.chain, found.signature!);
      after = found.index;
    }
    const frames = this.forwarder.since(after);
    if (!frames) return null;
    return { welcome, anchor, frames };
  }
}
