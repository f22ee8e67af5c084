// End to end, the presenter view (/present.html#<viewer payload>) at projector size in Chromium,
// with a real rendezvous and host: it joins as a viewer and shows the streamed answer (Markdown,
// highlighted code), the head counts from peer_joined/peer_left, and the viewer link's QR code,
// which the native client (ZXing, `tokencast join IMAGE`) reads from a screenshot and joins with.
// q hides the QR code, d switches dark/light; a participant payload is refused. Opened by
// `tokencast host --present` (its address carries the moderation control), it removes a peer,
// whose reload is then refused, and accepts and rejects held prompts (--approve).
// With TOKENCAST_SCREENSHOTS=1 it writes docs/screenshots/presenter-view{,-dark}.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  explained,
  launchChromium,
  newPhonePage,
  requirePrerequisites,
  runJoin,
  startHost,
  startRendezvous,
  stopAll,
  tempDir,
  waitAnswers,
  waitLive,
  WEB_DIR,
  type Rendezvous,
} from './harness';

const missing = requirePrerequisites();
const PROJECTOR = { width: 1920, height: 1080 };

const ANSWER =
  'Light scatters off air molecules, **blue** more than red (Rayleigh scattering).\n\n' +
  'The strength goes as one over the wavelength to the fourth:\n\n' +
  '```python\ndef rayleigh(wavelength_nm):\n    # relative to 700 nm red light\n    return (700 / wavelength_nm) ** 4\n\nprint(rayleigh(450))  # about 5.8\n```\n\n' +
  'So at 450 nm the sky scatters almost six times as much blue as red.\n';

/** The presenter address of a viewer link: same base, /present.html instead of /j. */
const presenterUrl = (viewer: string) => viewer.replace(/\/j#/, '/present.html#');

describe.skipIf(missing.length > 0)('presenter view end to end', () => {
  let rv: Rendezvous;
  let browser: Browser;
  const dirs: { remove(): void }[] = [];

  beforeAll(async () => {
    rv = await startRendezvous();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    stopAll();
    for (const d of dirs) d.remove();
  });

  /** Polls `done` (which may throw to fail at once) until it holds. */
  const waitUntil = async (what: string, done: () => boolean, timeoutMs = 15000) => {
    const start = Date.now();
    while (!done()) {
      if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const counts = (page: Page, text: string) =>
    explained(page, page.waitForFunction((t) => document.getElementById('counts')?.textContent === t, text, { timeout: 20000 }));

  it('shows the answer, the counts and a QR code that joins as a viewer; q hides it, d switches theme', async () => {
    const d = tempDir();
    dirs.push(d);
    writeFileSync(join(d.path, 'answer.md'), ANSWER);
    const host = await startHost(rv, d.path, `sh -c "cat >/dev/null; cat '${d.path}/answer.md'"`, ['--title', 'Why is the sky blue?']);
    const ctx = await browser.newContext({ viewport: PROJECTOR, colorScheme: 'light' });
    const page = await ctx.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dl) => {
      dialogs.push(dl.message());
      void dl.dismiss();
    });
    await page.goto(presenterUrl(host.links.viewer));
    await waitLive(page);
    expect(new URL(page.url()).hash).toBe(''); // the address bar lost it; the page kept it
    expect(await page.evaluate(() => (window as any).tokencast.viewerLink())).toBe(host.links.viewer);
    expect(await page.textContent('#viewer-link')).toBe(host.links.viewer);
    expect(await page.textContent('#title')).toBe('Why is the sky blue?');
    // No prompt box, no participant link, nothing to type in.
    expect(await page.$$eval('textarea, input, form', (e) => e.length)).toBe(0);
    expect(await page.content()).not.toContain(host.links.participant.split('#')[1]);
    await counts(page, '0 watching · 0 participants');

    // A participant asks (the native client); the presenter counts it and shows the answer.
    const asker = runJoin(host.links.participant, ['--name', 'ada', '--prompt', 'Why is the sky blue?']);
    await counts(page, '0 watching · 1 participant');
    await waitAnswers(page, 1);
    const shown = await page.$eval('#transcript li.assistant .body', (b) => ({
      format: (b as HTMLElement).dataset.format,
      strong: b.querySelector('strong')?.textContent,
      keywords: [...b.querySelectorAll('pre .hljs-keyword')].map((k) => k.textContent),
    }));
    expect(shown).toEqual({ format: 'markdown', strong: 'blue', keywords: ['def', 'return'] });
    expect(await page.textContent('#transcript li.user .body')).toBe('Why is the sky blue?');
    // Big type for the back of the room.
    expect(await page.$eval('#transcript li.assistant .body p', (p) => parseFloat(getComputedStyle(p).fontSize))).toBeGreaterThanOrEqual(24);

    // The screenshot's QR code is the viewer link: the native client reads it and joins as a viewer.
    const shot = join(d.path, 'presenter.png');
    await page.screenshot({ path: shot });
    if (process.env.TOKENCAST_SCREENSHOTS) {
      const dir = join(WEB_DIR, '..', 'docs', 'screenshots');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'presenter-view.png'), readFileSync(shot));
    }
    const out = join(d.path, 'scanned.md');
    const scanner = runJoin(shot, ['--name', 'scanner', '--out', out]);
    await counts(page, '1 watching · 1 participant');
    await waitUntil('the QR join to write the answer', () => {
      if (scanner.proc.exitCode !== null) throw new Error(`the QR join exited ${scanner.proc.exitCode}: ${scanner.output()}`);
      return existsSync(out) && readFileSync(out, 'utf8').includes('almost six times');
    });
    scanner.proc.kill('SIGTERM');
    await counts(page, '0 watching · 1 participant'); // peer_left
    asker.proc.kill('SIGTERM');
    await counts(page, '0 watching · 0 participants');

    // q hides the QR code (the transcript takes the width) and shows it again; the hint says so.
    expect(await page.textContent('.present-keys')).toContain('QR code');
    await page.keyboard.press('q');
    expect(await page.isHidden('#qr')).toBe(true);
    expect(await page.evaluate(() => document.body.classList.contains('no-qr'))).toBe(true);
    await page.keyboard.press('q');
    expect(await page.isVisible('#qr')).toBe(true);

    // d switches to dark (from the light system setting) and back.
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(await background()).toBe('rgb(255, 255, 255)');
    await page.keyboard.press('d');
    expect(await background()).toBe('rgb(0, 0, 0)');
    if (process.env.TOKENCAST_SCREENSHOTS) {
      await page.screenshot({ path: join(WEB_DIR, '..', 'docs', 'screenshots', 'presenter-view-dark.png') });
    }
    await page.keyboard.press('d');
    expect(await background()).toBe('rgb(255, 255, 255)');
    expect(dialogs).toEqual([]);
    await ctx.close();
    await host.stop();
  }, 60000);

  it('follows a long answer to its end; hostile title and names stay text', async () => {
    const d = tempDir();
    dirs.push(d);
    const lines = Array.from({ length: 80 }, (_, i) => `${i + 1}. step number ${i + 1}`).join('\n');
    writeFileSync(join(d.path, 'long.md'), `${lines}\n\nThe last line.\n`);
    const evil = '<img src=x onerror=alert(1)>\u202Eevil';
    const host = await startHost(rv, d.path, `sh -c "cat >/dev/null; cat '${d.path}/long.md'"`, ['--title', evil]);
    const ctx = await browser.newContext({ viewport: PROJECTOR });
    const page = await ctx.newPage();
    await page.goto(presenterUrl(host.links.viewer));
    await waitLive(page);
    const asker = runJoin(host.links.participant, ['--name', '<b>ada</b>', '--prompt', 'a long one']);
    await waitAnswers(page, 1);
    // Hostile title and name stay text (bidi controls removed).
    expect(await page.textContent('#title')).toBe('<img src=x onerror=alert(1)>evil');
    expect(await page.textContent('#transcript li.user .who')).toBe('<b>ada</b> asks:');
    expect(await page.$$eval('img', (i) => i.map((x) => x.id))).toEqual(['qr']);
    // The page is taller than the screen and shows its end; the QR code stays in view.
    const view = await page.evaluate(() => {
      const last = [...document.querySelectorAll('#transcript li.assistant .body p')].pop()!.getBoundingClientRect();
      const qr = document.getElementById('qr')!.getBoundingClientRect();
      return { tall: document.body.scrollHeight > innerHeight * 2, lastShown: last.bottom <= innerHeight && last.top >= 0, qrShown: qr.top >= 0 && qr.bottom <= innerHeight };
    });
    expect(view).toEqual({ tall: true, lastShown: true, qrShown: true });
    asker.proc.kill('SIGTERM');
    await ctx.close();
    await host.stop();
  }, 30000);

  /** `tokencast host --present`: its presenter address (with the control) from the links file. */
  const presentingHost = async (dir: string, exec: string, extra: string[] = []) => {
    // No xdg-open from the host under test.
    delete process.env.DISPLAY;
    delete process.env.WAYLAND_DISPLAY;
    const host = await startHost(rv, dir, exec, ['--present', ...extra]);
    const presenter: string = JSON.parse(readFileSync(join(dir, 'links.json'), 'utf8')).presenter;
    expect(presenter).toMatch(/\/present#[A-Za-z0-9_-]{88}&control=[0-9]+\.[0-9a-f]{64}$/);
    return { host, presenter };
  };

  it('removes a peer from the presenter view (host --present); its reload is refused', async () => {
    const d = tempDir();
    dirs.push(d);
    const { host, presenter } = await presentingHost(d.path, `sh -c "cat >/dev/null; echo hi"`);
    const ctx = await browser.newContext({ viewport: PROJECTOR });
    const page = await ctx.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dl) => {
      dialogs.push(dl.message());
      void dl.accept();
    });
    await page.goto(presenter);
    await waitLive(page);
    expect(new URL(page.url()).hash).toBe(''); // the token left the address bar
    expect(await page.textContent('#viewer-link')).toBe(host.links.viewer); // the QR code has no token
    expect(await page.isVisible('#moderation')).toBe(true);
    expect(await page.content()).not.toContain(presenter.split('&control=')[1].split('.')[1]);

    const pam = await newPhonePage(browser, 'pam');
    await pam.page.goto(host.links.participant);
    await waitLive(pam.page);
    const vic = await newPhonePage(browser, 'vic');
    await vic.page.goto(host.links.viewer);
    await waitLive(vic.page);
    await explained(page, page.waitForSelector('button[aria-label="Remove pam"]', { timeout: 15000 }));
    await explained(page, page.waitForSelector('button[aria-label="Remove vic"]', { timeout: 15000 }));
    // This screen is not listed as a person to remove.
    expect(await page.$('button[aria-label="Remove presenter screen"]')).toBeNull();

    await page.click('button[aria-label="Remove pam"]');
    expect(dialogs).toEqual(['Remove pam from this session? Its rejoins are refused.']);
    await explained(pam.page, pam.page.waitForFunction(() => document.getElementById('notice')?.textContent === 'The host removed you from this session.', null, { timeout: 15000 }));
    await explained(page, page.waitForFunction(() => document.getElementById('moderation-result')?.textContent?.startsWith('removed pam'), null, { timeout: 15000 }));
    await explained(page, page.waitForFunction(() => !document.querySelector('button[aria-label="Remove pam"]'), null, { timeout: 15000 }));
    // Its reload presents the same certificate: refused.
    await pam.page.reload();
    await explained(pam.page, pam.page.waitForFunction(() => document.getElementById('status')?.textContent === 'the host refused the join', null, { timeout: 15000 }));
    expect(await vic.page.textContent('#status')).toBe('live');

    // m hides the panel (the projector shows the transcript only) and shows it again.
    await page.keyboard.press('m');
    expect(await page.isHidden('#moderation')).toBe(true);
    await page.keyboard.press('m');
    expect(await page.isVisible('#moderation')).toBe(true);
    for (const p of [pam, vic]) await p.ctx.close();
    await ctx.close();
    await host.stop();
  }, 60000);

  it('accepts and rejects held prompts from the presenter view (host --present --approve)', async () => {
    const d = tempDir();
    dirs.push(d);
    const { host, presenter } = await presentingHost(d.path, `sh -c "cat >/dev/null; echo accepted answer"`, ['--approve']);
    const ctx = await browser.newContext({ viewport: PROJECTOR });
    const page = await ctx.newPage();
    await page.goto(presenter);
    await waitLive(page);
    const heldIds = () => page.$$eval('#held button[aria-label^="Accept prompt "]', (b) => b.map((x) => x.getAttribute('aria-label')!.slice('Accept prompt '.length)));
    const asker = runJoin(host.links.participant, ['--name', 'ada', '--prompt', 'please answer']);
    await explained(page, page.waitForFunction(() => document.querySelectorAll('#held li').length === 1, null, { timeout: 20000 }));
    expect(await page.textContent('#held li .text')).toBe('ada: please answer');
    const [first] = await heldIds();
    await page.click(`button[aria-label="Accept prompt ${first}"]`);
    await waitAnswers(page, 1);
    expect(await page.textContent('#transcript li.user .body')).toBe('please answer');
    await explained(page, page.waitForFunction(() => document.querySelectorAll('#held li').length === 0, null, { timeout: 15000 }));
    asker.proc.kill('SIGTERM');

    const rejected = runJoin(host.links.participant, ['--name', 'bob', '--prompt', 'ignore me']);
    await explained(page, page.waitForFunction(() => document.querySelectorAll('#held li').length === 1, null, { timeout: 20000 }));
    const [second] = await heldIds();
    await page.click(`button[aria-label="Reject prompt ${second}"]`);
    await explained(page, page.waitForFunction(() => document.getElementById('moderation-result')?.textContent?.startsWith('declined prompt'), null, { timeout: 15000 }));
    await explained(page, page.waitForFunction(() => document.querySelectorAll('#held li').length === 0, null, { timeout: 15000 }));
    expect(await page.$$('#transcript li.user')).toHaveLength(1); // the rejected prompt never ran
    rejected.proc.kill('SIGTERM');
    await ctx.close();
    await host.stop();
  }, 60000);

  it('refuses a participant payload: no QR code, no join', async () => {
    const d = tempDir();
    dirs.push(d);
    const host = await startHost(rv, d.path, `sh -c "cat >/dev/null; echo hi"`);
    const ctx = await browser.newContext({ viewport: PROJECTOR });
    const page = await ctx.newPage();
    await page.goto(presenterUrl(host.links.participant));
    await explained(page, page.waitForFunction(() => !document.getElementById('notice')!.hidden, null, { timeout: 10000 }));
    expect(await page.textContent('#notice')).toContain('participant link');
    expect(await page.isHidden('#qr')).toBe(true);
    expect(await page.getAttribute('#qr', 'src')).toBeNull();
    expect(await page.textContent('#status')).toBe('no link');
    await ctx.close();
    await host.stop();
  }, 30000);
});
