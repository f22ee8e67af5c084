// IndexedDB: each session's events (as encoded one-event frames, so u64 values survive), a
// summary per room for the list of past sessions, and the room's DTLS certificate (see
// ./certificate.ts). Keyed by the room locator, never the secret.
import { encodeFrame, decodeFrame, type Event } from '../protocol/frames';

const DB_NAME = 'tokencast';
const DB_VERSION = 2; // 2: the certificates store

export interface SessionSummary {
  room: string; // room locator, base64url
  sessionId: string; // hex
  role: 'viewer' | 'participant' | null;
  title: string;
  model: string;
  preview: string;
  updatedAt: number;
  lastSeq: string; // decimal
  /** The host's latest signature over the transcript (protocol version 4), if any. */
  signature?: StoredSignature;
}

export interface StoredSignature {
  seq: string; // decimal
  turns: string; // decimal
  signature: string; // 128 hex digits
}

interface StoredEvent {
  room: string;
  frame: Uint8Array;
}

/** An IndexedDB request as a promise (the host's store uses these too). */
export function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** Resolves when the transaction has committed. */
export function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export class SessionStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(): Promise<SessionStore | null> {
    if (typeof indexedDB === 'undefined') return null;
    try {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains('sessions')) db.createObjectStore('sessions', { keyPath: 'room' });
        if (!db.objectStoreNames.contains('events')) {
          const events = db.createObjectStore('events', { autoIncrement: true });
          events.createIndex('room', 'room');
        }
        if (!db.objectStoreNames.contains('certificates')) db.createObjectStore('certificates');
      };
      return new SessionStore(await request(req));
    } catch {
      return null;
    }
  }

  async load(room: string): Promise<{ summary: SessionSummary; events: Event[] } | null> {
    const tx = this.db.transaction(['sessions', 'events'], 'readonly');
    const summary = (await request(tx.objectStore('sessions').get(room))) as SessionSummary | undefined;
    if (!summary) return null;
    const rows = (await request(tx.objectStore('events').index('room').getAll(room))) as StoredEvent[];
    const events: Event[] = [];
    for (const row of rows) {
      const f = decodeFrame(row.frame);
      if (f.type === 'events') events.push(...f.events);
    }
    return { summary, events };
  }

  async append(summary: SessionSummary, events: Event[]): Promise<void> {
    const tx = this.db.transaction(['sessions', 'events'], 'readwrite');
    const store = tx.objectStore('events');
    for (const e of events) store.add({ room: summary.room, frame: encodeFrame({ type: 'events', events: [e] }) } satisfies StoredEvent);
    tx.objectStore('sessions').put(summary);
    await done(tx);
  }

  async putSummary(summary: SessionSummary): Promise<void> {
    const tx = this.db.transaction('sessions', 'readwrite');
    tx.objectStore('sessions').put(summary);
    await done(tx);
  }

  /** Forgets the room: its summary, its events and its certificate. */
  async remove(room: string): Promise<void> {
    const tx = this.db.transaction(['sessions', 'events', 'certificates'], 'readwrite');
    tx.objectStore('sessions').delete(room);
    tx.objectStore('certificates').delete(room);
    const keys = await request(tx.objectStore('events').index('room').getAllKeys(room));
    for (const k of keys) tx.objectStore('events').delete(k);
    await done(tx);
  }

  /** The room's stored DTLS certificate (an RTCCertificate is structured-cloneable), if any. */
  async certificate(room: string): Promise<RTCCertificate | null> {
    const tx = this.db.transaction('certificates', 'readonly');
    return ((await request(tx.objectStore('certificates').get(room))) as RTCCertificate | undefined) ?? null;
  }

  async putCertificate(room: string, cert: RTCCertificate): Promise<void> {
    const tx = this.db.transaction('certificates', 'readwrite');
    tx.objectStore('certificates').put(cert, room);
    await done(tx);
  }

  async list(): Promise<SessionSummary[]> {
    const tx = this.db.transaction('sessions', 'readonly');
    const all = (await request(tx.objectStore('sessions').getAll())) as SessionSummary[];
    return all.sort((a, b) => b.updatedAt - a.updatedAt);
  }
}
