// Display names the host grants (mirrors src/core/session/display_names.cpp and
// HostSession::clean_name): one line, no controls, never host-like, unique among present peers.

const LETTER_FOR: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't' };
const RESERVED = ['host', 'tokencast', 'system', 'admin', 'moderator'];

/** Lower-cased ASCII, fullwidth forms folded to ASCII, outer spaces trimmed. */
export function foldName(name: string): string {
  const out = [...name]
    .map((ch) => {
      const cp = ch.codePointAt(0)!;
      const c = cp >= 0xff01 && cp <= 0xff5e ? String.fromCharCode(cp - 0xff00 + 0x20) : ch;
      return c >= 'A' && c <= 'Z' ? c.toLowerCase() : c;
    })
    .join('');
  return out.replace(/^ +| +$/g, '');
}

function reservedKey(name: string): string {
  let key = foldName(name).replace(/[^a-z0-9]/g, '');
  key = key.replace(/[0-9]+$/, '');
  return [...key].map((c) => (c === 'l' ? 'i' : (LETTER_FOR[c] ?? c))).join('');
}

export function reservedName(name: string, hostName: string): boolean {
  const key = reservedKey(name);
  if (!key) return false;
  return RESERVED.some((w) => key === reservedKey(w)) || (hostName !== '' && key === reservedKey(hostName));
}

/** One line: controls and bidi controls become U+FFFD, line breaks and tabs spaces. */
export function neutralizeLine(text: string): string {
  return text
    .replace(/[\t\n\r]/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g, '\uFFFD');
}

/** The longest prefix of `text` of at most `max` UTF-8 bytes, whole characters only. */
export function utf8Prefix(text: string, max: number): string {
  let bytes = 0;
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + n > max) break;
    bytes += n;
    out += ch;
  }
  return out;
}
