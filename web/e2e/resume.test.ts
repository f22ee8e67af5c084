// End to end: a host killed mid-answer and resumed from its store, and a browser beside the
// native client. Real rendezvous and host (tokencast binary), the built page in Chromium.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  exportSession,
  launchChromium,
  newPhonePage,
  requirePrerequisites,
  shownTurns,
  waitAnswers,
  waitLive,
  runJoin,
  startHost,
  startRendezvous,
  stopAll,
  tempDir,
  type Rendezvous,
  type ShownTurn,
} from './harness';

const missing = requirePrerequisites();

type PageTurn = ShownTurn;

describe.skipIf(missing.length > 0)('host restart and native client end to end', () => {
  let rv: Rendezvous;
  let browser: Browser;
  const dirs: { remove(): void }[] = [];

  const newPage = (name: string) => newPhonePage(browser, name);

  const turns = shownTurns;
  // Waits until n answers have ended and all is on screen (Markdown rendered).
  const closedAnswers = (page: Page, n: number, timeout = 15000) => waitAnswers(page, n, undefined, timeout);
  // An ended turn shows "(status: reason)" unless it is done.
  const statusOf = (t: PageTurn) => (t.open ? 'streaming' : (/^\((\w+)/.exec(t.end)?.[1] ?? 'done'));
  // "ada asks:" / "host answers:" -> the author's name.
  const author = (who: string) => who.replace(/ (asks|answers):$/, '');

  beforeAll(async () => {
    rv = await startRendezvous();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    stopAll();
    for (const d of dirs) d.remove();
  });

  it('the host is killed mid-answer and resumed; the browser resumes with no gap or duplicate', async () => {
    const d = tempDir();
    dirs.push(d);
    // The "model" counts to ten, but after "three" waits for the gate file, which the test
    // creates once the host is killed: the first host dies mid-answer at a known point.
    const gate = join(d.path, 'gate');
    const slow = `cat >/dev/null; for w in one two three four five six seven eight nine ten; do printf '%s ' $w; [ $w != three ] || while [ ! -e '${gate}' ]; do sleep 0.05; done; done`;
    const first = await startHost(rv, d.path, slow);
    const links = first.links;
    const { ctx, page } = await newPage('ada');
    await page.goto(links.participant);
    await waitLive(page);
    await page.fill('#prompt', 'count to ten');
    await page.click('#send');
    await page.waitForFunction(() => /three/.test(document.querySelector('#transcript li.assistant.open .body')?.textContent ?? ''), null, {
      timeout: 15000,
    });
    await first.stop('SIGKILL');
    writeFileSync(gate, '');
    const shown = (await turns(page))[1].body;
    expect(shown.trim()).toBe('one two three');

    // The resumed host writes its links again (wait for that file, not the old one): the same.
    rmSync(join(d.path, 'links.json'));
    const second = await startHost(rv, d.path, slow, ['--resume', links.session]);
    expect(second.links).toEqual(links);
    // The page notices the silence, reconnects by itself and resumes.
    await page.waitForFunction(() => document.getElementById('status')?.textContent !== 'live', null, { timeout: 15000, polling: 50 });
    await waitLive(page, 25000);
    await closedAnswers(page, 1);
    const resumed = await turns(page);
    expect(resumed.length).toBe(2);
    expect(resumed[1].end).toMatch(/^\(error: .*restart/);
    // What was shown before the kill is still there, once (no gap, no duplicate).
    expect(resumed[1].body.startsWith(shown.trimEnd())).toBe(true);

    await page.fill('#prompt', 'again');
    await page.click('#send');
    await closedAnswers(page, 2, 20000);
    const shownTurns = await turns(page);
    expect(shownTurns.length).toBe(4);
    expect(shownTurns[3].body.trim()).toBe('one two three four five six seven eight nine ten');
    expect(shownTurns[3].end).toBe('');
    await second.stop('SIGTERM');

    const stored = exportSession(join(d.path, 'h.db'), links.session);
    const storedTurns = storedTurnsOf(stored);
    expect(storedTurns.length).toBe(shownTurns.length);
    expect(shownTurns.map((t) => ({ author: author(t.who), text: t.body.trim(), role: t.role, status: statusOf(t) }))).toEqual(
      storedTurns.map((t) => ({ author: t.author, text: t.text.trim(), role: t.role, status: t.status })),
    );
    await ctx.close();
  }, 45000);

  it('a browser and a native client in the same session see identical transcripts', async () => {
    const d = tempDir();
    dirs.push(d);
    const host = await startHost(rv, d.path, 'tr a-z A-Z');
    const { ctx, page } = await newPage('ada');
    await page.goto(host.links.participant);
    // Two native viewers join at the same time as the page: one with --once (it exits 0 when the
    // next turn to start ends: the prompt's user turn), one that stays until the host ends the
    // session (exit 0 then too) and so holds the whole transcript.
    const onceOut = join(d.path, 'native.json');
    const fullOut = join(d.path, 'native-full.json');
    const once = runJoin(host.links.viewer, ['--once', '--out', onceOut, '--name', 'nat']);
    const full = runJoin(host.links.viewer, ['--out', fullOut, '--name', 'nat2']);
    await waitLive(page);
    // Both native clients are in the session before the prompt starts a turn.
    await waitForPeers(page, 3);
    await page.fill('#prompt', 'hello from the browser');
    await page.click('#send');
    await closedAnswers(page, 1);
    expect(await once.exited, once.output()).toBe(0);
    const shownTurns = await turns(page);
    expect(shownTurns.length).toBe(2);
    expect(shownTurns[1].body.trim()).toBe('HELLO FROM THE BROWSER');
    const shown = shownTurns.map((t) => ({ author: author(t.who), text: t.body.trim(), role: t.role, status: statusOf(t) }));

    // The --once client: every turn it saw end is the browser's, byte for byte; a turn still
    // streaming when it left holds a prefix of the browser's text.
    const onceTurns = storedTurnsOf(JSON.parse(readFileSync(onceOut, 'utf8')));
    expect(onceTurns.length).toBeGreaterThanOrEqual(1);
    expect(onceTurns.length).toBeLessThanOrEqual(shown.length);
    onceTurns.forEach((t, i) => {
      expect(t.author).toBe(shown[i].author);
      expect(t.role).toBe(shown[i].role);
      if (t.status === 'streaming') {
        expect(i).toBe(onceTurns.length - 1);
        expect(shown[i].text.startsWith(t.text.trim())).toBe(true);
      } else {
        expect({ text: t.text.trim(), status: t.status }).toEqual({ text: shown[i].text, status: shown[i].status });
      }
    });
    expect(onceTurns[0]).toMatchObject({ author: 'ada', role: 'user', text: 'hello from the browser', status: 'done' });

    // The client that stayed: the whole transcript, identical.
    await host.stop('SIGTERM');
    expect(await full.exited, full.output()).toBe(0);
    const fullTurns = storedTurnsOf(JSON.parse(readFileSync(fullOut, 'utf8')));
    expect(shown).toEqual(fullTurns.map((t) => ({ author: t.author, text: t.text.trim(), role: t.role, status: t.status })));
    await ctx.close();
  }, 30000);

  async function waitForPeers(page: Page, n: number): Promise<void> {
    await page.waitForFunction((k) => Number(/(\d+) here/.exec(document.getElementById('peers')?.textContent ?? '')?.[1] ?? 0) >= k, n, {
      timeout: 15000,
    });
  }
});

interface StoredTurn {
  author: string;
  text: string;
  role: 'user' | 'assistant' | 'other';
  status: string;
}

// The turns of `tokencast export --format json` or `join --out x.json`.
function storedTurnsOf(doc: unknown): StoredTurn[] {
  const turns = (doc as { turns?: unknown }).turns;
  if (!Array.isArray(turns)) throw new Error(`no turns in ${JSON.stringify(doc).slice(0, 500)}`);
  return turns.map((t: { author: string; text: string; role: string; status: string }) => ({
    author: t.author,
    text: t.text,
    role: t.role === 'user' || t.role === 'assistant' ? t.role : 'other',
    status: t.status,
  }));
}
