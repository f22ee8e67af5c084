// DTLS fingerprint of an SDP (docs/PROTOCOL.md, section 1.4).
export type SdpFingerprintError = 'missing' | 'malformed' | 'unsupported_hash' | 'conflicting';

export class SdpFingerprintFailure extends Error {
  constructor(readonly code: SdpFingerprintError) {
    super(`sdp fingerprint: ${code}`);
  }
}

const PREFIX = 'a=fingerprint:';

function hexValue(c: string): number {
  if (c >= '0' && c <= '9') return c.charCodeAt(0) - 48;
  if (c >= 'a' && c <= 'f') return c.charCodeAt(0) - 87;
  if (c >= 'A' && c <= 'F') return c.charCodeAt(0) - 55;
  return -1;
}

function parseValue(value: string): Uint8Array {
  const space = value.indexOf(' ');
  if (space < 0) throw new SdpFingerprintFailure('malformed');
  const hash = value.slice(0, space);
  const hex = value.slice(space + 1);
  if (hash.toLowerCase() !== 'sha-256' || hash.length !== 7) {
    if (!/^[A-Za-z0-9-]*$/.test(hash) || hash.length === 0) throw new SdpFingerprintFailure('malformed');
    throw new SdpFingerprintFailure('unsupported_hash');
  }
  if (hex.length !== 95) throw new SdpFingerprintFailure('malformed');
  const fp = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    const hi = hexValue(hex[3 * i]);
    const lo = hexValue(hex[3 * i + 1]);
    if (hi < 0 || lo < 0) throw new SdpFingerprintFailure('malformed');
    if (i + 1 < 32 && hex[3 * i + 2] !== ':') throw new SdpFingerprintFailure('malformed');
    fp[i] = hi * 16 + lo;
  }
  return fp;
}

export function extractSdpFingerprint(sdp: string): Uint8Array {
  let found: Uint8Array | null = null;
  let pos = 0;
  while (pos < sdp.length) {
    let end = sdp.indexOf('\n', pos);
    if (end < 0) end = sdp.length;
    let line = sdp.slice(pos, end);
    pos = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (!line.startsWith(PREFIX)) continue;
    const fp = parseValue(line.slice(PREFIX.length));
    if (found && !found.every((b, i) => b === fp[i])) throw new SdpFingerprintFailure('conflicting');
    found = fp;
  }
  if (!found) throw new SdpFingerprintFailure('missing');
  return found;
}
