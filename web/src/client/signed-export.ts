// A viewer's or participant's signed export (docs/PROTOCOL.md section 5): the host signs the
// transcript after each ended turn and sends the signature (protocol version 4, the signature
// frame); the page keeps the latest one with its stored copy and pairs it with its own events up
// to the signed sequence. The file is byte for byte what `tokencast export --signed` writes for
// that prefix, so `tokencast verify FILE LINK` checks it. No I/O here.
import type { Event } from '../protocol/frames';
import { fromHex, toHex } from '../protocol/bytes';
import { encodeSignedTranscript, transcriptFromEvents, verifyTranscript, type SignedTranscript } from '../protocol/transcript';
import type { HostSignature } from './session';
import type { StoredSignature } from './store';

export type SignedExport =
  | { ok: true; file: string; transcript: SignedTranscript }
  | { ok: false; reason: 'no_signature' | 'incomplete' | 'mismatch' };

/** What the page says when there is nothing to export yet (or the copy does not match). */
export const SIGNED_EXPORT_TEXT: Record<Exclude<SignedExport, { ok: true }>['reason'], string> = {
  no_signature: 'No signature from the host yet: it signs the transcript each time a turn ends.',
  incomplete: 'This copy does not yet hold everything the host signed: wait for it to catch up.',
  mismatch: "The host's signature does not match this copy: it cannot be exported as signed.",
};

export function storeSignature(s: HostSignature): StoredSignature {
  return { seq: s.seq.toString(), turns: s.turns.toString(), signature: toHex(s.signature) };
}

/** The stored form back; null when it is not one this page wrote (a damaged store). */
export function loadSignature(s: StoredSignature | undefined): HostSignature | null {
  if (!s) return null;
  try {
    if (!/^[0-9]{1,20}$/.test(s.seq) || !/^[0-9]{1,20}$/.test(s.turns) || !/^[0-9a-f]{128}$/.test(s.signature)) return null;
    return { seq: BigInt(s.seq), turns: BigInt(s.turns), signature: fromHex(s.signature) };
  } catch {
    return null;
  }
}

/**
 * The signed file from a copy of the session's events (in sequence order, as stored) and the
 * host's latest signature: the transcript of the events up to the signed sequence, checked
 * against the signature under the link's host key before it is offered.
 */
export function signedExport(
  sessionId: Uint8Array,
  hostPublicKey: Uint8Array,
  events: readonly Event[],
  signature: HostSignature | null,
): SignedExport {
  if (!signature) return { ok: false, reason: 'no_signature' };
  const prefix: Event[] = [];
  let held = 0n;
  for (const e of events) {
    if (e.seq > signature.seq) break;
    prefix.push(e);
    held = e.seq;
  }
  // The signed sequence is a turn_ended (span 1): the copy holds it exactly when it holds it.
  if (held !== signature.seq) return { ok: false, reason: 'incomplete' };
  const content = transcriptFromEvents(sessionId, prefix);
  if (BigInt(content.turns.length) !== signature.turns) return { ok: false, reason: 'mismatch' };
  const transcript: SignedTranscript = { ...content, hostPublicKey, signature: signature.signature };
  if (!verifyTranscript(transcript)) return { ok: false, reason: 'mismatch' };
  return { ok: true, file: encodeSignedTranscript(transcript), transcript };
}
