// Text helpers for untrusted strings, without the Markdown renderer (which is loaded separately).

// Explicit direction overrides/isolates and the implicit marks (LRM, RLM, ALM) can make text
// read differently from what it is. The native terminal sanitizer removes the same set.
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

export function neutralizeBidi(text: string): string {
  return text.replace(BIDI_CONTROLS, '');
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
