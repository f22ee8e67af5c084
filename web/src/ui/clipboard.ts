// Copying text. The Clipboard API exists in secure contexts only (https, localhost); a phone on
// a plain-http LAN page has none, so the fallback selects the text in an off-screen textarea and
// uses execCommand('copy') (deprecated but still supported, and it works there on a click).

export interface ClipboardEnv {
  clipboard?: { writeText(text: string): Promise<void> };
  document: Document;
}

function defaultEnv(): ClipboardEnv {
  return { clipboard: typeof navigator !== 'undefined' ? navigator.clipboard : undefined, document };
}

/** Copies `text`; resolves whether it was copied. Call it from a click (user activation). */
export async function copyText(text: string, env: ClipboardEnv = defaultEnv()): Promise<boolean> {
  if (env.clipboard?.writeText) {
    try {
      await env.clipboard.writeText(text);
      return true;
    } catch {
      /* denied or unfocused: try the fallback */
    }
  }
  const doc = env.document;
  const area = doc.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'visually-hidden'; // a class, not a style attribute (the page's CSP)
  doc.body.append(area);
  try {
    area.select();
    return typeof doc.execCommand === 'function' && doc.execCommand('copy');
  } catch {
    return false;
  } finally {
    area.remove();
  }
}

/** Says on the button for a moment that the copy worked (or not), then restores its label. */
export function flashLabel(button: HTMLButtonElement, ok: boolean, label: string): void {
  button.textContent = ok ? 'Copied' : 'Copy failed';
  setTimeout(() => {
    button.textContent = label;
  }, 1500);
}
