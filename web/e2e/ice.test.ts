// ICE servers in the browser: a rendezvous started with --stun/--turn hands them (TURN with fresh
// REST credentials) to the page, which passes them to RTCPeerConnection; with ?relay the page
// connects through a real coturn (started here on loopback) to a relay-only host, streams the
// answer byte-exact and says "relayed" in its indicator. A host's own TURN server reaches the page
// the same way inside the host's sealed, signed beacon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { explained, launchChromium, newPhonePage, requirePrerequisites, startHost, startRendezvous, stopAll, tempDir, waitAnswers, waitLive } from './harness';

const TURNSERVER = '/usr/bin/turnserver';
const SECRET = 'web-e2e-turn-secret';
const missing = [...requirePrerequisites(), ...(existsSync(TURNSERVER) ? [] : ['coturn'])];

function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => res(false));
  });
}

async function startCoturn(dir: string): Promise<number> {
  const port = await freePort();
  const relay = 40000 + (port % 20000);
  const conf = join(dir, 'turnserver.conf');
  writeFileSync(
    conf,
    [
      'listening-ip=127.0.0.1',
      'relay-ip=127.0.0.1',
      `listening-port=${port}`,
      `min-port=${relay}`,
      `max-port=${relay + 50}`,
      'use-auth-secret',
      `static-auth-secret=${SECRET}`,
      'realm=tokencast.test',
      'allow-loopback-peers',
      'no-cli',
      'no-tls',
      'no-dtls',
      'fingerprint',
      `pidfile=${join(dir, 'turn.pid')}`,
      `userdb=${join(dir, 'turndb')}`,
      `log-file=${join(dir, 'turn.log')}`,
      '',
    ].join('\n'),
  );
  const proc = spawn(TURNSERVER, ['-c', conf], { stdio: 'ignore' });
  afterAllKill.push(() => proc.kill('SIGTERM'));
  for (let i = 0; i < 200 && !(await listening(port)); i++) await new Promise((r) => setTimeout(r, 50));
  return port;
}

const afterAllKill: (() => void)[] = [];

/** Test hook: every RTCPeerConnection configuration the context's pages make is recorded. */
async function recordRtcConfigs(ctx: BrowserContext): Promise<void> {
  await ctx.addInitScript(() => {
    const Original = window.RTCPeerConnection;
    const configs: unknown[] = [];
    (window as unknown as { rtcConfigs: unknown[] }).rtcConfigs = configs;
    const Wrapped = function (config?: RTCConfiguration) {
      configs.push(JSON.parse(JSON.stringify(config ?? {})));
      return new Original(config);
    } as unknown as typeof RTCPeerConnection;
    Wrapped.prototype = Original.prototype;
    window.RTCPeerConnection = Wrapped;
  });
}

async function rtcConfigs(page: Page): Promise<RTCConfiguration[]> {
  return (await page.evaluate(() => (window as unknown as { rtcConfigs: unknown[] }).rtcConfigs)) as RTCConfiguration[];
}

describe.skipIf(missing.length > 0)('ICE servers in the browser', () => {
  let browser: Browser;
  const dirs: { remove(): void }[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    for (const k of afterAllKill) k();
    stopAll();
    for (const d of dirs) d.remove();
  });

  it('gets the rendezvous TURN credentials and streams through coturn with ?relay', async () => {
    const d = tempDir();
    dirs.push(d);
    const turnPort = await startCoturn(d.path);
    const turnUrl = `turn:127.0.0.1:${turnPort}?transport=udp`;
    const rv = await startRendezvous(['--stun', `stun:127.0.0.1:${turnPort}`, '--turn', turnUrl], { TOKENCAST_TURN_SECRET: SECRET });
    const host = await startHost(rv, d.path, 'tr a-z A-Z', ['--relay-only', '--verbose']);
    const { ctx, page } = await newPhonePage(browser, 'ada');
    await recordRtcConfigs(ctx);
    await page.goto(host.links.participant.replace('/j#', '/j?relay#'));
    await explained(page, waitLive(page));
    const configs = await rtcConfigs(page);
    const last = configs[configs.length - 1];
    expect(last.iceTransportPolicy).toBe('relay');
    const servers = last.iceServers ?? [];
    expect(servers[0]).toEqual({ urls: `stun:127.0.0.1:${turnPort}` });
    expect(servers[1].urls).toBe(turnUrl);
    expect(servers[1].username).toMatch(/^\d+:[0-9a-f]{16}$/);
    expect(servers[1].credential).toMatch(/^[A-Za-z0-9+/]{27}=$/);
    // The indicator says how the link goes once the pair is known.
    await page.waitForFunction(() => /^relayed \(TURN over udp\)$/.test(document.getElementById('status')?.dataset.path ?? ''), null, { timeout: 10000 });
    const prompt = 'through the relay ~!@#';
    await page.fill('#prompt', prompt);
    await page.click('#send');
    await waitAnswers(page, 1, prompt.toUpperCase());
    // The relay-only host logged its side of the pair.
    expect(host.output()).toMatch(/selected candidate pair: local=relay\/udp remote=relay\/udp/);
    await ctx.close();
    await host.stop();
  }, 60000);

  it("gets the host's own TURN server from its sealed beacon (the rendezvous hands out none)", async () => {
    const d = tempDir();
    dirs.push(d);
    const turnPort = await startCoturn(d.path);
    const turnUrl = `turn:127.0.0.1:${turnPort}?transport=udp`;
    const secretFile = join(d.path, 'turn.secret');
    writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    const rv = await startRendezvous();
    const host = await startHost(rv, d.path, 'tr a-z A-Z', ['--relay-only', '--turn', turnUrl, '--turn-secret-file', secretFile]);
    const { ctx, page } = await newPhonePage(browser, 'cy');
    await recordRtcConfigs(ctx);
    await page.goto(host.links.participant.replace('/j#', '/j?relay#'));
    await explained(page, waitLive(page));
    const configs = await rtcConfigs(page);
    // The page has no server of its own and the rendezvous hands out none: the host's beacon
    // brought this one (the peer connection is made, or made again, once the beacon verifies).
    const servers = configs[configs.length - 1].iceServers ?? [];
    expect(servers).toHaveLength(1);
    expect(servers[0].urls).toBe(turnUrl);
    expect(servers[0].username).toMatch(/^\d+:[0-9a-f]{16}$/);
    await page.waitForFunction(() => /^relayed \(TURN over udp\)$/.test(document.getElementById('status')?.dataset.path ?? ''), null, { timeout: 10000 });
    const prompt = 'through the host relay';
    await page.fill('#prompt', prompt);
    await page.click('#send');
    await waitAnswers(page, 1, prompt.toUpperCase());
    await ctx.close();
    await host.stop();
  }, 60000);

  it('relay-only with no TURN server anywhere ends at once with a clear message', async () => {
    const d = tempDir();
    dirs.push(d);
    const rv = await startRendezvous();
    const host = await startHost(rv, d.path, 'tr a-z A-Z');
    const { ctx, page } = await newPhonePage(browser, 'bob');
    await page.goto(host.links.viewer.replace('/j#', '/j?relay#'));
    await page.waitForFunction(() => /no network path to it was found/.test(document.getElementById('notice')?.textContent ?? ''), null, { timeout: 15000 });
    expect(await page.textContent('#notice')).not.toMatch(/connection to the host was lost/);
    // ?relay=0 turns it off again (stored in localStorage).
    await page.goto(host.links.viewer.replace('/j#', '/j?relay=0#'));
    await explained(page, waitLive(page));
    await ctx.close();
    await host.stop();
  }, 40000);
});
