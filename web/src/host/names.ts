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

const MAX_SEQUENCE = 4096; // an escape string that never ends is abandoned past this

const isBidiControl = (cp: number) => cp === 0x061c || cp === 0x200e || cp === 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);

/** src/core/wire/text.cpp's neutralize_line, code point for code point: C0 controls but \n
 *  and \t, DEL, C1 controls and bidi controls become U+FFFD, escape sequences (CSI, OSC, DCS,
 *  ...) are dropped whole, then \n and \t become spaces. */
export function neutralizeLine(text: string): string {
  let out = '';
  let mode: 'text' | 'escape' | 'csi' | 'string' | 'string_escape' = 'text';
  let length = 0;
  const put = (cp: number) => {
    const control = (cp < 0x20 && cp !== 0x0a && cp !== 0x09) || (cp >= 0x7f && cp <= 0x9f);
    out += control || isBidiControl(cp) ? '\uFFFD' : String.fromCodePoint(cp);
  };
  const consume = (cp: number): void => {
    switch (mode) {
      case 'text':
        if (cp === 0x1b) {
          mode = 'escape';
          length = 1;
        } else put(cp);
        return;
      case 'escape':
        length++;
        if (cp === 0x5b) mode = 'csi';
        else if (cp === 0x5d || cp === 0x50 || cp === 0x58 || cp === 0x5e || cp === 0x5f) mode = 'string';
        else if (cp >= 0x20 && cp <= 0x2f) {
          /* intermediate bytes of an nF escape */
        } else if (cp >= 0x30 && cp <= 0x7e) mode = 'text';
        else {
          mode = 'text';
          consume(cp);
        }
        return;
      case 'csi':
        length++;
        if (cp >= 0x40 && cp <= 0x7e) mode = 'text';
        else if (cp < 0x20 || cp > 0x7e || length > MAX_SEQUENCE) {
          mode = 'text';
          consume(cp);
        }
        return;
      case 'string':
        length++;
        if (cp === 0x07 || cp === 0x9c) mode = 'text';
        else if (cp === 0x1b) mode = 'string_escape';
        else if (length > MAX_SEQUENCE) mode = 'text';
        return;
      case 'string_escape':
        mode = 'text';
        if (cp !== 0x5c) {
          mode = 'escape';
          length = 1;
          consume(cp);
        }
        return;
    }
  };
  for (const ch of text) consume(ch.codePointAt(0)!);
  return out.replace(/[\n\t]/g, ' ');
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
