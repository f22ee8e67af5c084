// The presenter view (/present#<viewer payload>, docs/web.md "Presenter view"): for a projector
// or a shared screen. It joins the session as a viewer and shows the viewer link's QR code, large,
// beside the live transcript and how many people watch and can ask. No prompt box, no names, no
// participant link. Keys: q hides/shows the QR code, d switches dark/light.
// Opened by `tokencast host --present`, its address also carries the host's moderation control
// (`&control=PORT.TOKEN` in the fragment): then it shows who is present with Remove buttons and
// the prompts waiting (--approve) with Accept and Reject; m hides/shows that panel.
// Its own build (vite --mode present): none of this is on the join page's path.
import './style.css';
import './present.css';
import { FAILURE_TEXT, Joiner, type JoinFailure } from './client/joiner';
import { ClientSession, positionAfter } from './client/session';
import { preloadMarkdown, TranscriptView } from './ui/view';
import { neutralizeBidi } from './ui/text';
import { drawQr } from './ui/qr';
import { headCount, headCountText, PresenterLinkError, splitPresenterControl, viewerLinkOfPresenterUrl } from './ui/presenter';
import { PresenterModeration } from './ui/present-control';
import { StreamWakeLock } from './ui/wake-lock';
import { showNotice, showStatus } from './ui/status';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusEl = $('status');
const noticeEl = $('notice');
const countsEl = $('counts');
const titleEl = $('title');
const inviteEl = $('invite');

function setStatus(state: string, text: string): void {
  showStatus(statusEl, state, text);
}

function notice(text: string | null): void {
  showNotice(noticeEl, text);
}

// --- Keys: q and d, with no modifier and not while typing anywhere (there is nothing to type in).
const THEME_KEY = 'tokencast.present.theme';
function applyTheme(theme: string | null): void {
  if (theme === 'dark' || theme === 'light') document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}
try {
  applyTheme(localStorage.getItem(THEME_KEY));
} catch {
  /* storage disabled: follow the system */
}
window.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
  if (e.key === 'q' || e.key === 'Q') {
    inviteEl.hidden = !inviteEl.hidden;
    document.body.classList.toggle('no-qr', inviteEl.hidden);
  } else if ((e.key === 'm' || e.key === 'M') && !$('moderation-key').hidden) {
    $('moderation').hidden = !$('moderation').hidden;
  } else if (e.key === 'd' || e.key === 'D') {
    const dark = document.documentElement.dataset.theme
      ? document.documentElement.dataset.theme === 'dark'
      : matchMedia('(prefers-color-scheme: dark)').matches;
    const next = dark ? 'light' : 'dark';
    applyTheme(next);
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch {
      /* storage disabled: for this visit only */
    }
  }
});

// --- The link: from the address (a viewer link is public, but it leaves the address bar like
// everywhere else), kept for a reload of this tab.
const LINK_KEY = 'tokencast.present.href';
let href: string | null = null;
if (location.hash.length > 1) {
  href = location.href;
  history.replaceState(null, '', location.pathname);
  try {
    sessionStorage.setItem(LINK_KEY, href);
  } catch {
    /* storage disabled */
  }
} else {
  try {
    href = sessionStorage.getItem(LINK_KEY);
  } catch {
    href = null;
  }
}

function run(fullHref: string): void {
  // The control token stays in this tab (sessionStorage, for a reload); never in the address.
  const { href: pageHref, control } = splitPresenterControl(fullHref);
  const { link, text } = viewerLinkOfPresenterUrl(pageHref);
  drawQr($<HTMLImageElement>('qr'), text, 8);
  $('viewer-link').textContent = text;

  const session = new ClientSession('presenter screen');
  const view = new TranscriptView($<HTMLOListElement>('transcript'), session.transcript);
  const wakeLock = new StreamWakeLock();
  let self: bigint | null = null;
  let welcomeHead = 0n;
  const showMeta = () => {
    const t = session.transcript;
    const title = neutralizeBidi(t.title) || 'tokencast';
    titleEl.textContent = title;
    document.title = `${title} · presenter`;
    countsEl.textContent = session.welcomed ? headCountText(headCount(t.peers, self)) : '';
  };
  const joiner = new Joiner(link, session, {
    onStatus(state, detail) {
      setStatus(state, state === 'ended' ? detail : state === 'reconnecting' ? 'reconnecting…' : state === 'connecting' ? 'connecting…' : 'live');
      wakeLock.streaming = state !== 'ended';
    },
    onSessionEvent(ev) {
      if (ev.type === 'welcomed') {
        self = ev.peer;
        welcomeHead = ev.headSeq;
        notice(null);
        setTimeout(() => void preloadMarkdown(), 0);
      } else if (ev.type === 'session_changed') {
        view.replace(session.transcript);
      } else if (ev.type === 'applied') {
        view.update(ev.turns);
      }
      showMeta();
    },
    onEnded(failure: JoinFailure) {
      notice(FAILURE_TEXT[failure]);
    },
  });
  joiner.start();
  window.addEventListener('pagehide', () => joiner.leave());
  if (control) {
    const moderation = new PresenterModeration(
      control,
      {
        panel: $('moderation'),
        people: $<HTMLUListElement>('people'),
        heldBox: $('held-box'),
        held: $<HTMLOListElement>('held'),
        result: $('moderation-result'),
      },
      () => (self === null ? null : (session.transcript.peers.get(self)?.name ?? null)),
      neutralizeBidi,
    );
    $('moderation-key').hidden = false;
    moderation.start();
  }
  // What the end-to-end tests read (as the join page's window.tokencast).
  (window as unknown as { tokencast: object }).tokencast = {
    position: () => positionAfter([], session.position),
    caughtUp: () => session.welcomed && session.position.last_seq >= welcomeHead,
    rendered: () => !view.pending,
    viewerLink: () => text,
  };
}

if (!href) {
  setStatus('idle', 'no link');
  notice('Open this page as <base>/present#<payload> of the viewer link (tokencast host --present prints it).');
} else {
  try {
    run(href);
  } catch (e) {
    setStatus('idle', 'no link');
    inviteEl.hidden = true;
    notice(e instanceof PresenterLinkError ? e.message : 'the link cannot be used');
  }
}
