#!/usr/bin/env node
// Join time in a real browser: `tokencast host` in LAN mode (embedded rendezvous serving the web
// client) on loopback, one Debian Chromium driven by playwright-core, and N joins, each in a
// fresh browser context opening the viewer link. The times come from the client's own
// performance marks (web/src/client/joiner.ts, prefix tokencast:), whose startTime counts from
// the navigation start: the user opening the link, page load from the host included.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { installedVersion, parseCommandLine, positiveInt, usageError } from './lib/cli.mjs';

const USAGE = `usage: node bench/js/chromium_join.mjs --bin PATH [--joins N] [--out FILE]
                                        [--web-root DIR] [--chromium PATH] [--timeout-ms MS]
                                        [--browser-host]

Starts PATH ('tokencast host', LAN mode, no model) on 127.0.0.1 with a free port and a temporary
--db, launches one Chromium, does one untimed warm-up join, then N timed joins: each opens the
viewer link in a fresh browser context and waits for the client's tokencast:first-event mark.
Prints one JSON line to stdout (schema in bench/js/README.md) and progress to stderr.

Figures (ms; n, p50, p90, p99, max, and how many took over 1000 ms):
  link_to_dc_open        navigation start -> data channel open
  link_to_first_event    navigation start -> first event applied
  start_to_dc_open       tokencast:join-start -> data channel open (the protocol alone)
  start_to_first_event   tokencast:join-start -> first event applied

options:
  --bin PATH        the tokencast binary (e.g. build/tokencast); nothing is built
  --joins N         timed joins (default 30)
  --out FILE        also write the result, with every join's marks, to FILE
  --web-root DIR    serve the web client from DIR (e.g. web/dist) instead of the built-in copy
  --chromium PATH   the browser (default /usr/bin/chromium, or CHROMIUM_BIN)
  --timeout-ms MS   a join slower than this is a failure (default 10000)
  --browser-host    host from the host page instead: 'tokencast rendezvous' on the port, and
                    the session hosted by <base>/host (typed answers) in its own context of the
                    same Chromium; the joins are as above
  --help            show this help and exit

exit codes: 0 every join succeeded, 1 a join failed or the host/browser could not start,
2 bad usage
`;

const args = parseCommandLine(USAGE, {
  bin: { type: 'string' },
  joins: { type: 'string' },
  out: { type: 'string' },
  'web-root': { type: 'string' },
  chromium: { type: 'string' },
  'timeout-ms': { type: 'string' },
  'browser-host': { type: 'boolean' },
});
const BROWSER_HOST = args['browser-host'] === true;
if (!args.bin) usageError(USAGE, '--bin is required');
const BIN = resolve(args.bin);
const JOINS = args.joins === undefined ? 30 : positiveInt(USAGE, 'joins', args.joins);
const TIMEOUT_MS = args['timeout-ms'] === undefined ? 10000 : positiveInt(USAGE, 'timeout-ms', args['timeout-ms']);
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

const say = (s) => process.stderr.write(`chromium_join: ${s}\n`);

// --- Cleanup: the host is killed whatever happens (normal end, error, SIGINT/SIGTERM).
let host = null;
let browser = null;
let workDir = null;
function killHost() {
  if (host && host.exitCode === null && host.signalCode === null) host.kill('SIGKILL');
}
function removeWorkDir() {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = null;
}
process.on('exit', () => {
  killHost();
  removeWorkDir();
});
// On a signal: kill the host, close the browser (pending joins then fail at once), and let main()
// stop after the current join without printing a result; exit 128 + the signal's number.
let stopCode = null;
for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.on(sig, () => {
    if (stopCode !== null) return;
    stopCode = 128 + num;
    say(`${sig}: stopping`);
    killHost();
    if (browser) browser.close().catch(() => undefined);
    // If main() does not get there in time, exit anyway (playwright kills what is left of Chromium).
    setTimeout(() => process.exit(stopCode), 5000).unref();
  });
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Spawns `tokencast ARGV` as the bench's server (killed at exit); keeps its last 8 kB of output. */
function spawnServer(argv) {
  const proc = spawn(BIN, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  host = proc;
  const kept = { proc, output: '' };
  const keep = (d) => {
    kept.output = (kept.output + d).slice(-8000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  return kept;
}

/** Starts the host and resolves with its links; rejects with its output if it does not start. */
async function startHost(dir, port) {
  const linksFile = join(dir, 'links.json');
  rmSync(linksFile, { force: true });
  const argv = [
    'host',
    '--listen', `127.0.0.1:${port}`,
    '--public-url', `http://127.0.0.1:${port}`,
    '--db', join(dir, 'host.db'),
    '--links', linksFile,
    '--no-qr',
    '--title', 'chromium join bench',
    ...(WEB_ROOT ? ['--web-root', WEB_ROOT] : []),
  ];
  const server = spawnServer(argv);
  const proc = server.proc;
  let spawnError = null;
  proc.on('error', (e) => (spawnError = e));
  const deadline = Date.now() + 15000;
  for (;;) {
    if (spawnError) throw new Error(`cannot start ${BIN}: ${spawnError.message}`);
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw Object.assign(new Error(`the host exited (${proc.exitCode ?? proc.signalCode}) before writing its links:\n${server.output.trim()}`), {
        output: server.output,
      });
    }
    if (existsSync(linksFile)) {
      try {
        const links = JSON.parse(readFileSync(linksFile, 'utf8'));
        if (links.viewer) return { links, output: () => server.output };
      } catch {
        /* being written */
      }
    }
    if (Date.now() > deadline) throw new Error(`the host did not write its links within 15 s:\n${server.output.trim()}`);
    await sleep(25);
  }
}

/** --browser-host: starts 'tokencast rendezvous' and resolves once it answers /healthz. */
async function startRendezvous(port) {
  const argv = ['rendezvous', '--listen', `127.0.0.1:${port}`, ...(WEB_ROOT ? ['--web-root', WEB_ROOT] : [])];
  const server = spawnServer(argv);
  const proc = server.proc;
  const deadline = Date.now() + 15000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the rendezvous exited:\n${server.output.trim()}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`the rendezvous did not answer within 15 s:\n${server.output.trim()}`);
    await sleep(25);
  }
}

/** --browser-host: hosts the session from the host page; resolves with its links. */
async function startBrowserHost(port) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`http://127.0.0.1:${port}/host`);
  await page.check('input[name=source][value=typed]');
  await page.fill('#session-title', 'chromium join bench');
  await page.click('#start');
  await page.waitForFunction(() => window.tokencastHost?.online() === true, null, { timeout: 15000 });
  return { links: await page.evaluate(() => window.tokencastHost.links), page };
}

// Optional marks of attempt 1 (web/src/client/joiner.ts), [sample key, mark name], in order.
const DETAIL_MARKS = [
  ['offerMade', 'offer-made'],
  ['beacon', 'beacon'],
  ['offerSent', 'offer-sent'],
  ['answer', 'answer'],
  ['remoteSet', 'remote-set'],
  ['iceConnected', 'ice-connected'],
  ['pcConnected', 'pc-connected'],
];

/** One join: a fresh context opens the link; resolves with the page's marks, or throws. */
async function joinOnce(link) {
  const ctx = await browser.newContext();
  try {
    const page = await ctx.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    const started = Date.now();
    await page.goto(link, { waitUntil: 'commit', timeout: TIMEOUT_MS });
    const left = Math.max(1, TIMEOUT_MS - (Date.now() - started));
    try {
      // Done at the first event; also stop at once if the page is live but has no marks at all
      // (a client built before the marks existed) or if the join ended with an error.
      await page.waitForFunction(
        () => {
          const marks = performance.getEntriesByType('mark').filter((m) => m.name.startsWith('tokencast:'));
          const status = document.getElementById('status');
          return (
            marks.some((m) => m.name === 'tokencast:first-event') ||
            (status?.textContent === 'live' && marks.length === 0) ||
            status?.dataset.state === 'ended'
          );
        },
        null,
        { timeout: left, polling: 10 },
      );
    } catch (e) {
      const status = await page.textContent('#status').catch(() => '?');
      throw new Error(`no first event within ${TIMEOUT_MS} ms (page status: ${JSON.stringify(status)})${pageErrors.length ? `; page errors: ${pageErrors.join('; ')}` : ''}`);
    }
    const got = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return {
        timeOrigin: performance.timeOrigin,
        status: document.getElementById('status')?.textContent ?? null,
        notice: document.getElementById('notice')?.textContent ?? null,
        navigation: nav
          ? {
              responseEnd: nav.responseEnd,
              domInteractive: nav.domInteractive,
              domContentLoadedEventEnd: nav.domContentLoadedEventEnd,
            }
          : null,
        // The page's script (the first .js resource): when its bytes had arrived.
        script: (() => {
          const r = performance.getEntriesByType('resource').find((e) => /\.js(\?|$)/.test(e.name));
          return r ? { requestStart: r.requestStart, responseEnd: r.responseEnd } : null;
        })(),
        marks: performance
          .getEntriesByType('mark')
          .filter((m) => m.name.startsWith('tokencast:'))
          .map((m) => ({ name: m.name.slice('tokencast:'.length), startTime: m.startTime, detail: m.detail })),
      };
    });
    if (got.marks.length === 0) {
      throw Object.assign(
        new Error(
          'the served web client sets no tokencast: performance marks (it was built before they were added): ' +
            'rebuild the binary (cmake --build build) or pass --web-root web/dist after `npm run build` in web/',
        ),
        { fatal: true },
      );
    }
    const first = (name) => got.marks.find((m) => m.name === name && m.detail?.attempt === 1);
    const m = {
      start: first('join-start'),
      wsJoined: first('ws-joined'),
      open: first('dc-open'),
      welcomed: first('welcomed'),
      firstEvent: first('first-event'),
    };
    if (!m.firstEvent) {
      throw new Error(`the join ended without a first event (page status ${JSON.stringify(got.status)}: ${got.notice ?? ''})`);
    }
    for (const [k, v] of Object.entries(m)) if (!v) throw new Error(`mark ${k} is missing`);
    if (m.firstEvent.startTime > TIMEOUT_MS) throw new Error(`first event after ${m.firstEvent.startTime.toFixed(0)} ms`);
    // Finer marks, set by newer clients only (absent ones are left out): script start, the
    // stored copy restored, and the steps between the rendezvous and the open data channel.
    const detail = {};
    const scriptStart = got.marks.find((x) => x.name === 'script-start');
    if (scriptStart) detail.scriptStart = round(scriptStart.startTime);
    const restored = got.marks.find((x) => x.name === 'restored');
    if (restored) detail.restored = round(restored.startTime);
    for (const [k, name] of DETAIL_MARKS) {
      const x = first(name);
      if (x) detail[k] = round(x.startTime);
    }
    return {
      marks: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round(v.startTime)])),
      detail,
      script: got.script && Object.fromEntries(Object.entries(got.script).map(([k, v]) => [k, round(v)])),
      firstEventAtWelcome: m.firstEvent.detail?.atWelcome === true,
      attempts: Math.max(...got.marks.map((x) => x.detail?.attempt ?? 1)),
      navigation: got.navigation && Object.fromEntries(Object.entries(got.navigation).map(([k, v]) => [k, round(v)])),
    };
  } finally {
    await ctx.close().catch(() => undefined);
  }
}

function round2(x) {
  return Math.round(x * 100) / 100;
}

function round(x) {
  return Math.round(x * 1000) / 1000;
}

/** n, nearest-rank percentiles, max and the count over 1000 ms of a list of durations (ms). */
function summary(values) {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  const pct = (p) => (n ? round(v[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]) : null);
  return { n, p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: n ? round(v[n - 1]) : null, over_1000ms: v.filter((x) => x > 1000).length };
}

async function main() {
  workDir = mkdtempSync(join(tmpdir(), 'tokencast-chromium-join-'));
  let started = null;
  for (let tryNo = 1; !started; tryNo++) {
    const port = await freePort();
    try {
      if (BROWSER_HOST) {
        await startRendezvous(port);
        started = { port };
      } else {
        started = await startHost(workDir, port);
      }
      say(
        `${BROWSER_HOST ? 'rendezvous' : 'host'} on 127.0.0.1:${port} (pid ${host.pid})${WEB_ROOT ? `, web client from ${WEB_ROOT}` : ', built-in web client'}`,
      );
    } catch (e) {
      killHost();
      // Another process may have taken the port between the probe and the host's bind.
      if (tryNo < 3 && /address|in use|bind/i.test(e.message)) continue;
      throw e;
    }
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  if (BROWSER_HOST) {
    started = await startBrowserHost(started.port);
    say('hosting from the host page in its own browser context');
  }
  const link = started.links.viewer;
  const chromiumVersion = browser.version();
  say(`Chromium ${chromiumVersion}, ${JOINS} joins after one untimed warm-up, timeout ${TIMEOUT_MS} ms`);

  const failures = [];
  const loadAtStart = loadavg();
  if (stopCode !== null) return stopCode;
  try {
    const w = await joinOnce(link);
    say(`warm-up join (untimed): first event at ${w.marks.firstEvent.toFixed(1)} ms`);
  } catch (e) {
    if (e.fatal) throw e;
    failures.push({ join: 0, warmup: true, error: e.message });
    say(`warm-up join FAILED: ${e.message}`);
  }

  const samples = [];
  for (let i = 1; i <= JOINS && stopCode === null; i++) {
    try {
      const r = await joinOnce(link);
      samples.push({ join: i, ...r });
      const { start, open, firstEvent } = r.marks;
      say(
        `join ${String(i).padStart(3)}: link->open ${open.toFixed(1)} ms, link->first event ${firstEvent.toFixed(1)} ms, ` +
          `start->open ${(open - start).toFixed(1)} ms, start->first event ${(firstEvent - start).toFixed(1)} ms` +
          `${r.firstEventAtWelcome ? ' (first event = welcome)' : ''}${r.attempts > 1 ? ` (${r.attempts} attempts)` : ''}`,
      );
    } catch (e) {
      if (e.fatal) throw e;
      if (stopCode !== null) break;
      failures.push({ join: i, error: e.message });
      say(`join ${String(i).padStart(3)}: FAILED: ${e.message}`);
    }
  }

  if (stopCode !== null) return stopCode;
  const series = (f) => summary(samples.map((s) => f(s.marks)));
  const result = {
    host: BROWSER_HOST ? 'browser (host page, typed answers)' : 'native (tokencast host, LAN mode)',
    joins: JOINS,
    succeeded: samples.length,
    failed: failures.filter((f) => !f.warmup).length,
    warmup: 'one untimed join before the timed ones, not counted',
    warmup_failed: failures.some((f) => f.warmup),
    timeout_ms: TIMEOUT_MS,
    link_to_dc_open: series((m) => m.open),
    link_to_first_event: series((m) => m.firstEvent),
    start_to_dc_open: series((m) => m.open - m.start),
    start_to_first_event: series((m) => m.firstEvent - m.start),
    breakdown_p50: {
      link_to_response_end: summary(samples.filter((s) => s.navigation).map((s) => s.navigation.responseEnd)).p50,
      link_to_dom_content_loaded: summary(samples.filter((s) => s.navigation).map((s) => s.navigation.domContentLoadedEventEnd)).p50,
      link_to_start: series((m) => m.start).p50,
      start_to_ws_joined: series((m) => m.wsJoined - m.start).p50,
      ws_joined_to_dc_open: series((m) => m.open - m.wsJoined).p50,
      dc_open_to_welcomed: series((m) => m.welcomed - m.open).p50,
      welcomed_to_first_event: series((m) => m.firstEvent - m.welcomed).p50,
    },
    // Medians of finer steps, from marks only newer clients set (null when absent): each is
    // navigation start -> the mark, so they can be read against the steps above.
    detail_p50: Object.fromEntries(
      [
        ['link_to_script_response_end', (s) => s.script?.responseEnd],
        ['link_to_script_start', (s) => s.detail.scriptStart],
        ['link_to_restored', (s) => s.detail.restored],
        ...DETAIL_MARKS.map(([k, name]) => [`link_to_${name.replace(/-/g, '_')}`, (s) => s.detail[k]]),
        ['link_to_ws_joined', (s) => s.marks.wsJoined],
        ['link_to_dc_open', (s) => s.marks.open],
      ].map(([k, f]) => {
        const v = samples.map(f).filter((x) => typeof x === 'number');
        return [k, v.length ? summary(v).p50 : null];
      }),
    ),
    first_event_at_welcome: samples.filter((s) => s.firstEventAtWelcome).length,
    failures,
    // The machine's 1/5/15-minute load averages before the warm-up and after the last join: joins
    // share 2 cores with the host and anything else running, so read outliers against these.
    load_average: { start: loadAtStart.map(round2), end: loadavg().map(round2) },
    web_client: WEB_ROOT ? `--web-root ${WEB_ROOT}` : 'built into the binary',
    versions: { chromium: chromiumVersion, 'playwright-core': await installedVersion('playwright-core') },
  };
  const fmt = (name, s) => `${name}: n ${s.n}, p50 ${s.p50}, p90 ${s.p90}, p99 ${s.p99}, max ${s.max} ms, ${s.over_1000ms} over 1 s`;
  say(fmt('link -> data channel open ', result.link_to_dc_open));
  say(fmt('link -> first event       ', result.link_to_first_event));
  say(fmt('start -> data channel open', result.start_to_dc_open));
  say(fmt('start -> first event      ', result.start_to_first_event));
  if (failures.length) say(`${failures.length} join(s) FAILED`);

  if (args.out) writeFileSync(args.out, JSON.stringify({ ...result, samples }, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result) + '\n');
  return failures.length ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  if (stopCode === null) say(`error: ${e.message}`);
  code = 1;
} finally {
  if (browser) await browser.close().catch(() => undefined);
  if (host && host.exitCode === null && host.signalCode === null) {
    const exited = new Promise((r) => host.once('exit', r));
    killHost();
    await Promise.race([exited, sleep(2000)]); // reap it before leaving
  }
  removeWorkDir();
}
process.exit(stopCode ?? code);
