// End to end: the host page (/host) in Debian's Chromium with a real model server, llama.cpp's
// llama-server (the build of scripts/build-llama) serving the tests' tiny generated model and
// allowing the page's origin with --cors-origins, as docs/web.md advises. A browser viewer and
// `tokencast join` receive every answer byte for byte as the host page holds and shows it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  explained,
  launchChromium,
  newPhonePage,
  requirePrerequisites,
  runJoin,
  shownTurns,
  startRendezvous,
  stopAll,
  tempDir,
  waitLive,
  waitShown,
  type Rendezvous,
} from './harness';
import { findLlamaBuild, makeTinyModel, startLlamaServer, type LlamaServer } from './llama-server';

const missing = requirePrerequisites();
const llama = findLlamaBuild();
if (!llama && (process.env.CI || process.env.TOKENCAST_E2E_REQUIRED)) {
  throw new Error('e2e prerequisites missing: llama-server (run scripts/build-llama)');
}
const skipReason = missing.length
  ? ` (skipped: ${missing.join(', ')} missing)`
  : !llama
    ? ' (skipped: no llama-server: scripts/build-llama builds it into ~/.cache/tokencast, or set TOKENCAST_LLAMA_DIR)'
    : '';

interface RawTurn {
  role: string;
  author: string;
  text: string;
  open: boolean;
}
type Hooks = { tokencastHost?: { online(): boolean; generating(): boolean; head(): string; links: { viewer: string }; turns(): RawTurn[] } };

describe.skipIf(skipReason !== '')(`hosting from a browser tab with llama-server as the model${skipReason}`, () => {
  let rv: Rendezvous;
  let server: LlamaServer;
  let browser: Browser;
  const dir = tempDir();

  beforeAll(async () => {
    rv = await startRendezvous();
    const model = join(dir.path, 'tiny-text.gguf');
    makeTinyModel(llama!, model);
    // Only the page's origin is allowed: the fix docs/web.md gives for a server that limits
    // origins (llama-server's default, '*', would allow it too).
    server = await startLlamaServer(llama!, model, ['--cors-origins', rv.base]);
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
    stopAll();
    dir.remove();
  });

  const hostTurns = (page: Page) => page.evaluate(() => (window as unknown as Hooks).tokencastHost!.turns());
  const viewerTurns = (page: Page) => page.evaluate(() => (window as unknown as { tokencast: { turns(): RawTurn[] } }).tokencast.turns());

  it('streams llama-server answers to a browser viewer and tokencast join byte for byte', async () => {
    const ctx = await browser.newContext();
    const hostPage = await ctx.newPage();
    hostPage.on('dialog', (d) => void d.accept());
    try {
      await hostPage.goto(`${rv.base}/host`);
      await hostPage.fill('#model-url', server.baseUrl);
      await hostPage.fill('#session-title', 'llama from a tab');
      await hostPage.click('#start');
      await explained(hostPage, hostPage.waitForFunction(() => (window as unknown as Hooks).tokencastHost?.online() === true, null, { timeout: 15000 }));
      const links = await hostPage.evaluate(() => (window as unknown as Hooks).tokencastHost!.links);

      const viewer = await newPhonePage(browser, 'vic');
      await viewer.page.goto(links.viewer);
      await waitLive(viewer.page);
      const out = join(dir.path, 'native.json');
      const native = runJoin(links.viewer, ['--out', out, '--name', 'nat']);
      await hostPage.waitForFunction(() => document.querySelectorAll('#peer-list > li').length === 2, null, { timeout: 20000 });

      // Two prompts: the second is answered with the first exchange as history.
      for (const [i, q] of ['Say something. ✓ é', 'and once more, with 你好?'].entries()) {
        await hostPage.fill('#prompt', q);
        await hostPage.click('#send');
        await explained(
          hostPage,
          hostPage.waitForFunction(
            (k) => {
              const h = (window as unknown as Hooks).tokencastHost!;
              const t = h.turns();
              return t.length === 2 * k && !t[2 * k - 1].open && !h.generating();
            },
            i + 1,
            { timeout: 60000 },
          ),
        );
      }
      const held = await hostTurns(hostPage);
      expect(held.map((t) => t.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
      const answers = [held[1], held[3]];
      for (const a of answers) {
        expect(a.author).toBe('default'); // the model name the page asked for
        expect(a.text.length).toBeGreaterThan(0); // a real answer, whatever its words
      }
      // The host page ended both answers as done (no error note).
      const hostShown = await shownTurns(hostPage);
      expect(hostShown[1].end).not.toMatch(/error|could not/);
      expect(hostShown[3].end).not.toMatch(/error|could not/);

      // The browser viewer: the same bytes, and the same on screen.
      const head = await hostPage.evaluate(() => (window as unknown as Hooks).tokencastHost!.head());
      await viewer.page.waitForFunction(
        (h) => (window as unknown as { tokencast: { position(): { last_seq: bigint } } }).tokencast.position().last_seq.toString() === h,
        head,
        { timeout: 15000 },
      );
      await waitShown(viewer.page);
      expect(await viewerTurns(viewer.page)).toEqual(held);
      const trim = (ts: { body: string; role: string }[]) => ts.map((t) => ({ body: t.body.trim(), role: t.role }));
      expect(trim(await shownTurns(viewer.page))).toEqual(trim(hostShown));

      // tokencast join: its file after the session ends holds the same text, byte for byte.
      await hostPage.click('#end');
      expect(await native.exited, native.output()).toBe(0);
      const stored = (JSON.parse(readFileSync(out, 'utf8')) as { turns: { role: string; text: string; status: string }[] }).turns;
      expect(stored.map((t) => ({ role: t.role, text: t.text }))).toEqual(held.map((t) => ({ role: t.role, text: t.text })));
      expect(stored.map((t) => t.status)).toEqual(['done', 'done', 'done', 'done']);
      await viewer.ctx.close();
    } finally {
      await ctx.close();
    }
  }, 150_000);
});
