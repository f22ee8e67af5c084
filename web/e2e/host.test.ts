// End to end: a session hosted by the host page (/host) in Debian's Chromium, its model the
// tests' own SSE server, streaming to a browser viewer and to `tokencast join`, byte for byte;
// then the host tab reloaded mid-answer, and everyone resuming with no gap and no duplicate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { ed25519 } from '@noble/curves/ed25519.js';
import { formatInviteLink } from '../src/protocol/invite';
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
  TOKENCAST_BIN,
  waitAnswers,
  waitLive,
  type Rendezvous,
} from './harness';
import { answerFor, startModelServer, type ModelServer } from './model-server';

const missing = requirePrerequisites();

interface HostHooks {
  links: { viewer: string; participant: string };
  online(): boolean;
  head(): string;
  peers(): number;
  generating(): boolean;
  keyKind: string;
}

describe.skipIf(missing.length > 0)('hosting from a browser tab', () => {
  let rv: Rendezvous;
  let model: ModelServer;
  let browser: Browser;
  const dirs: { remove(): void }[] = [];

  beforeAll(async () => {
    rv = await startRendezvous();
    model = await startModelServer();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await model?.close();
    stopAll();
    for (const d of dirs) d.remove();
  });

  const hooks = (page: Page) => page.evaluate(() => {
    const h = (window as unknown as { tokencastHost: HostHooks }).tokencastHost;
    return { links: h.links, head: h.head(), peers: h.peers(), keyKind: h.keyKind };
  });
  const waitOnline = (page: Page) =>
    explained(page, page.waitForFunction(() => (window as unknown as { tokencastHost?: HostHooks }).tokencastHost?.online() === true, null, { timeout: 15000 }));
  const waitPeers = (page: Page, n: number) =>
    page.waitForFunction((k) => (window as unknown as { tokencastHost?: HostHooks }).tokencastHost?.peers() === k, n, { timeout: 20000 });
  const turns = async (page: Page) => (await shownTurns(page)).map(({ body, role, open }) => ({ body: body.trim(), role, open }));
  const storedTurns = (file: string) =>
    (JSON.parse(readFileSync(file, 'utf8')) as { turns: { text: string; role: string; status: string }[] }).turns.map((t) => ({
      body: t.text.trim(),
      role: t.role,
      status: t.status,
    }));

  it('streams to a browser viewer and to tokencast join, and survives a reload of the host tab', async () => {
    const d = tempDir();
    dirs.push(d);
    const hostCtx = await browser.newContext();
    const hostPage = await hostCtx.newPage();
    hostPage.on('dialog', (dlg) => void dlg.accept());
    await hostPage.goto(`${rv.base}/host`);
    await hostPage.fill('#model-url', model.baseUrl);
    await hostPage.fill('#session-title', 'from a tab');
    await hostPage.click('#start');
    await waitOnline(hostPage);
    const { links, keyKind } = await hooks(hostPage);
    expect(keyKind).toBe('webcrypto'); // Chromium: a non-extractable Ed25519 key

    const viewer = await newPhonePage(browser, 'vic');
    await viewer.page.goto(links.viewer);
    await waitLive(viewer.page);
    const participant = await newPhonePage(browser, 'pam');
    await participant.page.goto(links.participant);
    await waitLive(participant.page);
    const out = join(d.path, 'native.json');
    const native = runJoin(links.viewer, ['--out', out, '--name', 'nat']);
    await waitPeers(hostPage, 3);

    // 1. An answer streams to both, byte for byte.
    await hostPage.fill('#prompt', 'why is the sky blue?');
    await hostPage.click('#send');
    await waitAnswers(viewer.page, 1, answerFor('why is the sky blue?'));
    // A browser participant asks too; everyone sees its prompt and the answer.
    await participant.page.fill('#prompt', 'what about mars?');
    await participant.page.click('#send');
    await waitAnswers(viewer.page, 2, answerFor('what about mars?'));
    await waitAnswers(participant.page, 2, answerFor('what about mars?'));

    // 2. Mid-answer, the host tab is reloaded: the answer being streamed ends (the page lost it),
    //    the same session resumes with the same links, and everyone resumes without gap or
    //    duplicate; the next answer streams to everyone.
    await hostPage.fill('#prompt', 'hold on');
    await hostPage.click('#send');
    await model.held();
    await explained(
      viewer.page,
      viewer.page.waitForFunction(() => !!document.querySelector('#transcript > li.assistant.open .body')?.textContent?.trim(), null, { timeout: 15000 }),
    );
    await hostPage.reload();
    await waitOnline(hostPage);
    expect((await hooks(hostPage)).links).toEqual(links);
    model.release();
    await waitPeers(hostPage, 3);
    await hostPage.fill('#prompt', 'and at sunset?');
    await hostPage.click('#send');
    await waitAnswers(viewer.page, 4, answerFor('and at sunset?'));
    const head = (await hooks(hostPage)).head;
    await viewer.page.waitForFunction(
      (h) => (window as unknown as { tokencast: { position(): { last_seq: bigint } } }).tokencast.position().last_seq.toString() === h,
      head,
      { timeout: 15000 },
    );
    const hostShown = await turns(hostPage);
    const viewerShown = await turns(viewer.page);
    expect(viewerShown).toEqual(hostShown);
    await participant.page.waitForFunction(
      (h) => (window as unknown as { tokencast: { position(): { last_seq: bigint } } }).tokencast.position().last_seq.toString() === h,
      head,
      { timeout: 15000 },
    );
    expect(await turns(participant.page)).toEqual(hostShown);
    expect(hostShown.map((t) => t.body)).toEqual([
      'why is the sky blue?',
      answerFor('why is the sky blue?'),
      'what about mars?',
      answerFor('what about mars?'),
      'hold on',
      expect.stringContaining('Echo'), // what streamed before the reload
      'and at sunset?',
      answerFor('and at sunset?'),
    ]);

    // 3. The host ends the session: the native client leaves with the whole transcript.
    await hostPage.click('#end');
    expect(await native.exited, native.output()).toBe(0);
    const nativeTurns = storedTurns(out);
    expect(nativeTurns.map((t) => ({ body: t.body, role: t.role }))).toEqual(hostShown.map((t) => ({ body: t.body, role: t.role })));
    expect(nativeTurns[5].status).toBe('error');
    expect(viewer.dialogs).toEqual([]);
    await participant.ctx.close();
    await viewer.ctx.close();
    await hostCtx.close();
  }, 90000);

  it('removes a viewer and a participant: each sees it, and a reload of its page is refused (same certificate)', async () => {
    const ctx = await browser.newContext();
    const hostPage = await ctx.newPage();
    hostPage.on('dialog', (dlg) => void dlg.accept());
    type Hooks = { fingerprint(): string | null; drop(): void };
    const fingerprint = (page: Page) =>
      page.waitForFunction(() => (window as unknown as { tokencast?: Hooks }).tokencast?.fingerprint() ?? false, null, { timeout: 15000 }).then((h) => h.jsonValue() as Promise<string>);
    const removedState = (page: Page) =>
      explained(page, page.waitForFunction(() => document.getElementById('notice')?.textContent === 'The host removed you from this session.', null, { timeout: 15000 }));
    const refusedState = (page: Page) =>
      explained(page, page.waitForFunction(() => document.getElementById('status')?.textContent === 'the host refused the join', null, { timeout: 15000 }));
    try {
      await hostPage.goto(`${rv.base}/host`);
      await hostPage.check('input[name=source][value=typed]');
      await hostPage.click('#start');
      await waitOnline(hostPage);
      const { links } = await hooks(hostPage);
      const vic = await newPhonePage(browser, 'vic');
      await vic.page.goto(links.viewer);
      await waitLive(vic.page);
      // The session's certificate: the same fingerprint after a reconnect and after a reload.
      const fp = await fingerprint(vic.page);
      expect(fp).toMatch(/^sha-256 [0-9A-F:]{95}$/i);
      await vic.page.evaluate(() => (window as unknown as { tokencast: Hooks }).tokencast.drop());
      await waitLive(vic.page);
      expect(await fingerprint(vic.page)).toBe(fp);
      await vic.page.reload();
      await waitLive(vic.page);
      expect(await fingerprint(vic.page)).toBe(fp);
      // Another browser (its own storage) has its own.
      const vera = await newPhonePage(browser, 'vera');
      await vera.page.goto(links.viewer);
      await waitLive(vera.page);
      expect(await fingerprint(vera.page)).not.toBe(fp);
      const pam = await newPhonePage(browser, 'pam');
      await pam.page.goto(links.participant);
      await waitLive(pam.page);
      await waitPeers(hostPage, 3);

      // The viewer is removed: told so, no retry; the others stay.
      await hostPage.click('button[aria-label="Remove vic"]');
      await removedState(vic.page);
      expect(await vic.page.textContent('#status')).toBe('the host removed you from this session');
      expect(await vic.page.$('#notice .retry')).toBeNull();
      await waitPeers(hostPage, 2);
      // Its reload presents the same certificate: refused.
      await vic.page.reload();
      await refusedState(vic.page);
      // The participant likewise.
      await hostPage.click('button[aria-label="Remove pam"]');
      await removedState(pam.page);
      await pam.page.reload();
      await refusedState(pam.page);
      expect(await vera.page.textContent('#status')).toBe('live');
      expect((await hooks(hostPage)).peers).toBe(1);
      for (const p of [vic, vera, pam]) await p.ctx.close();
    } finally {
      await ctx.close();
    }
  }, 90000);

  it('exports a signed transcript that tokencast verify ties to the viewer link; a tampered copy fails', async () => {
    const d = tempDir();
    dirs.push(d);
    const ctx = await browser.newContext();
    const hostPage = await ctx.newPage();
    try {
      await hostPage.goto(`${rv.base}/host`);
      await hostPage.fill('#model-url', model.baseUrl);
      await hostPage.fill('#session-title', 'signed from a tab');
      await hostPage.click('#start');
      await waitOnline(hostPage);
      const { links } = await hooks(hostPage);
      for (const [i, q] of ['why is the sky blue?', 'and "quoted" \\ text?'].entries()) {
        await hostPage.fill('#prompt', q);
        await hostPage.click('#send');
        await explained(
          hostPage,
          hostPage.waitForFunction(
            (k) =>
              document.querySelectorAll('#transcript > li.assistant:not(.open)').length === k &&
              !(window as unknown as { tokencastHost: HostHooks }).tokencastHost.generating(),
            i + 1,
            { timeout: 15000 },
          ),
        );
      }
      const [download] = await Promise.all([hostPage.waitForEvent('download'), hostPage.click('#export')]);
      const file = join(d.path, download.suggestedFilename());
      await download.saveAs(file);
      const text = readFileSync(file, 'utf8');
      expect(text).toContain(JSON.stringify(answerFor('why is the sky blue?')).slice(1, -1));
      const verify = (path: string, link: string) => spawnSync(TOKENCAST_BIN, ['verify', path, '-'], { input: link, encoding: 'utf8', timeout: 15000 });
      const ok = verify(file, links.viewer);
      expect(ok.status, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toContain('(the host of the link)');
      const tampered = join(d.path, 'tampered.json');
      writeFileSync(tampered, text.replace('why is the sky blue?', 'why is the sky green?'));
      expect(verify(tampered, links.viewer).status).toBe(1);
      // Another session's link: the signature verifies, but not as that link's host.
      const otherKey = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
      const other = formatInviteLink(rv.base, 0, crypto.getRandomValues(new Uint8Array(32)), otherKey);
      const foreign = verify(file, other);
      expect(foreign.status, foreign.stdout + foreign.stderr).toBe(1);
      // Protocol version 4: a viewer of the tab got the tab's signature over the same four turns
      // and writes the same file from its stored copy.
      const viewer = await ctx.newPage();
      await viewer.goto(links.viewer);
      await waitLive(viewer);
      await viewer.waitForFunction(() => (window as unknown as { tokencast: { signedTurns(): number } }).tokencast.signedTurns() === 4, null, {
        timeout: 15000,
      });
      const [fromViewer] = await Promise.all([viewer.waitForEvent('download'), viewer.click('#export-signed')]);
      const viewerFile = join(d.path, 'viewer.json');
      await fromViewer.saveAs(viewerFile);
      const okViewer = verify(viewerFile, links.viewer);
      expect(okViewer.status, okViewer.stdout + okViewer.stderr).toBe(0);
      expect(readFileSync(viewerFile, 'utf8')).toBe(text);
    } finally {
      await ctx.close();
    }
  }, 60000);

  it('explains a model server that refuses the page, and ends the answer for the peers', async () => {
    const refusing = await startModelServer(false);
    const ctx = await browser.newContext();
    const hostPage = await ctx.newPage();
    try {
      await hostPage.goto(`${rv.base}/host`);
      await hostPage.fill('#model-url', refusing.baseUrl);
      await hostPage.click('#start');
      await waitOnline(hostPage);
      const { links } = await hooks(hostPage);
      const viewer = await newPhonePage(browser, 'vic');
      await viewer.page.goto(links.viewer);
      await waitLive(viewer.page);
      await hostPage.fill('#prompt', 'anyone there?');
      await hostPage.click('#send');
      await hostPage.waitForFunction(() => !document.getElementById('notice')!.hidden, null, { timeout: 15000 });
      const advice = await hostPage.textContent('#notice');
      expect(advice).toContain(refusing.baseUrl);
      expect(advice).toContain('--cors-origins');
      expect(advice).toContain('OLLAMA_ORIGINS=');
      // Peers see the answer end with a short reason that does not name the server.
      await waitAnswers(viewer.page, 1);
      const shown = await shownTurns(viewer.page);
      expect(shown[1].end).toContain('could not be reached');
      expect(shown[1].end).not.toContain('127.0.0.1');
      await viewer.ctx.close();
    } finally {
      await ctx.close();
      await refusing.close();
    }
  }, 60000);

  it('holds participants\' prompts for approval: the host accepts one, rejects another, and the toggle survives a reload', async () => {
    type Held = { id: number; author: string; text: string };
    const held = (page: Page) => page.evaluate(() => (window as unknown as { tokencastHost: { held(): Held[] } }).tokencastHost.held());
    const waitHeld = (page: Page, n: number) =>
      explained(page, page.waitForFunction((k) => (window as unknown as { tokencastHost: { held(): Held[] } }).tokencastHost.held().length === k, n, { timeout: 15000 }));
    const waitNotice = (page: Page, text: string) =>
      explained(page, page.waitForFunction((t) => document.getElementById('notice')?.textContent === t, text, { timeout: 15000 }));
    const own = await startModelServer(); // its own, to count the requests this test makes
    const ctx = await browser.newContext();
    const hostPage = await ctx.newPage();
    hostPage.on('dialog', (dlg) => void dlg.accept());
    try {
      await hostPage.goto(`${rv.base}/host`);
      await hostPage.fill('#model-url', own.baseUrl);
      await hostPage.click('#start');
      await waitOnline(hostPage);
      expect(await hostPage.isChecked('#approve')).toBe(false);
      await hostPage.check('#approve');
      // The setting is stored with the session (once stored, a reload keeps it).
      const storedApprove = () =>
        hostPage.evaluate(
          () =>
            new Promise<unknown>((res, rej) => {
              const open = indexedDB.open('tokencast-host');
              open.onerror = () => rej(open.error);
              open.onsuccess = () => {
                const get = open.result.transaction('session').objectStore('session').get('current');
                get.onerror = () => rej(get.error);
                get.onsuccess = () => {
                  res((get.result as { approvePrompts?: boolean } | undefined)?.approvePrompts);
                  open.result.close();
                };
              };
            }),
        );
      await expect.poll(storedApprove, { timeout: 15000 }).toBe(true);
      await hostPage.reload();
      await waitOnline(hostPage);
      expect(await hostPage.isChecked('#approve')).toBe(true);
      const { links } = await hooks(hostPage);
      const viewer = await newPhonePage(browser, 'vic');
      await viewer.page.goto(links.viewer);
      await waitLive(viewer.page);
      const pam = await newPhonePage(browser, 'pam');
      await pam.page.goto(links.participant);
      await waitLive(pam.page);
      const quin = await newPhonePage(browser, 'quin <b>x</b>');
      await quin.page.goto(links.participant);
      await waitLive(quin.page);
      await waitPeers(hostPage, 3);

      // Each participant is told its prompt waits; nothing reaches the model or the transcript.
      await pam.page.fill('#prompt', 'why is the sky blue?');
      await pam.page.click('#send');
      await waitNotice(pam.page, "Your prompt waits for the host's approval.");
      await quin.page.fill('#prompt', 'spam <img src=x onerror=alert(1)>');
      await quin.page.click('#send');
      await waitNotice(quin.page, "Your prompt waits for the host's approval.");
      await waitHeld(hostPage, 2);
      expect((await held(hostPage)).map((p) => [p.author, p.text])).toEqual([
        ['pam', 'why is the sky blue?'],
        ['quin <b>x</b>', 'spam <img src=x onerror=alert(1)>'],
      ]);
      expect(own.requests).toBe(0);
      expect(await viewer.page.$$eval('#transcript > li', (l) => l.length)).toBe(0);
      // The host page lists them, as text.
      await hostPage.waitForSelector('#held:not([hidden])');
      expect(await hostPage.$$eval('#held-list > li', (l) => l.map((li) => li.textContent))).toEqual([
        'pam: why is the sky blue?AcceptReject',
        'quin <b>x</b>: spam <img src=x onerror=alert(1)>AcceptReject',
      ]);
      expect(await hostPage.$$eval('#held-list img, #held-list b', (l) => l.length)).toBe(0);

      // Rejected: its author is told; accepted: answered for everyone, attributed to its author.
      await hostPage.click('#held-list > li:nth-child(2) button.reject');
      await waitNotice(quin.page, 'The host declined your prompt.');
      await hostPage.click('#held-list > li:nth-child(1) button.accept');
      await waitAnswers(viewer.page, 1, answerFor('why is the sky blue?'));
      await waitAnswers(pam.page, 1, answerFor('why is the sky blue?'));
      const shown = await shownTurns(viewer.page);
      expect(shown.map((t) => t.body.trim())).toEqual(['why is the sky blue?', answerFor('why is the sky blue?')]);
      expect(shown[0].who).toContain('pam');
      await waitHeld(hostPage, 0);
      expect(await hostPage.isHidden('#held')).toBe(true);
      expect(own.requests).toBe(1);

      // Switched off: the next prompt goes straight through.
      await hostPage.uncheck('#approve');
      await quin.page.fill('#prompt', 'now straight?');
      await quin.page.click('#send');
      await waitAnswers(viewer.page, 2, answerFor('now straight?'));
      for (const p of [viewer, pam, quin]) await p.ctx.close();
    } finally {
      await ctx.close();
      await own.close();
    }
  }, 90000);

  it('typed answers reach the viewer; Stop ends a streaming answer for everyone', async () => {
    // Typed answers: what the host types is the answer.
    const typedCtx = await browser.newContext();
    const typed = await typedCtx.newPage();
    await typed.goto(`${rv.base}/host`);
    await typed.check('input[name=source][value=typed]');
    await typed.click('#start');
    await waitOnline(typed);
    const viewer = await newPhonePage(browser, 'vic');
    await viewer.page.goto((await hooks(typed)).links.viewer);
    await waitLive(viewer.page);
    await typed.fill('#prompt', 'typed by hand <b>not bold</b>');
    await typed.click('#send');
    await waitAnswers(viewer.page, 1, 'typed by hand <b>not bold</b>');
    await viewer.ctx.close();
    await typedCtx.close();

    // Stop: a participant's held answer can be stopped by that participant only, not by
    // another one; then a held answer is cancelled from the host page.
    const slow = await startModelServer();
    const ctx = await browser.newContext();
    const hostPage = await ctx.newPage();
    try {
      await hostPage.goto(`${rv.base}/host`);
      await hostPage.fill('#model-url', slow.baseUrl);
      await hostPage.click('#start');
      await waitOnline(hostPage);
      const links = (await hooks(hostPage)).links;
      const v = await newPhonePage(browser, 'vic');
      await v.page.goto(links.viewer);
      await waitLive(v.page);
      const pam = await newPhonePage(browser, 'pam');
      await pam.page.goto(links.participant);
      await waitLive(pam.page);
      const quin = await newPhonePage(browser, 'quin');
      await quin.page.goto(links.participant);
      await waitLive(quin.page);
      await pam.page.fill('#prompt', 'hold on, says pam');
      await pam.page.click('#send');
      await slow.held();
      await quin.page.waitForSelector('#cancel:not([disabled])', { timeout: 15000 });
      await quin.page.click('#cancel');
      await explained(
        quin.page,
        quin.page.waitForFunction(() => /only the asker or the host can stop this answer/.test(document.getElementById('notice')?.textContent ?? ''), null, {
          timeout: 15000,
        }),
      );
      expect(await v.page.$$eval('#transcript > li.assistant.open', (l) => l.length)).toBe(1); // still streaming
      await pam.page.waitForSelector('#cancel:not([disabled])', { timeout: 15000 });
      await pam.page.click('#cancel');
      await waitAnswers(v.page, 1);
      expect((await shownTurns(v.page))[1].end).toBe('(cancelled: cancelled by pam)');
      await hostPage.fill('#prompt', 'hold it');
      await hostPage.click('#send');
      await explained(
        v.page,
        v.page.waitForFunction(() => !!document.querySelector('#transcript > li.assistant.open .body')?.textContent?.trim(), null, { timeout: 15000 }),
      );
      await hostPage.click('#cancel');
      await waitAnswers(v.page, 2);
      const shown = await shownTurns(v.page);
      expect(shown[3].end).toContain('cancelled');
      expect(answerFor('hold it').startsWith(shown[3].body.trim())).toBe(true);
      await quin.ctx.close();
      await pam.ctx.close();
      await v.ctx.close();
    } finally {
      await ctx.close();
      await slow.close();
    }
  }, 60000);
});
