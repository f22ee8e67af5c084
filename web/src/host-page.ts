// The host page (/host): choose the model source, then host the session from this tab: the QR
// code and links, the live transcript, the peers, a prompt box, stop and end. The session is kept
// in IndexedDB: a reload resumes it with the same links (docs/web.md, "Hosting from a browser").
import './style.css';
import { normalizeBaseUrl, formatInviteLink } from './protocol/invite';
import { type Event } from './protocol/frames';
import { Transcript } from './client/session';
import { TranscriptView, preloadMarkdown } from './ui/view';
import { neutralizeBidi } from './ui/text';
import { BrowserHost } from './host/runtime';
import { HostStore, newSessionKey, signerFor, type HostedSession } from './host/store';
import { encodeSignedTranscript, signTranscript, transcriptFromEvents } from './protocol/transcript';
import { toHex } from './protocol/bytes';
import { drawQr } from './ui/qr';
import { showNotice, showStatus } from './ui/status';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusEl = $('status');
const noticeEl = $('notice');
const setupForm = $<HTMLFormElement>('setup');
const live = $('live');
const compose = $<HTMLFormElement>('compose');
const promptEl = $<HTMLTextAreaElement>('prompt');
const list = $<HTMLOListElement>('transcript');

function notice(text: string | null): void {
  showNotice(noticeEl, text);
}

function setStatus(state: string, text: string): void {
  showStatus(statusEl, state, text);
}

/** The rendezvous serving this page: its address without the trailing /host. */
function pageBaseUrl(): string {
  return normalizeBaseUrl(location.origin + location.pathname.replace(/\/host\/?$/, ''));
}

// Keeps the screen on while hosting, where the browser allows it (Screen Wake Lock).
async function keepAwake(): Promise<void> {
  const wakeLock = (navigator as unknown as { wakeLock?: { request(t: 'screen'): Promise<unknown> } }).wakeLock;
  if (!wakeLock) return;
  const request = () => wakeLock.request('screen').catch(() => undefined);
  await request();
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') void request();
  });
}

function readSetup(): { model: HostedSession['model']; title: string } | string {
  const source = (setupForm.querySelector('input[name=source]:checked') as HTMLInputElement).value;
  const title = $<HTMLInputElement>('session-title').value.trim();
  if (source === 'typed') return { model: null, title };
  const baseUrl = $<HTMLInputElement>('model-url').value.trim();
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'the model server URL must start with http:// or https://';
  } catch {
    return 'the model server URL is not valid';
  }
  return { model: { baseUrl, model: $<HTMLInputElement>('model-name').value.trim() || 'default', apiKey: $<HTMLInputElement>('api-key').value }, title };
}

async function newSession(store: HostStore): Promise<HostedSession | null> {
  setupForm.hidden = false;
  setStatus('idle', 'not hosting');
  return new Promise((resolve) => {
    setupForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const choice = readSetup();
      if (typeof choice === 'string') {
        notice(choice);
        return;
      }
      void (async () => {
        const session: HostedSession = {
          key: await newSessionKey(),
          viewerSecret: crypto.getRandomValues(new Uint8Array(32)),
          participantSecret: crypto.getRandomValues(new Uint8Array(32)),
          sessionId: crypto.getRandomValues(new Uint8Array(16)),
          baseUrl: pageBaseUrl(),
          title: choice.title,
          model: choice.model,
          createdAt: Date.now(),
        };
        await store.create(session);
        setupForm.hidden = true;
        notice(null);
        resolve(session);
      })();
    });
  });
}

function host(store: HostStore, session: HostedSession, stored: Event[]): void {
  const transcript = new Transcript();
  const view = new TranscriptView(list, transcript);
  for (const e of stored) transcript.apply(e);
  view.replace(transcript);
  const signer = signerFor(session.key);
  const links = {
    viewer: formatInviteLink(session.baseUrl, 0, session.viewerSecret, signer.publicKey),
    participant: formatInviteLink(session.baseUrl, 1, session.participantSecret, signer.publicKey),
  };
  const showTitle = () => {
    const t = neutralizeBidi(transcript.title) || 'Hosting';
    $('title').textContent = t;
    document.title = `${t} · tokencast host`;
  };
  let hostRef: BrowserHost | null = null;
  // What a benchmark may set (bench/js/browser_host_latency.mjs): called with each piece of the
  // model's answer as it is handed to the session.
  const probe: { onDelta: ((text: string) => void) | null } = { onDelta: null };
  const showPeers = () => {
    const ul = $<HTMLUListElement>('peer-list');
    ul.replaceChildren(
      ...[...transcript.peers.values()].map((p) => {
        const li = document.createElement('li');
        li.textContent = `${neutralizeBidi(p.name)} (${p.role}) `; // peers' own text: as text only
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'remove-peer';
        remove.textContent = 'Remove';
        remove.setAttribute('aria-label', `Remove ${neutralizeBidi(p.name)}`);
        remove.addEventListener('click', () => {
          // The exact name the host gave (names are unique among those here), not the shown one.
          if (!confirm(`Remove ${neutralizeBidi(p.name)}? They cannot rejoin from the same browser while this tab hosts.`)) return;
          if (hostRef?.removePeer(p.name)) remove.disabled = true;
        });
        li.append(remove);
        return li;
      }),
    );
    const n = transcript.peers.size;
    $('peers').textContent = n ? `${n} here` : '';
  };
  // Participants' prompts held for approval: each with Accept and Reject. Their text is the
  // participant's own: shown as text only.
  let heldShown = '';
  const showHeld = () => {
    const h = hostRef;
    if (!h) return;
    const held = h.session.heldPrompts();
    const key = held.map((p) => p.id).join(',');
    if (key === heldShown) return; // unchanged: keep the buttons (and focus) as they are
    heldShown = key;
    $('held').hidden = held.length === 0;
    $<HTMLOListElement>('held-list').replaceChildren(
      ...held.map((p) => {
        const li = document.createElement('li');
        li.dataset.id = String(p.id);
        const who = document.createElement('strong');
        who.textContent = `${neutralizeBidi(p.author)}: `;
        const text = document.createElement('span');
        text.className = 'held-text';
        text.textContent = neutralizeBidi(p.text);
        const actions = document.createElement('div');
        for (const [label, act] of [
          ['Accept', () => h.approvePrompt(p.id)],
          ['Reject', () => h.declinePrompt(p.id)],
        ] as const) {
          const b = document.createElement('button');
          b.type = 'button';
          b.className = label.toLowerCase();
          b.textContent = label;
          b.setAttribute('aria-label', `${label} prompt ${p.id} from ${neutralizeBidi(p.author)}`);
          b.addEventListener('click', () => void act());
          actions.append(b);
        }
        li.append(who, text, actions);
        return li;
      }),
    );
  };
  const showState = () => {
    const h = hostRef;
    if (!h) return;
    showHeld();
    if (h.rendezvousState === 'online') setStatus('connected', 'hosting');
    else setStatus(h.rendezvousState === 'offline' ? 'reconnecting' : 'connecting', h.rendezvousState === 'offline' ? 'rendezvous lost, reconnecting…' : 'connecting…');
  };
  const h = new BrowserHost({
    baseUrl: session.baseUrl,
    signer,
    viewerSecret: session.viewerSecret,
    participantSecret: session.participantSecret,
    sessionId: session.sessionId,
    stored,
    model: session.model,
    hostName: 'host',
    approvePrompts: session.approvePrompts === true,
    sink: store,
    onEvents: (events) => {
      const changed = new Set<ReturnType<Transcript['apply']>>();
      for (const e of events) changed.add(transcript.apply(e));
      changed.delete(null);
      view.update(changed as Set<NonNullable<ReturnType<Transcript['apply']>>>);
      showTitle();
      showPeers();
    },
    onModelError: (advice) => notice(advice),
    onDelta: (text) => probe.onDelta?.(text),
    onChange: showState,
  });
  hostRef = h;
  if (stored.length === 0 && session.title) h.session.setMeta(session.title, session.model?.model ?? '');
  showTitle();
  showPeers();
  showState();
  setTimeout(() => void preloadMarkdown(), 0);

  live.hidden = false;
  compose.hidden = false;
  $<HTMLInputElement>('viewer-link').value = links.viewer;
  $<HTMLInputElement>('participant-link').value = links.participant;
  const qr = $<HTMLImageElement>('qr');
  drawQr(qr, links.viewer);
  let showing: 'viewer' | 'participant' = 'viewer';
  $('show-participant').addEventListener('click', () => {
    showing = showing === 'viewer' ? 'participant' : 'viewer';
    drawQr(qr, links[showing]);
    qr.alt = `QR code of the ${showing} link`;
    $('show-participant').textContent = `Show the ${showing === 'viewer' ? 'participant' : 'viewer'} QR code`;
  });
  promptEl.placeholder = session.model ? 'Ask the model…' : 'Type the answer everyone sees…';
  compose.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = promptEl.value.trim();
    if (!text) return;
    h.prompt(text);
    promptEl.value = '';
  });
  promptEl.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      compose.requestSubmit();
    }
  });
  $('cancel').addEventListener('click', () => h.cancel());
  // The toggle is part of the stored session: a reload keeps it (held prompts themselves are
  // not stored, as the native host's are not: their authors ask again).
  const approve = $<HTMLInputElement>('approve');
  approve.checked = h.session.approvePrompts;
  approve.addEventListener('change', () => {
    h.setApprovePrompts(approve.checked);
    session.approvePrompts = approve.checked;
    void store.update(session).catch(() => undefined);
  });
  // The session's turns signed with its key, as `tokencast export ID --signed` writes them; anyone
  // checks the file with `tokencast verify FILE LINK` (docs/PROTOCOL.md section 5).
  $('export').addEventListener('click', () => {
    void (async () => {
      const content = transcriptFromEvents(session.sessionId, h.session.durableEvents());
      const file = encodeSignedTranscript(await signTranscript(content, signer));
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([file], { type: 'application/json' }));
      a.download = `tokencast-${toHex(session.sessionId).slice(0, 8)}.signed.json`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    })().catch((e: unknown) => notice(`the transcript could not be signed: ${String(e)}`));
  });
  $('end').addEventListener('click', () => {
    if (!confirm('End the session for everyone?')) return;
    h.end();
    void store.clear();
    compose.hidden = true;
    setStatus('ended', 'session ended');
  });
  void keepAwake();
  // What the end-to-end tests read: the links, and the head the page has stored.
  (window as unknown as { tokencastHost: object }).tokencastHost = {
    links,
    probe,
    // The turns as the page holds them (the text exactly as received), for byte-exact checks.
    turns: () => transcript.turns.map((t) => ({ role: t.role, author: t.author, text: t.text, open: t.open })),
    online: () => h.rendezvousState === 'online',
    head: () => h.session.status.durable.toString(),
    peers: () => h.session.status.peers,
    generating: () => h.session.status.generating,
    held: () => h.session.heldPrompts().map((p) => ({ id: p.id, author: p.author, text: p.text })),
    keyKind: session.key.kind,
  };
}

async function start(): Promise<void> {
  let store: HostStore;
  try {
    store = await HostStore.open();
  } catch {
    notice('This browser cannot store the session (IndexedDB is unavailable, e.g. in a private window): hosting needs it.');
    return;
  }
  const resumed = await store.load().catch(() => null);
  if (resumed) {
    host(store, resumed.session, resumed.events);
    return;
  }
  const session = await newSession(store);
  if (session) host(store, session, []);
}

void start();
