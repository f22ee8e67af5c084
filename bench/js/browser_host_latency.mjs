#!/usr/bin/env node
// Added token latency from a browser host to a browser viewer: the session is hosted by the host
// page (/host) in Debian's Chromium, its model this script's own OpenAI-compatible server
// streaming N tokens at a steady rate; a viewer in another browser context (its own renderer
// process) records when each token arrives on its data channel and when it is on screen. Token i
// is the text "tNNNNN " (i, five digits), so each side recognizes it. The host page reports when
// it hands each token to its session (window.tokencastHost.probe.onDelta, web/src/host-page.ts),
// before the store write, the queues, pacing and the data channel: the browser counterpart of
// fanout_bench's "token handed to the host -> decoded by the peer".
//
// --native-host runs the same viewer against `tokencast host --llm` instead, where no hand-off
// time is visible: both modes also report "model server wrote the token -> viewer", which
// compares the two hosts end to end on the same path.
//
// Times are performance.timeOrigin + performance.now() in each page and in this process (one
// machine, one clock); the script checks every context against its own clock first and reports
// the offsets (clock_check).
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { installedVersion, parseCommandLine, positiveInt, usageError } from './lib/cli.mjs';

const USAGE = `usage: node bench/js/browser_host_latency.mjs --bin PATH [--tokens N] [--rate R] [--warmup W]
                                              [--web-root DIR] [--native-host] [--out FILE]
                                              [--chromium PATH]

Hosts a session from the host page (/host, served by 'PATH rendezvous' on 127.0.0.1) in one
Chromium, its model this script's OpenAI-compatible server; joins one viewer (the join page) in
another browser context; then streams N tokens at R tokens a second and times each one.
Prints one JSON line to stdout (fields below) and progress to stderr.

Figures (ms over the tokens after the first W; n, p50, p90, p99, max):
  handed_to_received   the host page hands the token to its session -> the viewer's data
                       channel delivers the message holding it (browser host only)
  handed_to_rendered   -> the token's text is in the viewer's page (DOM)
  handed_to_sent       -> the host page gives the frame holding it to the data channel
                       (IndexedDB write, queue, pacing; browser host only)
  sent_to_received     that send -> the viewer's data channel delivers it (browser host only)
  server_to_handed     the model server wrote the token -> the host page hands it on (fetch,
                       SSE parsing; browser host only)
  server_to_received   the model server wrote the token -> the viewer's data channel (both hosts)
  server_to_rendered   -> the token's text is in the viewer's page

options:
  --bin PATH        the tokencast binary (e.g. build/tokencast); nothing is built
  --tokens N        tokens streamed (default 500)
  --rate R          tokens a second (default 100)
  --warmup W        the first W tokens are not counted (default 20)
  --web-root DIR    serve the web client from DIR (e.g. web/dist) instead of the built-in copy
                    (the host page's probe needs a client built with it)
  --native-host     host with 'PATH host --llm' (LAN mode) instead of the host page
  --out FILE        also write the result with every token's times to FILE
  --chromium PATH   the browser (default /usr/bin/chromium, or CHROMIUM_BIN)
  --help            show this help and exit

exit codes: 0 measured, 1 the measurement failed (a token lost, a page or process failed),
2 bad usage
`;

const args = parseCommandLine(USAGE, {
  bin: { type: 'string' },
  tokens: { type: 'string' },
  rate: { type: 'string' },
  warmup: { type: 'string' },
  'web-root': { type: 'string' },
  'native-host': { type: 'boolean' },
  out: { type: 'string' },
  chromium: { type: 'string' },
});
if (!args.bin) usageError(USAGE, '--bin is required');
const BIN = resolve(args.bin);
const TOKENS = args.tokens === undefined ? 500 : positiveInt(USAGE, 'tokens', args.tokens);
const RATE = args.rate === undefined ? 100 : positiveInt(USAGE, 'rate', args.rate);
const WARMUP = args.warmup === undefined ? 20 : args.warmup === '0' ? 0 : positiveInt(USAGE, 'warmup', args.warmup);
if (TOKENS > 99999) usageError(USAGE, '--tokens must be at most 99999');
if (WARMUP >= TOKENS) usageError(USAGE, '--warmup must be less than --tokens');
const NATIVE = args['native-host'] === true;
const CHROMIUM = args.chromium ?? process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const WEB_ROOT = args['web-root'] === undefined ? null : resolve(args['web-root']);
for (const [what, path] of [['--bin', BIN], ['--chromium', CHROMIUM]]) {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    usageError(USAGE, `${what} ${path}: not an executable file`);
  }
}
if (WEB_ROOT && !existsSync(join(WEB_ROOT, 'index.html'))) usageError(USAGE, `--web-root ${WEB_ROOT}: no index.html there`);

const say = (s) => process.stderr.write(`browser_host_latency: ${s}\n`);
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const token = (i) => `t${String(i).padStart(5, '0')} `;

// --- Cleanup: the server process is killed whatever happens.
let proc = null;
let browser = null;
let workDir = null;
let model = null;
function killProc() {
  if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
}
process.on('exit', () => {
  killProc();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});
for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.on(sig, () => {
    say(`${sig}: stopping`);
    killProc();
    process.exit(128 + num);
  });
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createNetServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function spawnTokencast(argv) {
  proc = spawn(BIN, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const kept = { output: '' };
  const keep = (d) => (kept.output = (kept.output + d).slice(-8000));
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  return kept;
}

/** The model: an OpenAI-compatible server (CORS for the page) whose one answer waits for go(),
 *  then streams TOKENS tokens at RATE a second, noting when each was written. */
function startModel() {
  let go;
  const started = new Promise((r) => (go = r));
  let finished;
  const done = new Promise((r) => (finished = r));
  const written = new Array(TOKENS).fill(null);
  let requests = 0;
  const cors = {
    'access-control-allow-origin': '*',
    'access-control-allow-headers': 'content-type, authorization',
    'access-control-allow-methods': 'GET, POST, OPTIONS',
  };
  const server = createServer({ noDelay: true }, (req, res) => {
    if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end();
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { ...cors, 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ object: 'list', data: [{ id: 'bench', object: 'model' }] }));
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return void res.writeHead(404, cors).end();
    req.resume();
    req.on('end', async () => {
      requests += 1;
      if (requests > 1) {
        // Only one answer is timed.
        res.writeHead(503, cors).end();
        return;
      }
      res.writeHead(200, { ...cors, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      await started;
      const t0 = now();
      for (let i = 0; i < TOKENS; i++) {
        const due = t0 + (i * 1000) / RATE;
        while (now() < due - 1) await sleep(Math.max(0, due - now() - 1));
        while (now() < due); // the last millisecond: on time, not a timer's granularity late
        if (res.destroyed) return;
        written[i] = now();
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: token(i) } }] })}\n\n`);
      }
      res.end('data: [DONE]\n\n');
      finished();
    });
  });
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () =>
      r({
        baseUrl: `http://127.0.0.1:${server.address().port}/v1`,
        go,
        done,
        written,
        requests: () => requests,
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      }),
    ),
  );
}

async function waitUntil(what, timeoutMs, poll) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await poll();
    if (v) return v;
    if (proc && (proc.exitCode !== null || proc.signalCode !== null)) throw new Error(`tokencast exited while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** --native-host: tokencast host --llm, its first prompt answered once the viewer is in. */
async function startNativeHost(port) {
  const linksFile = join(workDir, 'links.json');
  const kept = spawnTokencast([
    'host',
    '--listen', `127.0.0.1:${port}`,
    '--public-url', `http://127.0.0.1:${port}`,
    '--db', join(workDir, 'host.db'),
    '--links', linksFile,
    '--no-qr',
    '--quiet',
    '--title', 'browser host latency bench',
    '--llm', model.baseUrl,
    '--model', 'bench',
    '--prompt', 'stream the tokens',
    ...(WEB_ROOT ? ['--web-root', WEB_ROOT] : []),
  ]);
  try {
    return await waitUntil('the host to write its links', 15000, () => {
      if (!existsSync(linksFile)) return null;
      try {
        return JSON.parse(readFileSync(linksFile, 'utf8')).viewer ? JSON.parse(readFileSync(linksFile, 'utf8')) : null;
      } catch {
        return null; // being written
      }
    });
  } catch (e) {
    throw new Error(`${e.message}:\n${kept.output.trim()}`);
  }
}

/** The host page: a model server session; its probe notes when each token is handed on. */
async function startBrowserHost(port) {
  const kept = spawnTokencast(['rendezvous', '--listen', `127.0.0.1:${port}`, ...(WEB_ROOT ? ['--web-root', WEB_ROOT] : [])]);
  try {
    await waitUntil('the rendezvous', 15000, async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok);
  } catch (e) {
    throw new Error(`${e.message}:\n${kept.output.trim()}`);
  }
  const ctx = await browser.newContext();
  await ctx.addInitScript(hostSendProbe, TOKENS);
  const page = await ctx.newPage();
  await page.goto(`http://127.0.0.1:${port}/host`);
  await page.fill('#model-url', model.baseUrl);
  await page.fill('#model-name', 'bench');
  await page.fill('#session-title', 'browser host latency bench');
  await page.click('#start');
  await page.waitForFunction(() => window.tokencastHost?.online() === true, null, { timeout: 15000 });
  const hasProbe = await page.evaluate(() => !!window.tokencastHost.probe);
  if (!hasProbe) throw new Error('the served host page has no probe (built before it existed): pass --web-root web/dist after npm run build');
  await page.evaluate((n) => {
    const handed = new Array(n).fill(null);
    window.benchHanded = handed;
    window.tokencastHost.probe.onDelta = (text) => {
      const at = performance.timeOrigin + performance.now();
      for (const m of text.matchAll(/t(\d{5}) /g)) if (handed[+m[1]] === null) handed[+m[1]] = at;
    };
  }, TOKENS);
  return { page, links: await page.evaluate(() => window.tokencastHost.links) };
}

/** What the host page records besides the hand-off: when the frame holding each token is given
 *  to a data channel (RTCDataChannel.send, after the store write, the queue and pacing). */
function hostSendProbe(n) {
  const sent = new Array(n).fill(null);
  window.benchSent = sent;
  const latin1 = new TextDecoder('latin1');
  const send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (data) {
    const at = performance.timeOrigin + performance.now();
    if (data instanceof Uint8Array || data instanceof ArrayBuffer) {
      for (const m of latin1.decode(data).matchAll(/t(\d{5}) /g)) if (+m[1] < n && sent[+m[1]] === null) sent[+m[1]] = at;
    }
    return send.call(this, data);
  };
}

/** What the viewer's page records: each token's arrival on the data channel and in the DOM. */
function viewerProbe(n) {
  const received = new Array(n).fill(null);
  const rendered = new Array(n).fill(null);
  window.benchReceived = received;
  window.benchRendered = rendered;
  window.benchChannels = 0;
  const latin1 = new TextDecoder('latin1');
  const create = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (...a) {
    const dc = create.apply(this, a);
    window.benchChannels += 1;
    dc.addEventListener('message', (e) => {
      const at = performance.timeOrigin + performance.now();
      if (!(e.data instanceof ArrayBuffer)) return;
      for (const m of latin1.decode(e.data).matchAll(/t(\d{5}) /g)) if (+m[1] < n && received[+m[1]] === null) received[+m[1]] = at;
    });
    return dc;
  };
  let next = 0; // tokens arrive in order: look from the first one not yet seen
  const watch = () => {
    const list = document.getElementById('transcript');
    if (!list) return void requestAnimationFrame(watch);
    new MutationObserver(() => {
      const at = performance.timeOrigin + performance.now();
      const body = list.querySelector('li.assistant:last-of-type .body');
      const text = body?.textContent ?? '';
      for (const m of text.matchAll(/t(\d{5})/g)) {
        const i = +m[1];
        if (i >= next && i < n && rendered[i] === null) rendered[i] = at;
      }
      while (next < n && rendered[next] !== null) next++;
    }).observe(list, { childList: true, subtree: true, characterData: true });
  };
  document.addEventListener('DOMContentLoaded', watch);
}

/** This page's clock against ours: offset (page - ours) and how precisely it is known. */
async function clockCheck(page) {
  const before = now();
  const at = await page.evaluate(() => performance.timeOrigin + performance.now());
  const after = now();
  return { offset_ms: round(at - (before + after) / 2), uncertainty_ms: round((after - before) / 2) };
}

function round(x) {
  return Math.round(x * 1000) / 1000;
}

function summary(values) {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  const pct = (p) => (n ? round(v[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]) : null);
  return { n, p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: n ? round(v[n - 1]) : null };
}

async function main() {
  workDir = mkdtempSync(join(tmpdir(), 'tokencast-host-latency-'));
  model = await startModel();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const port = await freePort();
  let host = null;
  let links;
  if (NATIVE) {
    links = await startNativeHost(port);
    say(`native host on 127.0.0.1:${port} (pid ${proc.pid})`);
  } else {
    host = await startBrowserHost(port);
    links = host.links;
    say(`host page on 127.0.0.1:${port} (rendezvous pid ${proc.pid})`);
  }
  const vctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  await vctx.addInitScript(viewerProbe, TOKENS);
  const viewer = await vctx.newPage();
  await viewer.goto(links.viewer);
  await viewer.waitForFunction(() => document.getElementById('status')?.textContent === 'live', null, { timeout: 20000 });
  if ((await viewer.evaluate(() => window.benchChannels)) === 0) throw new Error("the viewer's data channel was not seen (the probe found no createDataChannel)");
  if (host) {
    await host.page.fill('#prompt', 'stream the tokens');
    await host.page.click('#send');
  }
  await waitUntil('the model request', 15000, () => model.requests() > 0);
  const clocks = { viewer: await clockCheck(viewer), ...(host ? { host_page: await clockCheck(host.page) } : {}) };
  say(`viewer live; streaming ${TOKENS} tokens at ${RATE}/s`);
  const loadAtStart = loadavg();
  model.go();
  await model.done;
  const expected = (TOKENS * 1000) / RATE;
  await waitUntil('the viewer to receive and show every token', expected + 30000, () =>
    viewer.evaluate(() => window.benchReceived.every((x) => x !== null) && window.benchRendered.every((x) => x !== null)),
  ).catch(async (e) => {
    const got = await viewer.evaluate(() => [window.benchReceived.filter((x) => x !== null).length, window.benchRendered.filter((x) => x !== null).length]);
    throw new Error(`${e.message} (received ${got[0]}, shown ${got[1]} of ${TOKENS})`);
  });
  const received = await viewer.evaluate(() => window.benchReceived);
  const rendered = await viewer.evaluate(() => window.benchRendered);
  const handed = host ? await host.page.evaluate(() => window.benchHanded) : null;
  const sent = host ? await host.page.evaluate(() => window.benchSent) : null;
  if (handed && handed.some((x) => x === null)) throw new Error('the host page did not hand on every token');
  if (sent && sent.some((x) => x === null)) throw new Error('the host page did not send every token');
  const written = model.written;
  const counted = (f) => summary(Array.from({ length: TOKENS - WARMUP }, (_, k) => f(k + WARMUP)));
  const result = {
    host: NATIVE ? 'native (tokencast host --llm, LAN mode)' : 'browser (host page, model server)',
    viewer: 'browser (join page, own context)',
    tokens: TOKENS,
    rate_per_s: RATE,
    warmup_tokens: WARMUP,
    ...(handed
      ? {
          handed_to_received: counted((i) => received[i] - handed[i]),
          handed_to_rendered: counted((i) => rendered[i] - handed[i]),
          handed_to_sent: counted((i) => sent[i] - handed[i]),
          sent_to_received: counted((i) => received[i] - sent[i]),
          server_to_handed: counted((i) => handed[i] - written[i]),
        }
      : {}),
    server_to_received: counted((i) => received[i] - written[i]),
    server_to_rendered: counted((i) => rendered[i] - written[i]),
    clock_check: clocks,
    load_average: { start: loadAtStart.map((x) => Math.round(x * 100) / 100), end: loadavg().map((x) => Math.round(x * 100) / 100) },
    web_client: WEB_ROOT ? `--web-root ${WEB_ROOT}` : 'built into the binary',
    versions: { chromium: browser.version(), 'playwright-core': await installedVersion('playwright-core') },
  };
  const fmt = (name, s) => s && say(`${name}: p50 ${s.p50}, p90 ${s.p90}, p99 ${s.p99}, max ${s.max} ms (n ${s.n})`);
  fmt('handed -> received', result.handed_to_received);
  fmt('handed -> rendered', result.handed_to_rendered);
  fmt('handed -> sent    ', result.handed_to_sent);
  fmt('sent -> received  ', result.sent_to_received);
  fmt('server -> handed  ', result.server_to_handed);
  fmt('server -> received', result.server_to_received);
  fmt('server -> rendered', result.server_to_rendered);
  if (args.out) writeFileSync(args.out, JSON.stringify({ ...result, samples: { written, handed, sent, received, rendered } }, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result) + '\n');
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  say(`error: ${e.message}`);
  code = 1;
} finally {
  if (browser) await browser.close().catch(() => undefined);
  model?.close();
  killProc();
}
process.exit(code);
