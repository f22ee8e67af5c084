// End to end with the in-process model: `tokencast host --model-file` running the test suite's
// tiny GGUF model (random weights, LLaMA's real tokenizer, written by the C++ build:
// tests/support/make_tiny_gguf.py) streams to Debian's Chromium and to `tokencast join`, and the
// browser shows what the host stored, byte for byte.
//
// The tiny model's answers are noise, full of characters Markdown would act on, so the page's
// Markdown renderer is kept from loading here: the page then shows an answer as plain text (its
// documented fallback, web/src/ui/view.ts), whose textContent is the answer's bytes as
// received (bidi controls removed: neutralizeBidi).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  exportSession,
  explained,
  launchChromium,
  newPhonePage,
  requirePrerequisites,
  runJoin,
  startHost,
  startRendezvous,
  stopAll,
  tempDir,
  waitLive,
  WEB_DIR,
  type Rendezvous,
} from './harness';

// The build directory's models (tests/CMakeLists.txt), or TOKENCAST_TINY_MODEL_DIR.
const MODEL_DIR = process.env.TOKENCAST_TINY_MODEL_DIR
  ? resolve(WEB_DIR, process.env.TOKENCAST_TINY_MODEL_DIR)
  : resolve(WEB_DIR, '..', process.env.TOKENCAST_BUILD_DIR ?? 'build', 'tests', 'models');
const TINY = join(MODEL_DIR, 'tiny.gguf');
const TINY_THINK = join(MODEL_DIR, 'tiny-think.gguf');

const missing = requirePrerequisites();
if (!existsSync(TINY) || !existsSync(TINY_THINK)) {
  const what = `the tiny models (${MODEL_DIR}: build with llama.cpp, target tiny_models)`;
  if (process.env.CI || process.env.TOKENCAST_E2E_REQUIRED) throw new Error(`e2e prerequisites missing: ${what}`);
  missing.push(what);
}

const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

interface StoredTurn {
  author: string;
  role: string;
  status: string;
  text: string;
  thinking?: string;
}

function turnsOf(doc: unknown): StoredTurn[] {
  const turns = (doc as { turns?: unknown }).turns;
  if (!Array.isArray(turns)) throw new Error(`no turns in ${JSON.stringify(doc).slice(0, 500)}`);
  return turns as StoredTurn[];
}

describe.skipIf(missing.length > 0)('the in-process model, end to end', () => {
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

  // A page whose Markdown renderer cannot load: answers are shown as plain text.
  async function plainTextPage(name: string): Promise<{ page: Page; close(): Promise<void> }> {
    const { ctx, page } = await newPhonePage(browser, name);
    await page.route(/\/assets\/markdown-[^/]*\.js$/, (route) => route.abort());
    return { page, close: () => ctx.close() };
  }

  // Hosts `model`, joins a browser (participant) and a native client (viewer, staying until the
  // host ends), prompts from the browser while both watch, and returns what each has of the
  // answer once it ended, with what the host stored.
  async function answerEverywhere(model: string, prompt: string) {
    const d = tempDir();
    dirs.push(d);
    const host = await startHost(rv, d.path, '', [
      '--model-file', model,
      '--threads', '1',
      '--ctx', '512',
      '--max-tokens', '400',
      '--temperature', '0',
    ]);
    const { page, close } = await plainTextPage('ada');
    await page.goto(host.links.participant);
    await waitLive(page);
    const nativeOut = join(d.path, 'native.json');
    const native = runJoin(host.links.viewer, ['--out', nativeOut, '--name', 'nat']);
    // The native viewer is in before the prompt: both watch the answer stream live.
    await explained(
      page,
      page.waitForFunction(() => Number(/(\d+) here/.exec(document.getElementById('peers')?.textContent ?? '')?.[1] ?? 0) >= 2, null, {
        timeout: 15000,
      }),
    );
    // It streams: the page shows the answer while it is still open (recorded as it happens:
    // the tiny model is fast, a wait for the open state could miss it).
    await page.evaluate(() => {
      const w = window as unknown as { seenOpen: number };
      w.seenOpen = 0;
      new MutationObserver(() => {
        const open = document.querySelector('#transcript li.assistant.open');
        if (open && (open.textContent ?? '').length > 0) w.seenOpen += 1;
      }).observe(document.getElementById('transcript')!, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.fill('#prompt', prompt);
    await page.click('#send');
    const answer = '#transcript li.assistant';
    // Ended, with everything on screen.
    await explained(
      page,
      page.waitForFunction(
        (sel) => {
          const t = (window as unknown as { tokencast?: { rendered(): boolean } }).tokencast;
          return document.querySelectorAll(`${sel}:not(.open)`).length === 1 && !!t?.rendered();
        },
        answer,
        { timeout: 60000 },
      ),
    );
    const seenOpen = await page.evaluate(() => (window as unknown as { seenOpen: number }).seenOpen);
    const shown = await page.$eval(answer, (li) => ({
      format: (li.querySelector('.body') as HTMLElement).dataset.format,
      text: li.querySelector('.body')!.textContent ?? '',
      thought: li.querySelector('.thought')?.textContent ?? '',
      end: li.querySelector('.end')?.textContent ?? '',
    }));
    await close();
    await host.stop('SIGTERM');
    expect(await native.exited, native.output()).toBe(0);
    const joined = turnsOf(JSON.parse(readFileSync(nativeOut, 'utf8')));
    const stored = turnsOf(exportSession(join(d.path, 'h.db'), host.links.session));
    return { shown, seenOpen, joined, stored, hostOutput: host.output() };
  }

  it('streams the model\'s answer to a browser: shown byte for byte as the host stored it and join received it', async () => {
    const { shown, seenOpen, joined, stored, hostOutput } = await answerEverywhere(TINY, 'Say something, tiny model. ✓ é 日本');
    expect(stored.length, hostOutput).toBe(2);
    expect(seenOpen).toBeGreaterThan(0);
    const answer = stored[1];
    expect(answer).toMatchObject({ role: 'assistant', author: 'tokencast-tiny', status: 'done' });
    expect(answer.text.length).toBeGreaterThan(0);
    // The native viewer received exactly what the host stored ...
    expect(joined.map((t) => [t.role, t.status, t.text, t.thinking ?? ''])).toEqual(stored.map((t) => [t.role, t.status, t.text, t.thinking ?? '']));
    // ... and the browser shows exactly that.
    expect(shown).toEqual({ format: 'text', text: answer.text.replace(BIDI_CONTROLS, ''), thought: '', end: '' });
  }, 120000);

  it('streams the thinking of a model whose template opens <think>: shown as thinking, byte for byte', async () => {
    const { shown, seenOpen, joined, stored, hostOutput } = await answerEverywhere(TINY_THINK, 'Think first.');
    expect(stored.length, hostOutput).toBe(2);
    expect(seenOpen).toBeGreaterThan(0);
    const answer = stored[1];
    expect(answer).toMatchObject({ role: 'assistant', status: 'done', text: '' });
    expect((answer.thinking ?? '').length).toBeGreaterThan(0);
    expect(joined.map((t) => [t.role, t.status, t.text, t.thinking ?? ''])).toEqual(stored.map((t) => [t.role, t.status, t.text, t.thinking ?? '']));
    expect(shown).toEqual({ format: 'text', text: '', thought: answer.thinking!.replace(BIDI_CONTROLS, ''), end: '' });
  }, 120000);
});
