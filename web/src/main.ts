// The page: reads the invite from the fragment (and removes it at once), restores the stored
// transcript, joins, and renders. Phone first.
import './boot';
import './style.css';
import { base64urlEncode } from './protocol/base64url';
import { toHex } from './protocol/bytes';
import { InviteLinkError, parseInviteLink, type InviteLink } from './protocol/invite';
import { roomLocator } from './protocol/keys';
import { PROMPT_AWAITS_APPROVAL, PROMPT_DECLINED, STATUS, type Event } from './protocol/frames';
import { FAILURE_TEXT, Joiner, type JoinFailure } from './client/joiner';
import { ClientSession, cleanDisplayName, positionAfter, Transcript, type SessionEvent } from './client/session';
import { SessionStore, type SessionSummary } from './client/store';
import { loadSignature, SIGNED_EXPORT_TEXT, signedExport, storeSignature } from './client/signed-export';
import { sessionCertificate } from './client/certificate';
import { preloadMarkdown, TranscriptView } from './ui/view';
import { neutralizeBidi } from './ui/text';
import { PeopleList } from './ui/people';
import { showInviteButtons } from './ui/share';
import { StreamWakeLock } from './ui/wake-lock';
import { showNotice, showStatus } from './ui/status';

// --- 1. Take the secret out of the address bar before anything else.
const LINK_KEY = 'tokencast.link';
let linkText: string | null = null;
/** The invite link in `href`, without the page's own `?relay` setting (see RELAY_KEY). */
function linkFromHref(href: string): string {
  // Items are removed by hand: URLSearchParams would re-encode the link's alternates
  // ("?r=https://..." -> "r=https%3A%2F%2F..."), which the link parser refuses.
  const url = new URL(href);
  const kept = url.search
    .slice(1)
    .split('&')
    .filter((item) => item !== '' && item !== 'relay' && !item.startsWith('relay=') && !item.startsWith('relay-for='));
  url.search = kept.length ? `?${kept.join('&')}` : '';
  return url.toString();
}

if (location.hash.length > 1) {
  linkText = linkFromHref(location.href);
  history.replaceState(null, '', location.pathname + location.search);
  try {
    sessionStorage.setItem(LINK_KEY, linkText); // survives a reload of this tab only
  } catch {
    /* storage disabled */
  }
} else {
  try {
    linkText = sessionStorage.getItem(LINK_KEY);
  } catch {
    linkText = null;
  }
}

// A link pasted into the address bar of an open page only changes the fragment: start over.
window.addEventListener('hashchange', () => {
  if (location.hash.length <= 1) return;
  const text = linkFromHref(location.href);
  history.replaceState(null, '', location.pathname + location.search);
  try {
    sessionStorage.setItem(LINK_KEY, text);
  } catch {
    /* storage disabled */
  }
  location.reload();
});

// Opens a valid invite link. The page connects to its own origin only (CSP connect-src 'self'),
// so a link of another rendezvous is opened as that rendezvous' page; this origin's link is
// kept for the reload in sessionStorage (see docs/SECURITY.md).
function openLink(text: string): void {
  if (new URL(parseInviteLink(text).baseUrl).origin !== location.origin) {
    location.assign(text);
    return;
  }
  try {
    sessionStorage.setItem(LINK_KEY, text);
  } catch {
    /* storage disabled */
  }
  location.reload();
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusEl = $('status');
const people = new PeopleList($('peers'), $<HTMLUListElement>('people-list'));
const titleEl = $('title');
const noticeEl = $('notice');
const joinEl = $('join');
const compose = $<HTMLFormElement>('compose');
const promptEl = $<HTMLTextAreaElement>('prompt');
const sendBtn = $<HTMLButtonElement>('send');
const cancelBtn = $<HTMLButtonElement>('cancel');
const nameEl = $<HTMLInputElement>('name');
const list = $<HTMLOListElement>('transcript');

const NAME_KEY = 'tokencast.name';
let storedName = '';
try {
  storedName = localStorage.getItem(NAME_KEY) ?? '';
} catch {
  /* storage disabled */
}
nameEl.value = storedName;
nameEl.addEventListener('change', () => {
  try {
    localStorage.setItem(NAME_KEY, cleanDisplayName(nameEl.value));
  } catch {
    /* storage disabled */
  }
});

// Relay-only (iceTransportPolicy 'relay'): opening the page with ?relay turns it on, ?relay=0
// off; the choice is kept in localStorage. Useful to test or force a TURN relay.
const RELAY_KEY = 'tokencast.relay';

function relayOnlySetting(): boolean {
  try {
    const q = new URLSearchParams(location.search).get('relay');
    if (q !== null) {
      if (q === '0') localStorage.removeItem(RELAY_KEY);
      else localStorage.setItem(RELAY_KEY, '1');
    }
    return localStorage.getItem(RELAY_KEY) === '1';
  } catch {
    return false; // no storage (private mode): the default
  }
}

// Relaying for other viewers (docs/web.md, "Relaying"): a desktop viewer (no touch screen, a
// fine pointer) offers to forward the host's stream to 4 others; phones do not. ?relay-for=N
// overrides it (0 = never, at most 64).
const DEFAULT_RELAY_CAPACITY = 4;

function relayCapacitySetting(): number {
  const q = new URLSearchParams(location.search).get('relay-for');
  if (q !== null && /^[0-9]{1,3}$/.test(q)) return Math.min(64, Number(q));
  let coarse = false;
  try {
    coarse = matchMedia('(pointer: coarse)').matches;
  } catch {
    /* no media queries: judge by touch alone */
  }
  return navigator.maxTouchPoints === 0 && !coarse ? DEFAULT_RELAY_CAPACITY : 0;
}

function setStatus(state: string, text: string): void {
  showStatus(statusEl, state, text);
}

function notice(text: string | null): void {
  showNotice(noticeEl, text);
}

function setTitle(t: Transcript): void {
  const title = neutralizeBidi(t.title) || 'tokencast';
  titleEl.textContent = title;
  document.title = title === 'tokencast' ? 'tokencast' : `${title} · tokencast`;
}

// This page's own peer id (from the welcome), to mark "you" in the people list.
let selfPeer: bigint | null = null;

function setPeers(t: Transcript): void {
  people.render(t.peers, selfPeer);
}

// The screen stays on while an answer streams (see ui/wake-lock.ts).
const wakeLock = new StreamWakeLock();

const storePromise = SessionStore.open();

// --- 2. The join view (no link): paste, scan, past sessions.
async function showJoinView(): Promise<void> {
  joinEl.hidden = false;
  setStatus('idle', 'not connected');
  $<HTMLFormElement>('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>('join-link');
    const text = input.value.trim();
    try {
      parseInviteLink(text);
    } catch (err) {
      notice(`the invite link is not valid: ${(err as Error).message}`);
      return;
    }
    input.value = '';
    openLink(text);
  });
  setupScanner();
  const store = await storePromise;
  const sessions = store ? await store.list() : [];
  const ul = $<HTMLUListElement>('history');
  $('history-empty').hidden = sessions.length > 0;
  for (const s of sessions) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    const when = new Date(s.updatedAt).toLocaleString();
    b.textContent = `${neutralizeBidi(s.title) || 'untitled session'} · ${when}${s.preview ? ` · ${neutralizeBidi(s.preview)}` : ''}`;
    b.addEventListener('click', () => void showPast(s));
    li.append(b);
    ul.append(li);
  }
}

async function showPast(s: SessionSummary): Promise<void> {
  const store = await storePromise;
  const data = store ? await store.load(s.room) : null;
  if (!data) return;
  const t = new Transcript();
  for (const e of data.events) t.apply(e);
  joinEl.hidden = true;
  setTitle(t);
  setStatus('idle', 'saved copy (offline)');
  new TranscriptView(list, t).replace(t);
}

function setupScanner(): void {
  const Detector = (globalThis as unknown as { BarcodeDetector?: new (o: object) => { detect(v: HTMLVideoElement): Promise<{ rawValue: string }[]> } }).BarcodeDetector;
  const btn = $<HTMLButtonElement>('scan');
  if (!Detector || !navigator.mediaDevices?.getUserMedia) return;
  btn.hidden = false;
  btn.addEventListener('click', async () => {
    const video = $<HTMLVideoElement>('scan-video');
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    } catch {
      notice('the camera is not available');
      return;
    }
    video.hidden = false;
    video.srcObject = stream;
    await video.play();
    const detector = new Detector({ formats: ['qr_code'] });
    const stop = () => {
      for (const track of stream.getTracks()) track.stop();
      video.hidden = true;
    };
    const tick = async () => {
      try {
        for (const code of await detector.detect(video)) {
          try {
            parseInviteLink(code.rawValue);
          } catch {
            continue;
          }
          stop();
          openLink(code.rawValue);
          return;
        }
      } catch {
        /* try the next frame */
      }
      if (!video.hidden) setTimeout(tick, 250);
    };
    void tick();
  });
}

// --- 3. A session, in steps: the page's state, the stored copy, the joiner, the controls.

/** What the steps of a session share. */
interface SessionPage {
  room: string;
  session: ClientSession;
  view: TranscriptView;
  role: string;
  welcomeHead: bigint; // head_seq of the last welcome: the page is caught up once it holds it
  store: SessionStore | null;
  writes: Promise<void>; // IndexedDB writes, queued so they land in order
  joiner: Joiner | null;
  hostKey: Uint8Array; // the link's host key: what the host's signatures verify under
}

function showTranscriptMeta(session: ClientSession): void {
  setTitle(session.transcript);
  setPeers(session.transcript);
}

/** Restores the stored copy of the room (IndexedDB takes tens of ms on a first open). */
async function restoreStored(page: SessionPage): Promise<void> {
  let restored: { summary: SessionSummary; events: Event[] } | null = null;
  try {
    page.store = await storePromise;
    restored = page.store ? await page.store.load(page.room) : null;
  } catch {
    restored = null;
  }
  try {
    performance.mark('tokencast:restored');
  } catch {
    /* no User Timing */
  }
  if (restored && restored.summary.sessionId) {
    const id = Uint8Array.from(restored.summary.sessionId.match(/../g)!.map((h) => parseInt(h, 16)));
    page.session.restore(id, restored.events, loadSignature(restored.summary.signature));
    page.role = restored.summary.role ?? page.role;
    page.view.replace(page.session.transcript);
    showTranscriptMeta(page.session);
    updateCompose(page);
    updateSigned(page);
  }
}

function sessionSummary(page: SessionPage): SessionSummary {
  const { session } = page;
  const t = session.transcript;
  const last = [...t.turns].reverse().find((x) => x.role === 'user') ?? t.turns[t.turns.length - 1];
  return {
    room: page.room,
    sessionId: session.sessionId ? toHex(session.sessionId) : '',
    role: session.role ?? (page.role as 'viewer' | 'participant'),
    title: t.title,
    model: t.model,
    preview: last ? last.text.slice(0, 80) : '',
    updatedAt: Date.now(),
    lastSeq: session.position.last_seq.toString(),
    ...(session.signature ? { signature: storeSignature(session.signature) } : {}),
  };
}

// --- The signed export: the host's latest signature with the stored copy (docs/web.md).

/** Says whether the host has signed this transcript yet, and enables the export when it has. */
function updateSigned(page: SessionPage): void {
  const sig = page.session.signature;
  $('signed').hidden = false;
  $<HTMLButtonElement>('export-signed').disabled = sig === null;
  $('signed-state').textContent = sig
    ? `Signed by the host: the first ${sig.turns} turn${sig.turns === 1n ? '' : 's'}.`
    : SIGNED_EXPORT_TEXT.no_signature;
}

/** Writes the signed file from the stored copy (IndexedDB), as `tokencast export --signed` would. */
async function exportSigned(page: SessionPage): Promise<void> {
  await page.writes; // what arrived is stored first
  const { session } = page;
  const data = page.store ? await page.store.load(page.room).catch(() => null) : null;
  if (!data || !session.sessionId) {
    notice('No stored copy of this session on this device: the signed export reads it from there.');
    return;
  }
  const out = signedExport(session.sessionId, page.hostKey, data.events, loadSignature(data.summary.signature) ?? session.signature);
  if (!out.ok) {
    notice(SIGNED_EXPORT_TEXT[out.reason]);
    return;
  }
  const url = URL.createObjectURL(new Blob([out.file], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `tokencast-${toHex(session.sessionId)}-signed.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  notice(null);
}

/** Queues one write to the stored copy (none before the session is known). */
function queueWrite(page: SessionPage, write: (db: SessionStore) => Promise<void>): void {
  const db = page.store;
  if (!db) return;
  page.writes = page.writes.then(() => write(db)).catch(() => undefined);
}

function persistEvents(page: SessionPage, events: Event[]): void {
  if (!page.session.sessionId) return;
  const s = sessionSummary(page);
  queueWrite(page, (db) => db.append(s, events));
}

function updateCompose(page: SessionPage): void {
  const joiner = page.joiner;
  compose.hidden = page.role !== 'participant';
  const open = page.session.position.open_turn !== null;
  sendBtn.disabled = !joiner?.connected;
  cancelBtn.disabled = !joiner?.connected || !open;
  wakeLock.streaming = open && statusEl.dataset.state !== 'ended'; // an answer is arriving (or will, once reconnected)
}

function hostErrorNotice(role: string, code: bigint, text: string): void {
  if (code === STATUS.busy && text === PROMPT_AWAITS_APPROVAL) notice("Your prompt waits for the host's approval.");
  else if (code === STATUS.busy) notice('the model is still answering: wait for it to finish, or stop it');
  else if (code === STATUS.not_permitted && text === PROMPT_DECLINED) notice('The host declined your prompt.');
  else if (code === STATUS.not_permitted && role !== 'participant') notice('this link can only watch, not ask');
  else if (code !== STATUS.slow_consumer && code !== STATUS.resume_unavailable) {
    notice(`the host reported: ${neutralizeBidi(text) || 'an error'}`);
  }
}

function onSessionEvent(page: SessionPage, ev: SessionEvent): void {
  switch (ev.type) {
    case 'welcomed': {
      page.role = ev.role;
      page.welcomeHead = ev.headSeq;
      selfPeer = ev.peer;
      setPeers(page.session.transcript);
      notice(null);
      // Joined: now fetch the Markdown renderer (answers need it), off the join's path.
      setTimeout(() => void preloadMarkdown(), 0);
      const s = sessionSummary(page);
      queueWrite(page, (db) => db.putSummary(s));
      break;
    }
    case 'session_changed':
      queueWrite(page, (db) => db.remove(page.room)); // a reset clears the room first
      page.view.replace(page.session.transcript);
      updateSigned(page);
      break;
    case 'signed': {
      if (page.session.sessionId) {
        const s = sessionSummary(page);
        queueWrite(page, (db) => db.putSummary(s));
      }
      updateSigned(page);
      break;
    }
    case 'applied':
      persistEvents(page, ev.events);
      page.view.update(ev.turns);
      showTranscriptMeta(page.session);
      break;
    case 'host_error':
      hostErrorNotice(page.role, ev.code, ev.text);
      break;
    default:
      break;
  }
  updateCompose(page);
}

/** The end of a session that no retry can undo: the host ended it, or removed us. */
const FINAL: readonly JoinFailure[] = ['session_ended', 'removed', 'bad_link'];

function showEnded(failure: JoinFailure): void {
  if (failure === 'removed') notice('The host removed you from this session.');
  else notice(FAILURE_TEXT[failure] + (failure === 'session_ended' ? '.' : ''));
  if (!FINAL.includes(failure)) {
    const retry = document.createElement('button');
    retry.type = 'button';
    retry.textContent = 'Try again';
    retry.className = 'retry';
    retry.addEventListener('click', () => location.reload());
    noticeEl.append(' ', retry);
  }
  compose.hidden = true;
}

function startJoiner(page: SessionPage, link: InviteLink, restoring: Promise<void>): Joiner {
  return new Joiner(
    link,
    page.session,
    {
      onStatus(state, detail) {
        // Served by a relay the host appointed (docs/web.md): said discreetly, after "live" (CSS,
        // from data-via), like the path.
        const viaRelay = state === 'connected' && detail === 'via relay';
        const text = state === 'ended' ? detail : state === 'reconnecting' ? 'reconnecting…' : state === 'connecting' ? 'connecting…' : 'live';
        if (state !== 'connected') {
          delete statusEl.dataset.path;
          delete statusEl.dataset.relaying;
        }
        if (viaRelay) statusEl.dataset.via = 'relay';
        else delete statusEl.dataset.via;
        setStatus(state, text);
        updateCompose(page);
      },
      onSessionEvent: (ev) => onSessionEvent(page, ev),
      onPath(path) {
        // The connection indicator says how we are connected, straight to the host or through a
        // TURN relay (shown by CSS after "live", from data-path; the pair in the tooltip).
        const via = path.relayed ? `relayed (TURN over ${path.localType === 'relay' ? path.localProtocol : path.remoteProtocol})` : 'direct';
        statusEl.dataset.path = via;
        statusEl.title = `connection: ${via}; local=${path.localType}/${path.localProtocol} remote=${path.remoteType}/${path.remoteProtocol}`;
      },
      onRelaying(served) {
        // Shown by CSS after "live" (data-relaying): "relaying for N".
        if (served > 0) statusEl.dataset.relaying = String(served);
        else delete statusEl.dataset.relaying;
      },
      onEnded: showEnded,
    },
    {
      beforeHello: restoring,
      relayOnly: relayOnlySetting(),
      certificate: sessionCertificate(storePromise, page.room, Date.now()),
      relayCapacity: relayCapacitySetting(),
    },
  );
}

function bindControls(page: SessionPage, joiner: Joiner): void {
  const { session } = page;
  compose.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = promptEl.value.trim();
    if (!text) return;
    let frame: Uint8Array;
    try {
      frame = session.prompt(text);
    } catch (err) {
      notice((err as Error).message === 'frame: oversized' ? 'that prompt is too long' : (err as Error).message);
      return;
    }
    if (joiner.send(frame)) {
      promptEl.value = '';
      notice(null);
    } else {
      notice('not connected to the host yet');
    }
  });
  promptEl.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      compose.requestSubmit();
    }
  });
  $<HTMLButtonElement>('export-signed').addEventListener('click', () => void exportSigned(page));
  cancelBtn.addEventListener('click', () => {
    const frame = session.cancel();
    if (frame) joiner.send(frame);
  });
  window.addEventListener('pagehide', () => joiner.leave());
  // Back from the back/forward cache the link was left: start over (and resume).
  window.addEventListener('pageshow', (e) => {
    if (e.persisted) location.reload();
  });
}

/** What the end-to-end tests read and drive. */
function exposeTestHooks(page: SessionPage, joiner: Joiner): void {
  const { session, view } = page;
  (window as unknown as { tokencast: object }).tokencast = {
    position: () => positionAfter([], session.position),
    drop: () => joiner.dropLink('dropped by a test'),
    // Welcomed, holding all the host had when it welcomed the page, and showing it all
    // (answers as Markdown): what the end-to-end tests wait for before they look.
    caughtUp: () => session.welcomed && session.position.last_seq >= page.welcomeHead,
    rendered: () => !view.pending,
    screenAwake: () => wakeLock.held,
    fingerprint: () => joiner.offerFingerprint(),
    // The turns as held (the text exactly as received), for byte-exact checks.
    signedTurns: () => (session.signature ? Number(session.signature.turns) : 0),
    turns: () => session.transcript.turns.map((t) => ({ role: t.role, author: t.author, text: t.text, open: t.open })),
  };
}

function runSession(link: InviteLink, text: string): void {
  const session = new ClientSession(cleanDisplayName(storedName || 'guest'));
  const page: SessionPage = {
    room: base64urlEncode(roomLocator(link.secret, link.role, link.hostKey)),
    session,
    view: new TranscriptView(list, session.transcript),
    role: link.role === 1 ? 'participant' : 'viewer',
    welcomeHead: 0n,
    store: null,
    writes: Promise.resolve(),
    joiner: null,
    hostKey: link.hostKey,
  };
  // The stored copy is restored while the join runs; the joiner holds its hello, which carries
  // the resume position, until this is done.
  const restoring = restoreStored(page);
  const joiner = startJoiner(page, link, restoring);
  page.joiner = joiner;
  joiner.start();
  bindControls(page, joiner);
  updateCompose(page);
  updateSigned(page);
  exposeTestHooks(page, joiner);
  // The link joined with, kept here (the address bar no longer has it): offered to share only
  // when it is the public viewer link (ui/share.ts).
  showInviteButtons($('invite'), { text, role: link.role }, () => neutralizeBidi(session.transcript.title) || 'tokencast');
}

if (!linkText) {
  void showJoinView();
} else {
  let link: InviteLink | null = null;
  try {
    link = parseInviteLink(linkText);
  } catch (e) {
    try {
      sessionStorage.removeItem(LINK_KEY);
    } catch {
      /* storage disabled */
    }
    notice(`the invite link is not valid: ${e instanceof InviteLinkError ? e.message : 'unreadable'}`);
    void showJoinView();
  }
  const text = linkText;
  linkText = null;
  if (link) runSession(link, text);
}
