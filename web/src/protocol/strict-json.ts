// A strict JSON reader for files whose every value matters (signed transcripts): integers kept
// exactly (bigint), keys given twice reported, invalid UTF-8 and lone surrogates refused. Its
// number and string rules follow nlohmann::json, which the C++ side reads the same files with:
// an integer beyond u64 (or below i64) is a float there, and "unsigned" means written without
// a minus sign.

export type JsonValue =
  | { kind: 'string'; value: string }
  | { kind: 'unsigned'; value: bigint } // a non-negative integer written without '-', <= 2^64-1
  | { kind: 'integer'; value: bigint } // a negative integer (or -0), >= -2^63
  | { kind: 'float' } // anything else numeric: a fraction, an exponent, out of range
  | { kind: 'bool' }
  | { kind: 'null' }
  | { kind: 'array'; items: JsonValue[] }
  | { kind: 'object'; fields: Map<string, JsonValue> };

export class JsonSyntaxError extends Error {}

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);

/** Nesting depth of arrays and objects (outside strings), stopping once beyond `limit`: checked
 *  before parsing so a deeply nested file costs no more than its length. */
export function nestingBeyond(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (++depth > limit) return true;
    } else if (c === ']' || c === '}') depth--;
  }
  return false;
}

/** Parses one JSON document. `duplicateKey` is set when an object repeats a key (the value
 *  kept is the last, as nlohmann's; callers refuse such documents). */
export function parseStrictJson(text: string): { value: JsonValue; duplicateKey: boolean } {
  let pos = 0;
  let duplicateKey = false;
  const fail = (): never => {
    throw new JsonSyntaxError(`invalid JSON at ${pos}`);
  };
  const ws = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      pos++;
    }
  };
  const hex4 = (): number => {
    const h = text.slice(pos, pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) fail();
    pos += 4;
    return parseInt(h, 16);
  };
  const string = (): string => {
    pos++; // the opening quote
    let out = '';
    for (;;) {
      if (pos >= text.length) fail();
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        pos++;
        return out;
      }
      if (c < 0x20) fail();
      if (c >= 0xd800 && c <= 0xdfff) fail(); // only from invalid input: the decoder was fatal
      if (c !== 0x5c) {
        out += text[pos++];
        continue;
      }
      const e = text[pos + 1];
      pos += 2;
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e in simple) {
        out += simple[e];
        continue;
      }
      if (e !== 'u') fail();
      const u = hex4();
      if (u >= 0xdc00 && u <= 0xdfff) fail(); // a low surrogate first
      if (u >= 0xd800 && u <= 0xdbff) {
        if (text[pos] !== '\\' || text[pos + 1] !== 'u') fail();
        pos += 2;
        const low = hex4();
        if (low < 0xdc00 || low > 0xdfff) fail();
        out += String.fromCharCode(u, low);
      } else {
        out += String.fromCharCode(u);
      }
    }
  };
  const number = (): JsonValue => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(pos, pos + 400));
    if (!m || m[0].length === 0 || m[0] === '-') fail();
    const literal = m![0];
    if (literal.length >= 400) fail(); // no file of ours has such numbers
    pos += literal.length;
    if (m![2] || m![3]) return { kind: 'float' };
    const n = BigInt(literal);
    if (literal.startsWith('-')) return n >= I64_MIN ? { kind: 'integer', value: n } : { kind: 'float' };
    return n <= U64_MAX ? { kind: 'unsigned', value: n } : { kind: 'float' };
  };
  const literal = (word: string, v: JsonValue): JsonValue => {
    if (text.startsWith(word, pos)) {
      pos += word.length;
      return v;
    }
    return fail();
  };
  const value = (): JsonValue => {
    ws();
    const c = text[pos];
    if (c === '"') return { kind: 'string', value: string() };
    if (c === '{') {
      pos++;
      const fields = new Map<string, JsonValue>();
      ws();
      if (text[pos] === '}') {
        pos++;
        return { kind: 'object', fields };
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail();
        const key = string();
        ws();
        if (text[pos++] !== ':') fail();
        if (fields.has(key)) duplicateKey = true;
        fields.set(key, value());
        ws();
        const sep = text[pos++];
        if (sep === '}') return { kind: 'object', fields };
        if (sep !== ',') fail();
      }
    }
    if (c === '[') {
      pos++;
      const items: JsonValue[] = [];
      ws();
      if (text[pos] === ']') {
        pos++;
        return { kind: 'array', items };
      }
      for (;;) {
        items.push(value());
        ws();
        const sep = text[pos++];
        if (sep === ']') return { kind: 'array', items };
        if (sep !== ',') fail();
      }
    }
    if (c === 't') return literal('true', { kind: 'bool' });
    if (c === 'f') return literal('false', { kind: 'bool' });
    if (c === 'n') return literal('null', { kind: 'null' });
    return number();
  };
  const v = value();
  ws();
  if (pos !== text.length) fail();
  return { value: v, duplicateKey };
}
