// tests/natlab/browser.mjs - Debian's Chromium as a lab joiner, driven by playwright-core.
// Run inside the joiner's namespace (ip netns exec NS node browser.mjs ...), so the browser
// and everything it starts live there. It opens the participant link, waits until the page is
// live, sends a prompt, waits for the answer to end and compares the answer's code block (the
// lab's answer is one fenced block, so its text is the raw answer) with the expected bytes.
//
// usage: node browser.mjs LINK EXPECTED_FILE RESULT_JSON [LIVE_TIMEOUT_MS]
// Prints nothing on success; writes RESULT_JSON: {live_ms, done_ms, ok, detail, notice,
// statuses, assistant_turns}.
// Environment, for the cases that cut or move links while the page is open:
//   NATLAB_EVENTS=FILE        appends one line per state as it happens (epoch ms first), for the
//                             lab to wait on:
//                             "<ms> status <state> <text>" (each change of the connection
//                             indicator #status: connecting, connected, reconnecting, ended),
//                             "<ms> live", "<ms> lines <n>" (answer lines shown so far)
//   NATLAB_WATCH_PROMPT=TEXT  sends no prompt: watches the answer to another participant's
//                             prompt TEXT (the native joiner's), so one answer is cut for both
//   NATLAB_ANSWER_TIMEOUT_MS  how long the answer may take (default 90000)
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { chromium } = await import(resolve(here, '../../web/node_modules/playwright-core/index.mjs'));

const [link, expectedFile, resultFile, liveTimeoutArg] = process.argv.slice(2);
const liveTimeout = Number(liveTimeoutArg ?? 30000);
// The answer file is a fenced block: the code element holds the lines between the fences.
const expectedRaw = readFileSync(expectedFile, 'utf8');
const expectedMarkdownCode = expectedRaw.replace(/^```\n/, '').replace(/```\n$/, '');

const eventsFile = process.env.NATLAB_EVENTS ?? '';
const watchPrompt = process.env.NATLAB_WATCH_PROMPT ?? '';
const answerTimeout = Number(process.env.NATLAB_ANSWER_TIMEOUT_MS ?? 90000);
const result = { live_ms: null, done_ms: null, ok: false, detail: '', notice: '', statuses: [], assistant_turns: null };
const t0 = Date.now();
const event = (line) => {
  if (eventsFile) appendFileSync(eventsFile, `${Date.now()} ${line}\n`);
};
let browser;
try {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // the lab's TURN TLS certificate is self-signed: trust that one key and nothing else
      ...(process.env.NATLAB_TRUST_SPKI ? [`--ignore-certificate-errors-spki-list=${process.env.NATLAB_TRUST_SPKI}`] : [])],
  });
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  await ctx.addInitScript(() => localStorage.setItem('tokencast.name', 'chromium'));
  const page = await ctx.newPage();
  page.on('dialog', (d) => void d.dismiss());
  // every change of the connection indicator, as the page shows it
  await page.exposeFunction('natlabStatus', (state, text) => {
    result.statuses.push({ ms: Date.now() - t0, state, text });
    event(`status ${state} ${text}`);
  });
  await page.addInitScript(() => {
    addEventListener('DOMContentLoaded', () => {
      const el = document.getElementById('status');
      if (!el) return;
      let last = '';
      const report = () => {
        const now = `${el.dataset.state ?? ''}\t${el.textContent ?? ''}`;
        if (now === last) return;
        last = now;
        window.natlabStatus(el.dataset.state ?? '', el.textContent ?? '');
      };
      new MutationObserver(report).observe(el, { attributes: true, childList: true, characterData: true, subtree: true });
      report();
    });
  });
  const started = Date.now();
  await page.goto(link);
  try {
    // live, or given up (the page says the connection was lost): no need to wait longer
    await page.waitForFunction(() => {
      const s = document.getElementById('status')?.textContent ?? '';
      return s === 'live' || /lost|failed|could not|refused/i.test(s);
    }, null, { timeout: liveTimeout });
    if ((await page.textContent('#status')) !== 'live') throw new Error('gave up');
  } catch (e) {
    result.notice = (await page.textContent('#notice').catch(() => '')) ?? '';
    result.detail = `not live after ${Date.now() - started} ms (status ${await page.textContent('#status').catch(() => '?')})`;
    throw e;
  }
  result.live_ms = Date.now() - started;
  event('live');
  const prompt = watchPrompt || 'natlab from chromium';
  if (!watchPrompt) {
    await page.fill('#prompt', prompt);
    await page.click('#send');
  }
  // how many answer lines the page shows, as they arrive (the lab cuts links mid-answer)
  let shownLines = -1;
  const progress = setInterval(() => {
    page.evaluate((p) => {
      const lis = [...document.querySelectorAll('#transcript > li')];
      const mine = lis.findIndex((li) => li.querySelector('.body')?.textContent?.trim() === p);
      const answer = mine < 0 ? null : lis.slice(mine + 1).find((li) => li.classList.contains('assistant'));
      return ((answer?.querySelector('.body')?.textContent ?? '').match(/natlab line \d+/g) ?? []).length;
    }, prompt).then((n) => {
      if (n !== shownLines) event(`lines ${(shownLines = n)}`);
    }, () => undefined);
  }, 100);
  // the answer to the prompt: the first finished assistant turn after it
  const handle = await page.waitForFunction((prompt) => {
    const lis = [...document.querySelectorAll('#transcript > li')];
    const mine = lis.findIndex((li) => li.querySelector('.body')?.textContent?.trim() === prompt);
    if (mine < 0) return null;
    const answer = lis.slice(mine + 1).find((li) => li.classList.contains('assistant'));
    if (!answer || answer.classList.contains('open')) return null;
    // as plain text (data-format="text", the raw answer), or as Markdown (the fenced block's
    // code element holds the lines between the fences)
    const body = answer.querySelector('.body');
    if (!body) return null;
    if (body.getAttribute('data-format') === 'text') return { format: 'text', text: body.textContent ?? '' };
    const code = body.querySelector('code');
    return code ? { format: 'markdown', text: code.textContent ?? '' } : null;
  }, prompt, { timeout: answerTimeout, polling: 100 });
  clearInterval(progress);
  result.done_ms = Date.now() - started;
  // every assistant turn the page shows, as text (the lab compares them with the host's store)
  result.assistant_turns = await page.evaluate(() => [...document.querySelectorAll('#transcript > li.assistant')].map((li) => {
    const body = li.querySelector('.body');
    const text = body?.getAttribute('data-format') === 'text' ? body.textContent : (body?.querySelector('code')?.textContent ?? body?.textContent);
    return { open: li.classList.contains('open'), text: text ?? '' };
  }));
  const shown = await handle.jsonValue();
  const last = shown.text;
  const expectedCode = shown.format === 'text' ? expectedRaw : expectedMarkdownCode;
  result.ok = last === expectedCode;
  result.detail = result.ok ? `${Buffer.byteLength(last)} bytes equal (shown as ${shown.format})`
    : `answer (${shown.format}) differs: got ${Buffer.byteLength(last)} bytes, expected ${Buffer.byteLength(expectedCode)}`;
} catch (e) {
  if (!result.detail) result.detail = String(e?.message ?? e).split('\n')[0];
}
result.total_ms = Date.now() - t0;
writeFileSync(resultFile, JSON.stringify(result) + '\n');
// No graceful close (it takes seconds on a busy machine): playwright kills the browser it
// launched when this process exits, and the lab ends whatever is left in its namespace.
process.exit(result.ok ? 0 : 1);
