// End to end: a viewer's signed export (protocol version 4). The real native host signs the
// transcript after each ended turn; a participant gets the signature live, a viewer that joins
// after the answer gets it with its catch-up; each page writes the signed file from its stored
// copy (IndexedDB), and `build/tokencast verify FILE LINK` accepts it and refuses a tampered one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  launchChromium,
  newPhonePage,
  requirePrerequisites,
  startHost,
  startRendezvous,
  stopAll,
  tempDir,
  TOKENCAST_BIN,
  waitAnswers,
  waitLive,
  waitShown,
  type Rendezvous,
} from './harness';

const missing = requirePrerequisites();

type Hooks = { signedTurns(): number };

/** `tokencast verify FILE -` with the link on stdin (a link holds a secret: never in argv). */
function verify(file: string, link: string) {
  return spawnSync(TOKENCAST_BIN, ['verify', file, '-'], { input: link, encoding: 'utf8', timeout: 15000 });
}

/** Waits until the page holds the host's signature over `n` turns. */
function waitSigned(page: Page, n: number) {
  return page.waitForFunction((k) => (window as unknown as { tokencast: Hooks }).tokencast.signedTurns() === k, n, { timeout: 15000 });
}

/** Clicks "Export signed transcript" and saves the download under `dir`. */
async function exportSigned(page: Page, dir: string, name: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-signed')]);
  expect(download.suggestedFilename()).toMatch(/^tokencast-[0-9a-f]{32}-signed\.json$/);
  const file = join(dir, name);
  await download.saveAs(file);
  return file;
}

describe.skipIf(missing.length > 0)('signed export from a viewer copy, end to end', () => {
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

  it('a participant and a late viewer export signed files tokencast verify accepts; a tampered copy is refused', async () => {
    const d = tempDir();
    dirs.push(d);
    const host = await startHost(rv, d.path, `cat >/dev/null; printf 'Lisbon, "in" May.'`);
    const ada = await newPhonePage(browser, 'ada');
    const bob = await newPhonePage(browser, 'bob');
    try {
      await ada.page.goto(host.links.participant);
      await waitLive(ada.page);
      // No turn has ended: nothing to export yet, and the page says so.
      expect(await ada.page.isDisabled('#export-signed')).toBe(true);
      expect(await ada.page.textContent('#signed-state')).toContain('No signature from the host yet');

      await ada.page.fill('#prompt', 'Where and when?');
      await ada.page.click('#send');
      await waitAnswers(ada.page, 1, 'Lisbon, "in" May.');
      await waitSigned(ada.page, 2); // the question's turn and the answer's, signed live
      const adaFile = await exportSigned(ada.page, d.path, 'ada.json');
      const okAda = verify(adaFile, host.links.participant);
      expect(okAda.status, okAda.stdout + okAda.stderr).toBe(0);

      // A viewer that joins afterwards gets the latest signature with its catch-up.
      await bob.page.goto(host.links.viewer);
      await waitLive(bob.page);
      await waitShown(bob.page);
      await waitSigned(bob.page, 2);
      expect(await bob.page.textContent('#signed-state')).toContain('Signed by the host: the first 2 turns');
      const bobFile = await exportSigned(bob.page, d.path, 'bob.json');
      const ok = verify(bobFile, host.links.viewer);
      expect(ok.status, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toContain('(the host of the link)');
      const text = readFileSync(bobFile, 'utf8');
      expect(text).toContain('Lisbon, \\"in\\" May.');
      expect(text).toContain('"author":"ada"');
      // Both pages wrote the same transcript: the same file, signature included.
      expect(readFileSync(adaFile, 'utf8')).toBe(text);

      // Tampered: one word of the answer changed, or the asker's name: refused.
      const tampered = join(d.path, 'tampered.json');
      writeFileSync(tampered, text.replace('Lisbon', 'Madrid'));
      const bad = verify(tampered, host.links.viewer);
      expect(bad.status, bad.stdout + bad.stderr).not.toBe(0);
      writeFileSync(tampered, text.replace('"author":"ada"', '"author":"eve"'));
      expect(verify(tampered, host.links.viewer).status).not.toBe(0);

      // With the host gone, a reloaded page still has its stored copy and signature (IndexedDB)
      // and exports the same file offline.
      await host.stop();
      await bob.page.reload();
      await waitSigned(bob.page, 2);
      const again = await exportSigned(bob.page, d.path, 'bob-again.json');
      expect(readFileSync(again, 'utf8')).toBe(text);
    } finally {
      await ada.ctx.close();
      await bob.ctx.close();
      await host.stop();
    }
  }, 90000);
});
