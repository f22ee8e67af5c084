// The browser host's IndexedDB: the hosted session (its signing key, both room secrets, the
// session id, the model source) and its events, so that reloading the tab resumes the same
// session with the same links. The signing key is a non-extractable WebCrypto Ed25519 key where
// the browser has one (Chromium does): the page can sign with it, nothing can read it out. A
// browser without one gets a key from @noble/curves whose seed is stored instead (said so on
// the page). Its own database, apart from the joiner's (client/store.ts).
import { ed25519 } from '@noble/curves/ed25519.js';
import { decodeFrame, encodeFrame, type Event } from '../protocol/frames';
import type { HostSigner } from '../protocol/host-handshake';
import { done, request } from '../client/store';
import type { ModelSource } from './llm';

const DB_NAME = 'tokencast-host';
const DB_VERSION = 1;
const CURRENT = 'current';

export interface HostedSession {
  key: { kind: 'webcrypto'; privateKey: CryptoKey; publicKey: Uint8Array } | { kind: 'seed'; seed: Uint8Array; publicKey: Uint8Array };
  viewerSecret: Uint8Array;
  participantSecret: Uint8Array;
  sessionId: Uint8Array;
  baseUrl: string;
  title: string;
  model: ModelSource | null;
  createdAt: number;
  /** Participants' prompts wait for the host's approval (the page's toggle); absent: off. */
  approvePrompts?: boolean;
}

/** A new session key: WebCrypto Ed25519, non-extractable, where the browser has it. */
export async function newSessionKey(): Promise<HostedSession['key']> {
  try {
    const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    return { kind: 'webcrypto', privateKey: pair.privateKey, publicKey };
  } catch {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    return { kind: 'seed', seed, publicKey: ed25519.getPublicKey(seed) };
  }
}

export function signerFor(key: HostedSession['key']): HostSigner {
  if (key.kind === 'webcrypto') {
    return {
      publicKey: key.publicKey,
      sign: async (m) => new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key.privateKey, m as Uint8Array<ArrayBuffer>)),
    };
  }
  return { publicKey: key.publicKey, sign: async (m) => ed25519.sign(m, key.seed) };
}

export class HostStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(): Promise<HostStore> {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      req.result.createObjectStore('session');
      req.result.createObjectStore('events'); // key: the sequence (a number), value: a one-event frame
    };
    return new HostStore(await request(req));
  }

  /** The hosted session and its events, or null when none is being hosted. */
  async load(): Promise<{ session: HostedSession; events: Event[] } | null> {
    const tx = this.db.transaction(['session', 'events'], 'readonly');
    const session = (await request(tx.objectStore('session').get(CURRENT))) as HostedSession | undefined;
    if (!session) return null;
    const frames = (await request(tx.objectStore('events').getAll())) as Uint8Array[];
    const events = frames.map((f) => {
      const frame = decodeFrame(f);
      if (frame.type !== 'events') throw new Error('host store: not an events frame');
      return frame.events[0];
    });
    return { session, events };
  }

  /** Starts a new hosted session (the previous one's events are dropped). */
  async create(session: HostedSession): Promise<void> {
    const tx = this.db.transaction(['session', 'events'], 'readwrite');
    tx.objectStore('events').clear();
    tx.objectStore('session').put(session, CURRENT);
    await done(tx);
  }

  /** Saves a changed setting of the hosted session (its events stay). */
  async update(session: HostedSession): Promise<void> {
    const tx = this.db.transaction('session', 'readwrite');
    tx.objectStore('session').put(session, CURRENT);
    await done(tx);
  }

  async append(events: Event[]): Promise<void> {
    const tx = this.db.transaction('events', 'readwrite');
    const store = tx.objectStore('events');
    for (const e of events) store.put(encodeFrame({ type: 'events', events: [e] }), Number(e.seq));
    await done(tx);
  }

  /** The session ended: nothing is resumed on the next visit. */
  async clear(): Promise<void> {
    const tx = this.db.transaction(['session', 'events'], 'readwrite');
    tx.objectStore('events').clear();
    tx.objectStore('session').delete(CURRENT);
    await done(tx);
  }
}
