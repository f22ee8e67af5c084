// End to end: a BROWSER viewer as a relay (docs/PROTOCOL.md section 6; docs/web.md "Relaying").
// A host whose direct fan-out is one viewer, two children per relay. A desktop browser page joins
// first as a viewer: it offers to relay by default (no touch screen), gets the relay stream and is
// the host's one direct viewer. Then a participant (always served directly) and two more viewers,
// a native `tokencast join` (link on stdin, never argv) and a second browser page: the host
// places both below the browser relay, which answers their connections and forwards the signed
// stream; both verify it and show every answer byte for byte as the participant sees it. Then the
// relay page is closed: its children come back through the host and the next answer reaches
// them with no gap and no duplicate. Every wait is for a state, never for a time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
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
  metric,
  nativeTurns,
  pageStatus,
  until,
  withQuery,
  countingAnswer,
  countingModel,
} from './harness';

const missing = requirePrerequisites();






describe.skipIf(missing.length > 0)('a browser viewer as a relay', () => {
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

  it('serves a native and a browser viewer below it, and its children go back to the host when it closes', async () => {
    const d = tempDir();
    dirs.push(d);
    // The "model": answer n streams five words tagged with n, a delta each.
    const model = countingModel(d.path);
    const metrics = join(d.path, 'metrics.prom');
    const host = await startHost(rv, d.path, model, ['--direct-peers', '1', '--relay-children', '2', '--metrics-file', metrics]);
    const hostSaid = () => `; host said: ${host.output()}`;

    // The relay: a desktop browser viewer (no touch screen: it offers to relay by default), the
    // one direct viewer slot.
    const relayCtx = await browser.newContext();
    const relay = await relayCtx.newPage();
    await relay.goto(host.links.viewer);
    await explained(relay, waitLive(relay));
    await until('the host to count the browser as a relay', 20000, () => (metric(metrics, 'tokencast_host_relays') ?? 0) >= 1, hostSaid);

    // The asker: a participant, always served directly (and never a relay).
    const out = join(d.path, 'native.json');
    const ada = await newPhonePage(browser, 'ada');
    await ada.page.goto(host.links.participant);
    await waitLive(ada.page);
    // A first answer before the others join: they are late joiners and catch up from the relay.
    const ask = async (prompt: string, n: number) => {
      await ada.page.fill('#prompt', prompt);
      await ada.page.click('#send');
      const answer = countingAnswer(n);
      await waitAnswers(ada.page, n, answer);
      return answer;
    };
    const nativeDone = () => nativeTurns(out).filter((t) => t.role === 'assistant' && t.status === 'done').length;
    const first = await ask('first', 1);
    await waitAnswers(relay, 1, first);

    // A native viewer past the direct fan-out: placed below the browser relay.
    const native: ChildProcess = spawn(TOKENCAST_BIN, ['join', '--name', 'nat', '--out', out, '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let nativeSaid = '';
    native.stdout!.on('data', (c) => (nativeSaid += c));
    native.stderr!.on('data', (c) => (nativeSaid += c));
    native.stdin!.end(host.links.viewer + '\n');
    const nativeExplain = () => `; native said: ${nativeSaid}${hostSaid()}`;
    await until('the native viewer to connect via the browser relay', 30000, () => nativeSaid.includes('connected via relay'), nativeExplain);

    // A second browser viewer (one that does not relay: ?relay-for=0), also below the relay.
    const bob = await newPhonePage(browser, 'bob');
    await bob.page.goto(withQuery(host.links.viewer, '?relay-for=0'));
    await explained(bob.page, waitLive(bob.page, 30000));
    expect(await pageStatus(bob.page)).toMatchObject({ state: 'connected', text: 'live', via: 'relay' });
    await until('the host to count two relayed viewers', 10000, () => metric(metrics, 'tokencast_host_relayed_viewers') === 2, hostSaid);
    await explained(relay, relay.waitForFunction(() => document.getElementById('status')?.dataset.relaying === '2', null, { timeout: 10000 }));
    expect(await pageStatus(relay)).toMatchObject({ state: 'connected', text: 'live', via: '', relaying: '2' });

    // The late joiners caught up from the relay; the next answer streams to them through it.
    await waitAnswers(bob.page, 1, first);
    await until('the native viewer to catch up', 15000, () => nativeDone() === 1, nativeExplain);
    const second = await ask('second', 2);
    await waitAnswers(relay, 2, second);
    await waitAnswers(bob.page, 2, second);
    await until('the native viewer to hold the second answer', 15000, () => nativeDone() === 2, nativeExplain);
    const adaShown = (await shownTurns(ada.page)).map((t) => [t.role, t.body.trim()]);
    expect((await shownTurns(bob.page)).map((t) => [t.role, t.body.trim()])).toEqual(adaShown);
    expect((await shownTurns(relay)).map((t) => [t.role, t.body.trim()])).toEqual(adaShown);
    expect(nativeTurns(out).map((t) => [t.role, t.text.trim()])).toEqual(adaShown);
    expect((await pageStatus(bob.page)).via).toBe('relay'); // all of it came through the relay
    expect(nativeSaid.split('connected via relay').length).toBe(2); // never moved: one connection
    expect(metric(metrics, 'tokencast_host_relayed_viewers')).toBe(2);

    // The relay page closes: its children come back through the host.
    const closedAt = Date.now();
    await relayCtx.close();
    await explained(
      bob.page,
      bob.page.waitForFunction(
        () => {
          const s = document.getElementById('status');
          return s?.dataset.state === 'connected' && s.textContent === 'live' && !s.dataset.via;
        },
        null,
        { timeout: 30000 },
      ),
    );
    // Informational only (no timed assert): how long the browser child was without a parent.
    console.log(`relay page closed -> the browser child live again through the host: ${Date.now() - closedAt} ms`);

    const third = await ask('third', 3);
    await waitAnswers(bob.page, 3, third);
    await until('the native viewer to hold the third answer', 15000, () => nativeDone() === 3, nativeExplain);
    // No gap, no duplicate: the same turns, byte for byte, as the participant who was never moved.
    const adaAll = (await shownTurns(ada.page)).map((t) => [t.role, t.body.trim()]);
    expect((await shownTurns(bob.page)).map((t) => [t.role, t.body.trim()])).toEqual(adaAll);
    expect(nativeTurns(out).map((t) => [t.role, t.text.trim()])).toEqual(adaAll);
    native.kill();
    await host.stop();
  }, 180000);

  it('tells the host when a child leaves (relay_child_gone): the slot is free for the next viewer', async () => {
    const d = tempDir();
    dirs.push(d);
    const script = join(d.path, 'model.sh');
    writeFileSync(script, 'cat >/dev/null; printf "ok"');
    const metrics = join(d.path, 'metrics.prom');
    // One child per relay: the second child can be placed below the relay only once the first
    // one's slot was freed.
    const host = await startHost(rv, d.path, `sh ${script}`, ['--direct-peers', '1', '--relay-children', '1', '--metrics-file', metrics]);
    const hostSaid = () => `; host said: ${host.output()}`;
    const relayCtx = await browser.newContext();
    const relay = await relayCtx.newPage();
    await relay.goto(host.links.viewer);
    await explained(relay, waitLive(relay));
    await until('the host to count the browser as a relay', 20000, () => (metric(metrics, 'tokencast_host_relays') ?? 0) >= 1, hostSaid);

    const bob = await newPhonePage(browser, 'bob');
    await bob.page.goto(withQuery(host.links.viewer, '?relay-for=0'));
    await explained(bob.page, waitLive(bob.page, 30000));
    expect((await pageStatus(bob.page)).via).toBe('relay');
    await explained(relay, relay.waitForFunction(() => document.getElementById('status')?.dataset.relaying === '1', null, { timeout: 10000 }));

    // Bob leaves (pagehide: a bye to its relay); the relay drops him and tells the host.
    await bob.ctx.close();
    await explained(relay, relay.waitForFunction(() => document.getElementById('status')?.dataset.relaying === undefined, null, { timeout: 10000 }));

    const carl = await newPhonePage(browser, 'carl');
    await carl.page.goto(withQuery(host.links.viewer, '?relay-for=0'));
    await explained(carl.page, waitLive(carl.page, 30000));
    expect(await pageStatus(carl.page)).toMatchObject({ state: 'connected', text: 'live', via: 'relay' });
    await explained(relay, relay.waitForFunction(() => document.getElementById('status')?.dataset.relaying === '1', null, { timeout: 10000 }));
    await relayCtx.close();
    await host.stop();
  }, 120000);
});
