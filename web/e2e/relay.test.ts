// End to end: a browser viewer served by a native relay (docs/PROTOCOL.md section 6,
// "Introducing a child to its relay"). A host whose direct fan-out is one viewer, a native viewer
// that offers to relay (`tokencast join --relay 2 -`, the link on stdin), a browser participant
// (always served directly) who asks, and a browser viewer: the host places it below the relay, it
// verifies the relay's stream and shows every answer byte for byte as the participant sees it.
// Then the relay is killed (-9): the viewer notices the silence, goes back through the host and
// shows the next answer with no gap and no duplicate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  explained,
  launchChromium,
  newPhonePage,
  requirePrerequisites,
  shownTurns,
  startHost,
  startRendezvous,
  stopAll,
  tempDir,
  TOKENCAST_BIN,
  waitAnswers,
  waitLive,
  type Rendezvous,
  countingModel,
} from './harness';

const missing = requirePrerequisites();

/** A metric of the host's --metrics-file (rewritten every 2 s; its samples carry a session label),
 *  or undefined before it exists. */
function metric(file: string, name: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(readFileSync(file, 'utf8'));
  return m ? Number(m[1]) : undefined;
}

function until(what: string, timeoutMs: number, ok: () => boolean): Promise<void> {
  const start = Date.now();
  return new Promise((res, rej) => {
    const tick = () => {
      if (ok()) return res();
      if (Date.now() - start > timeoutMs) return rej(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

/** The page's status line: its text and whether it says "via relay" (data-via). */
const status = (page: Page) =>
  page.$eval('#status', (el) => ({ state: (el as HTMLElement).dataset.state ?? '', via: (el as HTMLElement).dataset.via ?? '' }));

describe.skipIf(missing.length > 0)('a browser viewer below a native relay', () => {
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

  it('is served via the relay, verifies its stream, and goes back to the host when the relay dies', async () => {
    const d = tempDir();
    dirs.push(d);
    // The "model": answer n streams five words tagged with n, a delta each.
    const model = countingModel(d.path);
    const metrics = join(d.path, 'metrics.prom');
    const host = await startHost(rv, d.path, model, ['--direct-peers', '1', '--relay-children', '2', '--metrics-file', metrics]);

    // The relay: the first viewer (the one direct viewer slot), offering two children. The
    // link goes on stdin, never in argv.
    const relay: ChildProcess = spawn(TOKENCAST_BIN, ['join', '--relay', '2', '--name', 'relay', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let relayOut = '';
    relay.stdout!.on('data', (c) => (relayOut += c));
    relay.stderr!.on('data', (c) => (relayOut += c));
    relay.stdin!.end(host.links.viewer + '\n');
    await until('the host to count a relay', 20000, () => (metric(metrics, 'tokencast_host_relays') ?? 0) >= 1).catch((e) => {
      throw new Error(`${e.message}; relay said: ${relayOut}; host said: ${host.output()}`);
    });

    // The asker: a participant, always served directly.
    const ada = await newPhonePage(browser, 'ada');
    await ada.page.goto(host.links.participant);
    await waitLive(ada.page);

    // The viewer: past the direct fan-out, so the host introduces it to the relay.
    const bob = await newPhonePage(browser, 'bob');
    await bob.page.goto(host.links.viewer);
    await explained(bob.page, waitLive(bob.page, 30000));
    expect(await status(bob.page)).toEqual({ state: 'connected', via: 'relay' });
    await until('the host to count a relayed viewer', 10000, () => metric(metrics, 'tokencast_host_relayed_viewers') === 1);

    await ada.page.fill('#prompt', 'first');
    await ada.page.click('#send');
    await waitAnswers(ada.page, 1, 'alpha1 beta1 gamma1 delta1 epsilon1');
    await waitAnswers(bob.page, 1, 'alpha1 beta1 gamma1 delta1 epsilon1');
    expect((await shownTurns(bob.page)).map((t) => t.body)).toEqual((await shownTurns(ada.page)).map((t) => t.body));
    expect((await status(bob.page)).via).toBe('relay'); // all of it came through the relay

    // The relay dies without a word: the viewer's stall timer gives it up and it rejoins through
    // the host, which serves it directly now.
    const killedAt = Date.now();
    relay.kill('SIGKILL');
    await explained(
      bob.page,
      bob.page.waitForFunction(() => document.getElementById('status')?.dataset.state !== 'connected', null, { timeout: 10000 }),
    );
    await explained(
      bob.page,
      bob.page.waitForFunction(
        () => {
          const s = document.getElementById('status');
          return s?.dataset.state === 'connected' && s.textContent === 'live' && !s.dataset.via;
        },
        null,
        { timeout: 20000 },
      ),
    );
    // Informational only (no timed assert): how long the viewer was without a parent.
    console.log(`relay killed -> the viewer live again through the host: ${Date.now() - killedAt} ms`);

    await ada.page.fill('#prompt', 'second');
    await ada.page.click('#send');
    await waitAnswers(ada.page, 2, 'alpha2 beta2 gamma2 delta2 epsilon2');
    await waitAnswers(bob.page, 2, 'alpha2 beta2 gamma2 delta2 epsilon2');
    // No gap, no duplicate: the same turns, byte for byte, as the participant who was never moved.
    const bobTurns = await shownTurns(bob.page);
    expect(bobTurns.map((t) => [t.role, t.body])).toEqual((await shownTurns(ada.page)).map((t) => [t.role, t.body]));
    expect(bobTurns.filter((t) => t.role === 'assistant').length).toBe(2);
    await host.stop();
  }, 120000);
});
