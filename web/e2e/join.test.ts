// End to end: the real rendezvous and host (tokencast binary) and the built web client in
// Debian's Chromium. Run by `npm test` after `npm run build`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  launchChromium,
  WEB_DIR,
  newPhonePage,
  requirePrerequisites,
  shownTurns,
  waitAnswers,
  waitLive,
  waitShown,
  startHost,
  startRendezvous,
  stopAll,
  tempDir,
  type Host,
  type Rendezvous,
} from './harness';

const missing = requirePrerequisites();

describe.skipIf(missing.length > 0)('web client end to end', () => {
  let rv: Rendezvous;
  let host: Host;
  let browser: Browser;
  const dirs: { remove(): void }[] = [];

  const newPage = (name: string) => newPhonePage(browser, name);

  const status = (page: Page) => page.textContent('#status');
  const turns = async (page: Page) => (await shownTurns(page)).map(({ who, body, open }) => ({ who, body, open }));
  const answersShown = (page: Page) => page.$$eval('#transcript > li.assistant:not(.open)', (l) => l.length);
  // Prompts and waits until the answer (the prompt upper-cased by the host's `tr`) is shown.
  const ask = async (page: Page, prompt: string) => {
    const n = await answersShown(page);
    await page.fill('#prompt', prompt);
    await page.click('#send');
    await waitAnswers(page, n + 1, prompt.toUpperCase());
  };
  // A file the "model" scripts below wait for (instead of sleeping): the test creates it when it
  // has seen what it needed; afterAll opens every gate, so no script is left waiting.
  const gates: string[] = [];
  const gate = (dir: string, name: string) => {
    const path = join(dir, name);
    gates.push(path);
    return { wait: `while [ ! -e '${path}' ]; do sleep 0.05; done`, open: () => writeFileSync(path, '') };
  };

  // A counter of the rendezvous' /metrics.
  const counter = async (name: string) => {
    const text = await (await fetch(`${rv.base}/metrics`)).text();
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    if (!m) throw new Error(`no ${name} in /metrics`);
    return Number(m[1]);
  };

  beforeAll(async () => {
    const d = tempDir();
    dirs.push(d);
    rv = await startRendezvous();
    host = await startHost(rv, d.path, 'tr a-z A-Z');
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const g of gates) writeFileSync(g, '');
    await browser?.close();
    stopAll();
    for (const d of dirs) d.remove();
  });

  it('a participant joins from the link, prompts, and sees the answer stream in', async () => {
    const { ctx, page } = await newPage('ada');
    const joins = await counter('tokencast_rendezvous_joins_total');
    const inUpgrade = await counter('tokencast_rendezvous_joins_in_upgrade_total');
    await page.goto(host.links.participant);
    // The secret leaves the address bar at once.
    expect(new URL(page.url()).hash).toBe('');
    expect(page.url()).toBe(`${rv.base}/j`);
    await waitLive(page);
    // The page's early socket joined the room in its upgrade (the join subprotocol): one join,
    // and no JOIN message round trip.
    expect(await counter('tokencast_rendezvous_joins_total')).toBe(joins + 1);
    expect(await counter('tokencast_rendezvous_joins_in_upgrade_total')).toBe(inUpgrade + 1);
    expect(await page.isVisible('#compose')).toBe(true);
    await page.fill('#prompt', 'hello **world**, ça va?');
    await page.click('#send');
    await waitAnswers(page, 1, 'HELLO WORLD, çA VA?');
    const t = await turns(page);
    expect(t[0]).toMatchObject({ who: 'ada asks:', body: 'hello **world**, ça va?' });
    expect(t[1].who).toMatch(/ answers:$/);
    expect(t[1].body.trim()).toBe('HELLO WORLD, çA VA?');
    // Markdown of the answer is rendered.
    expect(await page.$$eval('#transcript li.assistant strong', (s) => s.map((x) => x.textContent))).toEqual(['WORLD']);
    expect(await page.textContent('#peers')).toMatch(/\d+ here/);
    await ctx.close();
  });

  it('a viewer sees the transcript (catch-up) and cannot prompt', async () => {
    const { ctx, page } = await newPage('bob');
    await page.goto(host.links.viewer);
    await waitLive(page);
    await waitShown(page);
    expect(await page.isHidden('#compose')).toBe(true);
    const t = await turns(page);
    expect(t.length).toBeGreaterThanOrEqual(2);
    expect(t[0].who).toBe('ada asks:');
    expect(t.every((x) => x.body.trim() !== '')).toBe(true);
    await ctx.close();
  });

  it('a reload shows the stored transcript at once and resumes from the last seq', async () => {
    const { ctx, page } = await newPage('ada');
    await page.goto(host.links.participant);
    await waitLive(page);
    await waitShown(page);
    await ask(page, 'before reload');
    const before = await turns(page);
    expect(before.length % 2).toBe(0); // each prompt and its answer
    const seqBefore = await page.evaluate(() => (window as any).tokencast.position().last_seq.toString());
    // Hold the rendezvous connection so the page cannot reach the host yet.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    await page.routeWebSocket(/\/ws$/, async (ws) => {
      await released;
      ws.connectToServer();
    });
    await page.reload();
    expect(new URL(page.url()).hash).toBe('');
    await page.waitForFunction((n) => document.querySelectorAll('#transcript > li').length === n, before.length, { timeout: 10000 });
    // Shown at once, every body with its text (as text until the Markdown renderer is in) ...
    const atOnce = await turns(page);
    expect(atOnce.map((x) => x.body.trim() !== '')).toEqual(before.map(() => true));
    // ... and, once it is, just as before the reload; all while the host is still out of reach.
    await page.waitForFunction(() => (window as any).tokencast.rendered(), null, { timeout: 10000 });
    expect(await status(page)).not.toBe('live');
    expect(await turns(page)).toEqual(before);
    expect(await page.evaluate(() => (window as any).tokencast.position().last_seq.toString())).toBe(seqBefore);
    release();
    await waitLive(page);
    // Caught up: no duplicates, and the session goes on.
    await waitShown(page);
    expect(await turns(page)).toEqual(before);
    await page.fill('#prompt', 'again');
    await page.press('#prompt', 'Enter');
    await waitAnswers(page, before.length / 2 + 1, 'AGAIN');
    const after = await turns(page);
    expect(after.length).toBe(before.length + 2);
    expect(after[after.length - 1].body.trim()).toBe('AGAIN');
    // Another tab of the same browser, without a link, lists the stored session offline.
    const other = await ctx.newPage();
    await other.goto(`${rv.base}/j`);
    await other.waitForSelector('#history li button');
    expect(await other.isVisible('#join')).toBe(true);
    await other.click('#history li button');
    await other.waitForFunction((n) => document.querySelectorAll('#transcript > li').length === n, after.length);
    expect(await other.isHidden('#compose')).toBe(true);
    await ctx.close();
  });

  it('a dropped link resumes with no gap and no duplicate', async () => {
    const { ctx, page } = await newPage('ada');
    await page.goto(host.links.participant);
    await waitLive(page);
    // The whole transcript, on screen, with this test's own answer last.
    await waitShown(page);
    await ask(page, 'before drop');
    const before = await turns(page);
    expect(before.every((x) => !x.open && x.body.trim() !== '')).toBe(true);
    const inUpgrade = await counter('tokencast_rendezvous_joins_in_upgrade_total');
    // The status as the drop left it (read in the same task, before any reconnect can run).
    expect(await page.evaluate(() => ((window as any).tokencast.drop(), document.getElementById('status')?.textContent))).not.toBe('live');
    await waitLive(page);
    // The reconnect's own socket joined in its upgrade too.
    expect(await counter('tokencast_rendezvous_joins_in_upgrade_total')).toBeGreaterThan(inUpgrade);
    // Resumed: the same transcript (nothing missing, nothing twice), then the session goes on.
    await waitShown(page);
    expect(await turns(page)).toEqual(before);
    await ask(page, 'after drop');
    const after = await turns(page);
    expect(after.length).toBe(before.length + 2);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after[after.length - 1].body.trim()).toBe('AFTER DROP');
    await ctx.close();
  });

  it('an answer streams in live (open turn, partial Markdown), then ends', async () => {
    const d = tempDir();
    dirs.push(d);
    // The "model": ignores the prompt, writes part of an answer, waits until the test has seen
    // it (the gate file), writes the rest.
    const shots = !!process.env.TOKENCAST_SCREENSHOTS;
    const rest = gate(d.path, 'rest');
    const script = join(d.path, 'answer.sh');
    writeFileSync(
      script,
      [
        'cat >/dev/null',
        "printf '## A day in Lisbon\\n\\n'",
        "printf '1. **Morning**: coffee and a *pastel de nata* in Belém, then the Jerónimos Monastery.\\n'",
        "printf '2. **Noon**: tram 28 up to Alfama; lunch with a view from the `miradouro`.\\n'",
        rest.wait,
        "printf '3. **Evening**: sunset at the river, dinner in Bairro Alto.\\n'",
      ].join('\n'),
    );
    const streamer = await startHost(rv, d.path, `sh ${script}`, ['--title', 'Weekend trip']);
    const { ctx, page } = await newPage('ada');
    await page.goto(streamer.links.participant);
    await waitLive(page);
    await page.fill('#prompt', 'Plan a day in Lisbon for us, please.');
    await page.click('#send');
    // Open, with the first part on screen as Markdown.
    await page.waitForFunction(
      () => {
        const body = document.querySelector<HTMLElement>('#transcript li.assistant.open .body');
        return !!body && body.dataset.format === 'markdown' && /Noon/.test(body.textContent ?? '') && (window as any).tokencast.rendered();
      },
      null,
      { timeout: 15000 },
    );
    const mid = await page.$eval('#transcript li.assistant .body', (b) => b.textContent ?? '');
    expect(mid).toContain('Morning');
    expect(mid).not.toContain('Evening');
    expect(await page.$$eval('#transcript li.assistant h2', (h) => h.map((x) => x.textContent))).toEqual(['A day in Lisbon']);
    expect(await page.isEnabled('#cancel')).toBe(true);
    expect(await page.textContent('#title')).toBe('Weekend trip');
    if (shots) {
      const docs = join(WEB_DIR, '..', 'docs');
      await page.emulateMedia({ colorScheme: 'light' });
      await page.screenshot({ path: join(docs, 'web-light.png') });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: join(docs, 'web-dark.png') });
    }
    rest.open();
    await waitAnswers(page, 1);
    expect(await page.textContent('#transcript li.assistant .body')).toContain('Evening');
    expect(await page.isEnabled('#cancel')).toBe(false);
    await ctx.close();
  }, 30000);

  it('a participant stops an answer mid-stream', async () => {
    const d = tempDir();
    dirs.push(d);
    // The "model" would write the rest only when the test ends: stopped before that.
    const rest = gate(d.path, 'rest');
    const slow = await startHost(rv, d.path, `cat >/dev/null; printf 'first words'; ${rest.wait}; printf ' never shown'`);
    const { ctx, page } = await newPage('ada');
    await page.goto(slow.links.participant);
    await waitLive(page);
    await page.fill('#prompt', 'go');
    await page.click('#send');
    await page.waitForFunction(() => /first words/.test(document.querySelector('#transcript li.assistant.open')?.textContent ?? ''), null, {
      timeout: 15000,
    });
    await page.click('#cancel');
    await waitAnswers(page, 1);
    expect(await page.textContent('#transcript li.assistant .end')).toMatch(/^\(cancelled/);
    expect(await page.textContent('#transcript li.assistant .body')).not.toContain('never shown');
    await slow.stop('SIGKILL');
    await ctx.close();
  });

  it('hostile model output is rendered inert', async () => {
    const d = tempDir();
    dirs.push(d);
    const evil = await startHost(rv, d.path, `printf '<img src=x onerror=alert(1)> [x](javascript:alert(2)) \\342\\200\\256gnp.exe'`);
    const { ctx, page, dialogs } = await newPage('eve');
    await page.goto(evil.links.participant);
    await waitLive(page);
    await page.fill('#prompt', 'anything');
    await page.click('#send');
    await waitAnswers(page, 1);
    const body = await page.$eval('#transcript li.assistant .body', (b) => ({
      text: b.textContent ?? '',
      imgs: b.querySelectorAll('img').length,
      handlers: [...b.querySelectorAll('*')].some((el) => [...el.attributes].some((a) => a.name.startsWith('on'))),
      hrefs: [...b.querySelectorAll('a')].map((a) => a.getAttribute('href')),
    }));
    expect(body.imgs).toBe(0);
    expect(body.handlers).toBe(false);
    expect(body.text).toContain('<img src=x onerror=alert(1)>');
    expect(body.hrefs.every((h) => h === null || !/^javascript:/i.test(h))).toBe(true);
    expect(body.text).not.toContain('\u202e');
    expect(await page.$$eval('img', (i) => i.length)).toBe(0);
    // The host ending the session is reported as such.
    await evil.stop('SIGTERM');
    await page.waitForFunction(() => /ended the session/.test(document.getElementById('notice')?.textContent ?? ''), null, {
      timeout: 15000,
    });
    // No script ran from the answer, by the time the page has heard the host leave.
    expect(dialogs).toEqual([]);
    await ctx.close();
  });

  it('a malformed link and a link nobody answers get clear messages', async () => {
    const { ctx, page } = await newPage('zed');
    await page.goto(`${rv.base}/j#AQAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyVDuS_xCVURR2rcg2nbbdyTNmWhGXjdoUBO4QZsqVW`);
    expect(await page.textContent('#notice')).toMatch(/invite link is not valid/);
    expect(await page.isVisible('#join')).toBe(true);
    // Well-formed, but no host is in that room.
    await page.goto(`${rv.base}/j#AQAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyVDuS_xCVURR2rcg2nbbdyTNmWhGXjdoUBO4QZsqVWd`);
    await page.waitForFunction(
      () => /invite link invalid or expired, or the host is not running/.test(document.getElementById('notice')?.textContent ?? ''),
      null,
      { timeout: 20000 },
    );
    await ctx.close();
  }, 30000);
});
