// Processes and a browser for the end-to-end tests: the real tokencast binary (rendezvous and
// host) and Debian's Chromium driven by playwright-core.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const WEB_DIR = resolve(here, '..');
export const DIST_DIR = join(WEB_DIR, 'dist');
// TOKENCAST_BIN, else the build directory scripts/test uses (TOKENCAST_BUILD_DIR, default build).
export const TOKENCAST_BIN = process.env.TOKENCAST_BIN
  ? resolve(WEB_DIR, process.env.TOKENCAST_BIN)
  : resolve(WEB_DIR, '..', process.env.TOKENCAST_BUILD_DIR ?? 'build', 'tokencast');
export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (!existsSync(TOKENCAST_BIN)) missing.push(`tokencast binary (${TOKENCAST_BIN})`);
  if (!existsSync(CHROMIUM)) missing.push(`chromium (${CHROMIUM})`);
  if (!existsSync(join(DIST_DIR, 'index.html'))) missing.push('web/dist (run npm run build)');
  return missing;
}

const children = new Set<ChildProcess>();

export function stopAll(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  children.clear();
}

export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'tokencast-e2e-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

function waitFor<T>(what: string, timeoutMs: number, poll: () => T | undefined): Promise<T> {
  const start = Date.now();
  return new Promise((res, rej) => {
    const tick = () => {
      let v: T | undefined;
      try {
        v = poll();
      } catch {
        v = undefined;
      }
      if (v !== undefined) return res(v);
      if (Date.now() - start > timeoutMs) return rej(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

export interface Rendezvous {
  port: number;
  base: string; // http://127.0.0.1:PORT, or https:// with TLS
  ws: string; // the WebSocket URL (ws:// or wss://)
  proc: ChildProcess;
}

/** `opts`: extra flags, or a PEM certificate and key to serve https/wss with. */
export async function startRendezvous(
  opts: string[] | { cert: string; key: string } = [],
  env: Record<string, string> = {},
): Promise<Rendezvous> {
  const tls = Array.isArray(opts) ? undefined : opts;
  const extra = Array.isArray(opts) ? opts : [];
  const args = ['rendezvous', '--listen', '127.0.0.1:0', '--web-root', DIST_DIR, ...extra];
  if (tls) args.push('--tls-cert', tls.cert, '--tls-key', tls.key);
  const proc = spawn(TOKENCAST_BIN, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.add(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', () => undefined);
  const port = await waitFor('the rendezvous to listen', 10000, () => {
    const m = /listening on [^\s:]+:(\d+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  });
  const s = tls ? 's' : '';
  return { port, base: `http${s}://127.0.0.1:${port}`, ws: `ws${s}://127.0.0.1:${port}/ws`, proc };
}

export interface Host {
  proc: ChildProcess;
  links: { session: string; viewer: string; participant: string };
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startHost(rv: Rendezvous, dir: string, exec: string, extra: string[] = []): Promise<Host> {
  const linksFile = join(dir, 'links.json');
  const args = [
    'host',
    '--rendezvous', rv.ws,
    // No base: the links name the --rendezvous list itself (its first, then "?r=" alternates).
    ...(rv.base ? ['--public-url', rv.base] : []),
    '--db', join(dir, 'h.db'),
    '--links', linksFile,
    '--no-qr',
    ...(exec ? ['--exec', exec] : []),
    ...extra,
  ];
  const proc = spawn(TOKENCAST_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const links = await waitFor('the host to write its links', 15000, () => {
    if (!existsSync(linksFile)) return undefined;
    const j = JSON.parse(readFileSync(linksFile, 'utf8'));
    return j.participant && j.viewer ? j : undefined;
  });
  return {
    proc,
    links,
    output: () => out,
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise<void>((res) => {
        if (proc.exitCode !== null) return res();
        const timer = setTimeout(() => proc.kill('SIGKILL'), 8000);
        proc.once('exit', () => {
          clearTimeout(timer);
          res();
        });
        proc.kill(signal);
      }),
  };
}

/** `extraArgs`: e.g. the TLS test's --ignore-certificate-errors-spki-list. */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  // playwright-core gives every launch a fresh temporary profile (its own --user-data-dir).
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      ...extraArgs,
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

// `tokencast export ID --db DB --format json`, parsed.
export function exportSession(db: string, session: string): unknown {
  const r = spawnSync(TOKENCAST_BIN, ['export', session, '--db', db, '--format', 'json'], { encoding: 'utf8', timeout: 10000 });
  if (r.status !== 0) throw new Error(`tokencast export exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export interface NativeJoin {
  proc: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
}

// The native client: `tokencast join LINK ...args`, stdin closed.
export function runJoin(link: string, args: string[] = []): NativeJoin {
  const proc = spawn(TOKENCAST_BIN, ['join', ...args, link], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return { proc, exited, output: () => out };
}

/** The native client with the link on its stdin (`tokencast join ...args -`), never in argv:
 *  for links that must not show in `ps`. Killed by stopAll like the others. */
export function runJoinStdin(link: string, args: string[] = []): NativeJoin {
  const proc = spawn(TOKENCAST_BIN, ['join', ...args, '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  proc.stdin!.end(link + '\n');
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return { proc, exited, output: () => out };
}

/** The prerequisites that are missing; in CI (CI=true) a missing one is a failure, not a skip. */
export function requirePrerequisites(): string[] {
  const missing = missingPrerequisites();
  if (missing.length && (process.env.CI || process.env.TOKENCAST_E2E_REQUIRED)) {
    throw new Error(`e2e prerequisites missing: ${missing.join(', ')}`);
  }
  return missing;
}

export const PHONE = { width: 390, height: 844 };

/** A phone-sized page whose stored display name is `name`; dialogs are recorded and dismissed. */
export async function newPhonePage(
  browser: Browser,
  name: string,
): Promise<{ ctx: BrowserContext; page: Page; dialogs: string[] }> {
  const ctx = await browser.newContext({ viewport: PHONE });
  await ctx.addInitScript((n) => {
    if (!localStorage.getItem('tokencast.name')) localStorage.setItem('tokencast.name', n);
  }, name);
  const page = await ctx.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return { ctx, page, dialogs };
}

/** Waits until the page says it is live (welcomed by the host). */
export function waitLive(page: Page, timeout = 20000) {
  return page.waitForFunction(() => document.getElementById('status')?.textContent === 'live', null, { timeout });
}

/** The page's transcript as shown: author line, body text, open or not, end note, role. */
export interface ShownTurn {
  who: string;
  body: string;
  open: boolean;
  end: string;
  role: 'user' | 'assistant' | 'other';
}

export function shownTurns(page: Page): Promise<ShownTurn[]> {
  return page.$$eval('#transcript > li', (lis) =>
    lis.map((li) => ({
      who: li.querySelector('.who')?.textContent ?? '',
      body: li.querySelector('.body')?.textContent ?? '',
      open: li.classList.contains('open'),
      end: li.querySelector('.end')?.textContent ?? '',
      role: li.classList.contains('user') ? 'user' : li.classList.contains('assistant') ? 'assistant' : 'other',
    })),
  ) as Promise<ShownTurn[]>;
}

/** Runs `wait`; if it times out, the error says what the page shows (status, notice, turns). */
export async function explained<T>(page: Page, wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (e) {
    const said = await Promise.all([page.textContent('#status'), page.textContent('#notice'), shownTurns(page)]).catch(() => null);
    const detail = said ? `; status ${said[0]}; notice ${said[1]}; turns ${JSON.stringify(said[2])}` : '';
    throw new Error(`${(e as Error).message}${detail}`);
  }
}

/** Waits until the page holds everything the host had when it (last) welcomed it and shows all
 *  of it, answers rendered as Markdown (window.tokencast.caughtUp() and rendered()). */
export function waitShown(page: Page, timeout = 20000): Promise<unknown> {
  return explained(
    page,
    page.waitForFunction(
      () => {
        const t = (window as unknown as { tokencast?: { caughtUp(): boolean; rendered(): boolean } }).tokencast;
        return !!t && t.caughtUp() && t.rendered();
      },
      null,
      { timeout },
    ),
  );
}

/** Waits until exactly `n` answers have ended and everything is on screen (Markdown rendered);
 *  with `last`, until the last answer's text (trimmed) is that too. */
export function waitAnswers(page: Page, n: number, last?: string, timeout = 15000): Promise<unknown> {
  return explained(
    page,
    page.waitForFunction(
      ([k, text]) => {
        const t = (window as unknown as { tokencast?: { rendered(): boolean } }).tokencast;
        const ended = document.querySelectorAll('#transcript > li.assistant:not(.open)');
        if (ended.length !== k || !t?.rendered()) return false;
        return text === null || ended[k - 1].querySelector('.body')?.textContent?.trim() === text;
      },
      [n, last ?? null] as const,
      { timeout },
    ),
  );
}

// --- Relay e2e helpers (webrelay, relaychain) ------------------------------------------------

/** A metric of the host's --metrics-file (rewritten every 2 s), or undefined before it exists. */
export function metric(file: string, name: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(readFileSync(file, 'utf8'));
  return m ? Number(m[1]) : undefined;
}

/** Resolves once ok() holds (polled every 50 ms); rejects after timeoutMs with `what`. */
export function until(what: string, timeoutMs: number, ok: () => boolean, explain: () => string = () => ''): Promise<void> {
  const start = Date.now();
  return new Promise((res, rej) => {
    const tick = () => {
      if (ok()) return res();
      if (Date.now() - start > timeoutMs) return rej(new Error(`timed out waiting for ${what}${explain()}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

/** The page's status line: state, text, "via relay" (data-via) and "relaying for N" (data-relaying). */
export const pageStatus = (page: Page) =>
  page.$eval('#status', (el) => {
    const d = (el as HTMLElement).dataset;
    return { state: d.state ?? '', text: el.textContent ?? '', via: d.via ?? '', relaying: d.relaying ?? '' };
  });

/** `link` with the page's own query option (it never becomes part of the invite link). */
export function withQuery(link: string, query: string): string {
  const u = new URL(link);
  u.search = query;
  return u.toString();
}

export interface NativeTurn {
  text: string;
  role: string;
  status: string;
}
/** A native viewer's --out FILE.json: its turns (role and text as held). */
export const nativeTurns = (file: string): NativeTurn[] =>
  existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { turns: NativeTurn[] }).turns : [];

/** A counting "model" for `startHost`: answer n streams five words tagged with n, a delta each
 *  (its count kept in `dir`). Returns the command. */
export function countingModel(dir: string): string {
  const script = join(dir, 'model.sh');
  writeFileSync(
    script,
    [
      'cat >/dev/null',
      `n=$(cat '${dir}/n' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '${dir}/n'`,
      'for w in alpha beta gamma delta epsilon; do printf "%s%s " $w $n; sleep 0.05; done',
    ].join('\n'),
  );
  return `sh ${script}`;
}

/** The countingModel's answer n. */
export const countingAnswer = (n: number) => ['alpha', 'beta', 'gamma', 'delta', 'epsilon'].map((w) => `${w}${n}`).join(' ');
