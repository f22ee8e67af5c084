// End to end over TLS: a rendezvous with --tls-cert/--tls-key serving the web client over
// https, a native host registered over wss:// (trusting the test CA with --ca), and Chromium
// joining from the https link: the page must use wss:// (mixed content forbids ws://).
// The certificate chain is made here with Debian's openssl CLI; Chromium trusts only this
// leaf's key (--ignore-certificate-errors-spki-list), and only in this test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

const OPENSSL = '/usr/bin/openssl';
const missing = [...requirePrerequisites(), ...(existsSync(OPENSSL) ? [] : ['openssl'])];

function openssl(args: string[]): void {
  const r = spawnSync(OPENSSL, args, { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

// A CA and a leaf for 127.0.0.1 and localhost, signed by it.
function makePki(dir: string): { ca: string; cert: string; key: string } {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const cert = join(dir, 'server.pem');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const ext = join(dir, 'server.ext');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=tokencast e2e CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  openssl(['req', ...ec, '-keyout', key, '-out', csr, '-subj', '/CN=127.0.0.1']);
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2',
    '-extfile', ext]);
  return { ca, cert, key };
}

// base64(SHA-256(SubjectPublicKeyInfo)): what --ignore-certificate-errors-spki-list takes.
function spkiHash(certPem: string): string {
  const spki = new X509Certificate(readFileSync(certPem)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

describe.skipIf(missing.length > 0)('web client over TLS', () => {
  let rv: Rendezvous;
  let host: Host;
  let browser: Browser;
  const dir = tempDir();

  beforeAll(async () => {
    const pki = makePki(dir.path);
    rv = await startRendezvous({ cert: pki.cert, key: pki.key });
    host = await startHost(rv, dir.path, 'tr a-z A-Z', ['--ca', pki.ca]);
    browser = await launchChromium([`--ignore-certificate-errors-spki-list=${spkiHash(pki.cert)}`]);
  });

  afterAll(async () => {
    await browser?.close();
    stopAll();
    dir.remove();
  });

  it('a participant opens the https link, joins over wss and sees the answer', async () => {
    expect(host.links.participant.startsWith(`https://127.0.0.1:${rv.port}/j#`)).toBe(true);
    const { ctx, page } = await newPhonePage(browser, 'tess');
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(host.links.participant);
    expect(page.url()).toBe(`${rv.base}/j`);
    await waitLive(page);
    expect(sockets).toContain(`wss://127.0.0.1:${rv.port}/ws`);
    expect(sockets.every((u) => u.startsWith('wss://'))).toBe(true);
    await page.fill('#prompt', 'over tls, ça va?');
    await page.click('#send');
    await waitAnswers(page, 1, 'OVER TLS, çA VA?');
    await ctx.close();
  });
});
