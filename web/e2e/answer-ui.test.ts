// End to end, the answer's and the page's tools in Chromium (real rendezvous and host): code
// blocks highlighted once complete, their copy buttons, the screen kept awake while an answer
// streams, the viewer link's copy button (none for a participant), the people list's names, and a
// reasoning model's thinking in a collapsed block above its answer.
// With TOKENCAST_SCREENSHOTS=1 it writes docs/screenshots/phone-view.png (scripts/screenshots).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  explained,
  launchChromium,
  newPhonePage,
  requirePrerequisites,
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

const GREET = 'def greet(name):\n    # say hello\n    return f"hello {name}"\n';

describe.skipIf(missing.length > 0)('answer tools end to end', () => {
  let rv: Rendezvous;
  let browser: Browser;
  const dirs: { remove(): void }[] = [];
  const gates: string[] = [];

  beforeAll(async () => {
    rv = await startRendezvous();
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const g of gates) writeFileSync(g, '');
    await browser?.close();
    stopAll();
    for (const d of dirs) d.remove();
  });

  const awake = (page: Page) => page.evaluate(() => (window as any).tokencast.screenAwake() as boolean);
  const clipboard = (page: Page) => page.evaluate(() => navigator.clipboard.readText());

  it('highlights a code block once complete, copies it, and keeps the screen awake while streaming', async () => {
    const d = tempDir();
    dirs.push(d);
    const rest = join(d.path, 'rest');
    gates.push(rest);
    // The "model": a complete Python block, then a shell block it leaves open until the test has
    // looked (the gate file), then closes it.
    writeFileSync(join(d.path, 'part1.md'), `A function to greet someone:\n\n\`\`\`python\n${GREET}\`\`\`\n\nRun it with:\n\n\`\`\`sh\nfor n in ada bob; do\n  python3 -c "from greet import greet; print(greet('$n'))"\n`);
    writeFileSync(join(d.path, 'part2.md'), 'done\n```\n\nThat prints one greeting per name.\n');
    const script = join(d.path, 'answer.sh');
    writeFileSync(script, `cat >/dev/null; cat '${d.path}/part1.md'; while [ ! -e '${rest}' ]; do sleep 0.05; done; cat '${d.path}/part2.md'\n`);
    const host = await startHost(rv, d.path, `sh ${script}`, ['--title', 'Python help']);
    const { ctx, page } = await newPhonePage(browser, 'ada');
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write', 'screen-wake-lock']);
    await page.goto(host.links.participant);
    await waitLive(page);
    await page.fill('#prompt', 'How do I greet my friends in Python?');
    await page.click('#send');
    // Mid-answer: the complete block is highlighted, the open one is still plain.
    await explained(
      page,
      page.waitForFunction(
        () => {
          const pres = document.querySelectorAll<HTMLElement>('#transcript li.assistant.open pre');
          return pres.length === 2 && pres[0].dataset.highlight === 'done' && (window as any).tokencast.rendered();
        },
        null,
        { timeout: 15000 },
      ),
    );
    const [first, second] = await page.$$eval('#transcript li.assistant pre', (pres) =>
      pres.map((p) => ({ state: p.dataset.highlight, keywords: [...p.querySelectorAll('.hljs-keyword')].map((k) => k.textContent) })),
    );
    expect(first.keywords).toEqual(['def', 'return']);
    expect(second).toEqual({ state: 'pending', keywords: [] });
    // The screen stays on while it streams (Chromium grants the wake lock to this context).
    await page.waitForFunction(() => (window as any).tokencast.screenAwake(), null, { timeout: 10000 });
    if (process.env.TOKENCAST_SCREENSHOTS) {
      const dir = join(WEB_DIR, '..', 'docs', 'screenshots');
      mkdirSync(dir, { recursive: true });
      await page.emulateMedia({ colorScheme: 'light' });
      await page.screenshot({ path: join(dir, 'phone-view.png') });
    }
    // The copy button copies the code exactly.
    await page.click('#transcript li.assistant .code:first-of-type button.copy-code');
    await page.waitForFunction(() => document.querySelector('#transcript li.assistant .code button.copy-code')?.textContent === 'Copied');
    expect(await clipboard(page)).toBe(GREET);
    writeFileSync(rest, '');
    await waitAnswers(page, 1);
    // Ended: the last block is highlighted too, and the screen may sleep again.
    expect(await page.$$eval('#transcript li.assistant pre', (pres) => pres.map((p) => p.dataset.highlight))).toEqual(['done', 'done']);
    expect(await page.$$eval('#transcript li.assistant pre:last-of-type .hljs-keyword', (k) => k.map((x) => x.textContent))).toContain('for');
    await page.waitForFunction(() => !(window as any).tokencast.screenAwake(), null, { timeout: 10000 });
    expect(await awake(page)).toBe(false);
    // A participant link is never offered for sharing.
    expect(await page.isHidden('#invite')).toBe(true);
    expect(await page.$$eval('#invite button', (b) => b.length)).toBe(0);

    // A viewer: the copy button gives the viewer link; the people list names everyone.
    const viewer = await newPhonePage(browser, 'bob');
    await viewer.ctx.grantPermissions(['clipboard-read', 'clipboard-write']);
    await viewer.page.goto(host.links.viewer);
    await waitLive(viewer.page);
    expect(new URL(viewer.page.url()).hash).toBe(''); // the address bar lost it; the page kept it
    await viewer.page.click('#invite button.copy-link');
    await viewer.page.waitForFunction(() => document.querySelector('#invite button.copy-link')?.textContent === 'Copied');
    expect(await clipboard(viewer.page)).toBe(host.links.viewer);
    await viewer.page.click('#people summary');
    await viewer.page.waitForFunction(() => document.querySelectorAll('#people-list li').length === 2);
    const names = await viewer.page.$$eval('#people-list li', (l) => l.map((x) => x.textContent));
    expect(names.sort()).toEqual(['ada can ask', 'bob watching, you']);
    expect(await viewer.page.isVisible('#people-list')).toBe(true);
    await viewer.ctx.close();
    await ctx.close();
  }, 45000);

  it('keeps hostile code blocks and language names inert', async () => {
    const d = tempDir();
    dirs.push(d);
    writeFileSync(
      join(d.path, 'evil.md'),
      '```js" onmouseover="alert(1)\n<img src=x onerror=alert(1)></code></pre><script>alert(2)</script>\n```\n\n```html\n<img src=x onerror=alert(3)><span class="notice">x</span>\n```\n',
    );
    const host = await startHost(rv, d.path, `sh -c "cat >/dev/null; cat '${d.path}/evil.md'"`);
    const { ctx, page, dialogs } = await newPhonePage(browser, 'eve');
    await page.goto(host.links.participant);
    await waitLive(page);
    await page.fill('#prompt', 'anything');
    await page.click('#send');
    await waitAnswers(page, 1);
    const shown = await page.$eval('#transcript li.assistant .body', (b) => ({
      text: b.textContent ?? '',
      elements: [...b.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()).filter((t) => !['div', 'pre', 'code', 'span', 'button'].includes(t)),
      attributes: [...b.querySelectorAll('*')].flatMap((e) => [...e.attributes].map((a) => `${a.name}=${a.value}`)),
      states: [...b.querySelectorAll('pre')].map((p) => (p as HTMLElement).dataset.highlight),
    }));
    expect(shown.elements).toEqual([]);
    expect(shown.text).toContain('<img src=x onerror=alert(1)></code></pre><script>alert(2)</script>');
    expect(shown.text).toContain('<img src=x onerror=alert(3)><span class="notice">x</span>');
    for (const a of shown.attributes) {
      expect(a).toMatch(/^(class=(code|copy-code|hljs|language-html hljs|(hljs-[a-z_-]+ ?)+)|type=button|aria-label=copy this code|data-highlight=(done|plain))$/);
    }
    // The odd language name was dropped by the sanitizer (the attributes above): the first block's
    // language is guessed (HTML here), the second's is named.
    expect(shown.states).toHaveLength(2);
    expect(shown.attributes.filter((a) => a.startsWith('class=language-'))).toEqual(['class=language-html hljs']);
    expect(await page.$$eval('img, script:not([src])', (i) => i.length)).toBeLessThanOrEqual(1); // only the inline early-socket script
    expect(dialogs).toEqual([]);
    await ctx.close();
  }, 30000);
  it('shows a reasoning model\'s thinking live, collapsed above its answer', async () => {
    const d = tempDir();
    dirs.push(d);
    const rest = join(d.path, 'rest');
    gates.push(rest);
    // The "model" thinks inline (<think>, split by the host), waits for the gate, then answers.
    const script = join(d.path, 'think.sh');
    writeFileSync(script, `cat >/dev/null; printf '<think>\\nFirst, <b>add</b> them.'; while [ ! -e '${rest}' ]; do sleep 0.05; done; printf ' Four.</think>\\n\\nIt is **4**.'\n`);
    const host = await startHost(rv, d.path, `sh ${script}`);
    const { ctx, page, dialogs } = await newPhonePage(browser, 'ada');
    await page.goto(host.links.participant);
    await waitLive(page);
    await page.fill('#prompt', '2+2?');
    await page.click('#send');
    const block = '#transcript li.assistant details.thinking';
    await explained(page, page.waitForSelector(`${block}.live`, { timeout: 15000 }));
    expect(await page.$eval(block, (b) => ({ open: (b as HTMLDetailsElement).open, summary: b.querySelector('summary')!.textContent }))).toEqual({
      open: false,
      summary: 'Thinking…',
    });
    await page.click(`${block} summary`); // the reader opens it and watches
    await page.waitForFunction((sel) => document.querySelector(`${sel} .thought`)?.textContent === 'First, <b>add</b> them.', block);
    expect(await page.isVisible(`${block} .thought`)).toBe(true);
    writeFileSync(rest, '');
    await waitAnswers(page, 1);
    const shown = await page.$eval('#transcript li.assistant', (li) => ({
      order: [...li.children].map((c) => c.className),
      thought: li.querySelector('.thought')!.textContent,
      live: li.querySelector('details.thinking')!.classList.contains('live'),
      answer: li.querySelector('.body')!.textContent?.trim(),
      bold: li.querySelectorAll('.thought b').length,
    }));
    expect(shown.order.indexOf('thinking')).toBeLessThan(shown.order.indexOf('body'));
    expect(shown).toMatchObject({ thought: 'First, <b>add</b> them. Four.', live: false, answer: 'It is 4.', bold: 0 });
    expect(dialogs).toEqual([]);
    await ctx.close();
  }, 30000);
});
