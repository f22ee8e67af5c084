// End to end across a rendezvous cluster: two `tokencast rendezvous --nats` instances sharing
// rooms through a real nats-server (Debian's). The native host registers on instance A; its links
// name instance B (as a load balancer in front of both would send a phone elsewhere); Chromium
// opens the link, is served by B, joins over B's WebSocket and meets the host on A.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import {
  launchChromium,
  newPhonePage,
  requirePrerequisites,
  startHost,
  startRendezvous,
  stopAll,
  tempDir,
  waitAnswers,
  waitLive,
  type Host,
  type Rendezvous,
} from './harness';

const NATS_SERVER = '/usr/sbin/nats-server';
const missing = [...requirePrerequisites(), ...(existsSync(NATS_SERVER) ? [] : ['nats-server'])];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe.skipIf(missing.length > 0)('a rendezvous cluster on NATS', () => {
  let nats: ChildProcess;
  let a: Rendezvous;
  let b: Rendezvous;
  let host: Host;
  let browser: Browser;
  const dir = tempDir();

  beforeAll(async () => {
    const port = await freePort();
    nats = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    for (let i = 0; i < 500 && !(await accepts(port)); i++) await new Promise((r) => setTimeout(r, 20));
    const url = `nats://127.0.0.1:${port}`;
    a = await startRendezvous(['--nats', url]);
    b = await startRendezvous(['--nats', url]);
    // The host's WebSocket goes to A; the links it writes name B.
    host = await startHost({ ...b, ws: a.ws }, dir.path, 'tr a-z A-Z');
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    stopAll();
    nats?.kill('SIGKILL');
    dir.remove();
  });

  it('a phone served by instance B joins the host registered on instance A', async () => {
    expect(host.links.participant.startsWith(`${b.base}/j#`)).toBe(true);
    const { ctx, page } = await newPhonePage(browser, 'nadia');
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(host.links.participant);
    await waitLive(page);
    expect(sockets).toContain(b.ws);
    expect(sockets).not.toContain(a.ws);
    await page.fill('#prompt', 'across two instances');
    await page.click('#send');
    await waitAnswers(page, 1, 'ACROSS TWO INSTANCES');
    await ctx.close();
  });
});

// Joiner failover in the browser: the host registers with `--rendezvous A,B` and no public URL,
// so its links are A's with B as an alternate ("?r="). A phone opens the link: A serves the page
// (its CSP allows exactly B's WebSocket besides its own), then A is killed (SIGKILL) while the
// page loads, before its script runs. The page's WebSocket to A fails; it moves to B, joins
// there (the host moved there too) and gets its answer. A second phone, already live before
// the kill, keeps streaming on its data channel.
describe.skipIf(missing.length > 0)('joiner failover across a rendezvous cluster', () => {
  let nats: ChildProcess;
  let a: Rendezvous;
  let b: Rendezvous;
  let host: Host;
  let browser: Browser;
  const dir = tempDir();

  beforeAll(async () => {
    const port = await freePort();
    nats = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    for (let i = 0; i < 500 && !(await accepts(port)); i++) await new Promise((r) => setTimeout(r, 20));
    const fast = ['--nats', `nats://127.0.0.1:${port}`, '--cluster-heartbeat', '100ms', '--cluster-expiry', '1s'];
    a = await startRendezvous(fast);
    b = await startRendezvous(fast);
    host = await startHost({ ...a, base: '', ws: `${a.ws},${b.ws}` }, dir.path, 'tr a-z A-Z');
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    stopAll();
    nats?.kill('SIGKILL');
    dir.remove();
  });

  it('a phone whose rendezvous dies while the page loads joins through the alternate', async () => {
    const link = host.links.participant;
    expect(link.startsWith(`${a.base}/j?r=${b.base}#`)).toBe(true);

    // A phone live through A before anything fails.
    const first = await newPhonePage(browser, 'olga');
    await first.page.goto(link);
    await waitLive(first.page);

    const { ctx, page } = await newPhonePage(browser, 'pavel');
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    // A dies once it has served the page, before the page's script runs: the script (the same
    // build's bytes) comes from B.
    const aDead = new Promise<void>((resolve) => a.proc.once('exit', () => resolve()));
    await page.route(`${a.base}/assets/*.js`, async (route) => {
      a.proc.kill('SIGKILL');
      await aDead;
      const response = await route.fetch({ url: route.request().url().replace(a.base, b.base) });
      await route.fulfill({ response });
    });
    const response = await page.goto(link);
    const csp = (await response!.allHeaders())['content-security-policy'];
    expect(csp).toContain(`connect-src 'self' ${b.ws};`);
    await waitLive(page, 30000);
    expect(sockets).toContain(b.ws);
    await page.fill('#prompt', 'after the failover');
    await page.click('#send');
    await waitAnswers(page, 1, 'AFTER THE FAILOVER');
    // The phone that was live before A died saw the answer on its data channel.
    await waitAnswers(first.page, 1, 'AFTER THE FAILOVER');
    await ctx.close();
    await first.ctx.close();
  }, 60000);
});
