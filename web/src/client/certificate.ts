// The DTLS certificate a joiner presents to the host, kept per stored session (room) so that
// reconnects and reloads show the host the same fingerprint: that is what lets a host refuse a
// client it removed (docs/SECURITY.md, "Removed peers"). Only that session's host sees it (the
// fingerprint travels in the sealed, signed offer), so it links visits to one session only.
import type { SessionStore } from './store';

const KEY_PARAMS = { name: 'ECDSA', namedCurve: 'P-256' } as const;
// A stored certificate this close to its expiry is replaced (browsers give 30 days by default).
const RENEW_BEFORE_MS = 24 * 3600 * 1000;

function fresh(): Promise<RTCCertificate> {
  return RTCPeerConnection.generateCertificate(KEY_PARAMS as unknown as AlgorithmIdentifier);
}

/** The room's certificate: the stored one, else a new one stored for next time. Where the store
 *  is missing or fails (a private window), a new certificate for this page load only; null where
 *  the browser cannot make one (the peer connection then makes its own). */
export async function sessionCertificate(store: Promise<SessionStore | null>, room: string, nowMs: number): Promise<RTCCertificate | null> {
  let db: SessionStore | null = null;
  try {
    db = await store;
    const stored = db ? await db.certificate(room) : null;
    if (stored && stored.expires - nowMs > RENEW_BEFORE_MS) return stored;
  } catch {
    db = null;
  }
  let cert: RTCCertificate;
  try {
    cert = await fresh();
  } catch {
    return null;
  }
  try {
    await db?.putCertificate(room, cert);
  } catch {
    /* not stored: this page load keeps it */
  }
  return cert;
}
