// Bench tooling of the NAT lab: Chromium opens a participant link N times (a fresh context each
// time) and reports, per join, from navigation start: when the page's DOM was ready and when
// the status first read "live" (recorded inside the page by a MutationObserver, not polled),
// and the joiner's performance marks.
// usage: node rtt_browser.mjs LINK N OUT.json [relay]
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { chromium } = await import(resolve(here, '../../web/node_modules/playwright-core/index.mjs'));

const [link, count, outFile, mode] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const joins = [];
for (let i = 0; i < Number(count); i++) {
  const ctx = await browser.newContext();
  await ctx.addInitScript((relay) => {
    localStorage.setItem('tokencast.name', 'rtt');
    if (relay) localStorage.setItem('tokencast.relay', '1');
    const observer = new MutationObserver(() => {
      if (document.getElementById('status')?.textContent === 'live') {
        window.__liveAt = performance.now();
        observer.disconnect();
      }
    });
    observer.observe(document, { subtree: true, childList: true, characterData: true });
  }, mode === 'relay');
  const page = await ctx.newPage();
  await page.goto(link);
  await page.waitForFunction(() => window.__liveAt !== undefined, null, { timeout: 60000 });
  joins.push(await page.evaluate(() => ({
    dom_ms: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
    live_ms: window.__liveAt,
    // The joiner's own steps (web/src/client/joiner.ts perfMark), ms from navigation start:
    // where a slow join spent its round trips.
    marks: Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, Math.round(m.startTime)])),
  })));
  await ctx.close();
}
await browser.close();
writeFileSync(outFile, JSON.stringify(joins) + '\n');
