// The invite buttons: share (the system share sheet, navigator.share, where the browser has it:
// secure contexts) and copy the link. Only a viewer link is ever offered: it is public by design
// (anyone holding it may watch, nothing more), so re-sharing it gives nothing away. A
// participant link lets its holder ask and is never put on screen or on the clipboard by the
// page: a participant's page shows no invite buttons (it cannot derive the viewer link; the
// host hands that out). See docs/web.md, "Sharing the link".
import { copyText, flashLabel, type ClipboardEnv } from './clipboard';

export interface ShareEnv extends ClipboardEnv {
  share?: (data: { title?: string; url?: string }) => Promise<void>;
}

function defaultEnv(): ShareEnv {
  const nav = typeof navigator !== 'undefined' ? navigator : undefined;
  return {
    clipboard: nav?.clipboard,
    share: nav?.share ? (d) => nav.share(d) : undefined,
    document,
  };
}

/** Fills `container` with the invite buttons for `viewerLink` (the link the page joined with,
 *  kept in memory: the address bar no longer has it). Returns false, leaving it hidden, for a
 *  participant link. */
export function showInviteButtons(
  container: HTMLElement,
  link: { text: string; role: 0 | 1 },
  title: () => string,
  env: ShareEnv = defaultEnv(),
): boolean {
  container.replaceChildren();
  if (link.role !== 0) {
    container.hidden = true;
    return false;
  }
  const url = link.text;
  if (env.share) {
    const share = document.createElement('button');
    share.type = 'button';
    share.className = 'share';
    share.textContent = 'Share link';
    share.addEventListener('click', () => {
      env.share!({ title: title(), url }).catch(async (e: unknown) => {
        // Dismissing the sheet is an AbortError: nothing to do. Anything else: copy instead.
        if ((e as { name?: string })?.name !== 'AbortError') flashLabel(share, await copyText(url, env), 'Share link');
      });
    });
    container.append(share);
  }
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.className = 'copy-link';
  copy.textContent = 'Copy link';
  copy.addEventListener('click', async () => flashLabel(copy, await copyText(url, env), 'Copy link'));
  container.append(copy);
  container.hidden = false;
  return true;
}
