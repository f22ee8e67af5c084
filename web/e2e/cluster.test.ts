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
