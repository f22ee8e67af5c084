// Renders build/bench-results/ (written by bench/run) as the results section of
// docs/BENCHMARKS.md: every figure with its target, the median over repeated runs, the range,
// and whether the target is met (and by how much it is missed).
//
//   node bench/report.mjs RESULTS_DIR [DOC]
//
// With DOC, the text between "<!-- bench:begin -->" and "<!-- bench:end -->" is replaced;
// without, the section is printed.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join as pathJoin } from 'node:path';

const [dir, doc] = process.argv.slice(2);
if (!dir || !existsSync(dir)) {
  console.error('usage: node bench/report.mjs RESULTS_DIR [DOC]');
  process.exit(2);
}

const load = (name) => {
  const file = pathJoin(dir, `${name}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
};
const machine = JSON.parse(readFileSync(pathJoin(dir, 'machine.json'), 'utf8'));

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (!v.length) return NaN;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const fmt = (x, digits) => {
  if (typeof x !== 'number' || Number.isNaN(x)) return 'n/a';
  if (digits === undefined) digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
};
// "median (min-max over n runs)" of one field across runs.
const over = (runs, pick, digits, unit = '') => {
  const xs = runs.map(pick).filter((x) => typeof x === 'number');
  if (!xs.length) return 'n/a';
  const m = `${fmt(median(xs), digits)}${unit}`;
  if (xs.length === 1) return m;
  return `${m} (${fmt(Math.min(...xs), digits)}-${fmt(Math.max(...xs), digits)}, ${xs.length} runs)`;
};
// Verdict for "value <= limit" (or >= when higher is better), with the miss in percent.
const verdict = (value, limit, higherIsBetter = false) => {
  if (typeof value !== 'number' || Number.isNaN(value)) return 'not measured';
  const ok = higherIsBetter ? value >= limit : value <= limit;
  if (ok) return '**met**';
  const by = higherIsBetter ? (limit - value) / limit : (value - limit) / limit;
  return `**missed** by ${fmt(by * 100, 0)} %`;
};

const lines = [];
const row = (...cells) => lines.push(`| ${cells.join(' | ')} |`);
const head = (...cells) => {
  row(...cells);
  row(...cells.map(() => '---'));
};

lines.push(
  `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memory_gib} GiB, ${machine.os}, ` +
    `kernel ${machine.kernel}; commit ${machine.commit}, ${machine.date}; load average before ` +
    `the run ${machine.load_before}. Produced by \`bench/run\`` +
    (machine.quick ? ' --quick (small sizes: not the published figures).' : '.'),
);
lines.push('');

// 1. Join time.
const join = load('join');
const chromium = load('chromium');
const chromiumBrowserHost = load('chromium_browser_host');
lines.push('### 1. Join time');
lines.push('');
head('figure', 'target', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'over 1 s', 'verdict');
const joinRow = (label, runs, key, targetText, p99Limit, p50Limit) => {
  if (!runs.length) return;
  const p99 = median(runs.map((r) => r[key]?.p99));
  const p50 = median(runs.map((r) => r[key]?.p50));
  const overs = runs.reduce((s, r) => s + (r[key]?.over_1s ?? r[key]?.over_1000ms ?? 0), 0);
  let v = p99Limit === undefined ? '-' : verdict(p99, p99Limit);
  if (p50Limit !== undefined && verdict(p50, p50Limit) !== '**met**') v = `p50 ${verdict(p50, p50Limit)}; p99 ${v}`;
  if (overs > 0) v += `; ${overs} over 1 s`;
  row(
    label,
    targetText,
    over(runs, (r) => r[key]?.p50),
    over(runs, (r) => r[key]?.p90),
    over(runs, (r) => r[key]?.p99),
    over(runs, (r) => r[key]?.max),
    `${overs} of ${runs.reduce((s, r) => s + (r[key]?.n ?? 0), 0)}`,
    v,
  );
};
joinRow(`native, link -> data channel open (${join[0]?.joins ?? '?'} joins per run)`, join, 'open_ms', 'p99 <= 50 ms, none over 1 s', 50);
joinRow('native, link -> first event', join, 'first_event_ms', 'p99 <= 50 ms, none over 1 s', 50);
joinRow(
  `Chromium, link opened -> first event (page load from the host included; ${chromium[0]?.joins ?? '?'} joins per run)`,
  chromium,
  'link_to_first_event',
  'p50 <= 120 ms, p99 <= 300 ms',
  300,
  120,
);
joinRow('Chromium, link opened -> data channel open', chromium, 'link_to_dc_open', '-');
joinRow('Chromium, client start -> first event (protocol alone)', chromium, 'start_to_first_event', '-');
// The same joins to a session hosted by the host page (/host) in Chromium instead of tokencast host.
joinRow('Chromium, browser host (host page), link opened -> first event', chromiumBrowserHost, 'link_to_first_event', '-');
joinRow('Chromium, browser host (host page), client start -> first event', chromiumBrowserHost, 'start_to_first_event', '-');
if (chromium.length) {
  const b = chromium[0].breakdown_p50 ?? {};
  lines.push('');
  lines.push(
    `Chromium step medians (first run): page response ${fmt(b.link_to_response_end)} ms, page ` +
      `loaded ${fmt(b.link_to_dom_content_loaded)} ms, client started ${fmt(b.link_to_start)} ms; ` +
      `then rendezvous joined +${fmt(b.start_to_ws_joined)}, data channel open ` +
      `+${fmt(b.ws_joined_to_dc_open)}, welcomed +${fmt(b.dc_open_to_welcomed)}, first event ` +
      `+${fmt(b.welcomed_to_first_event)} ms. Chromium ${chromium[0].versions?.chromium ?? '?'}.`,
  );
}
lines.push('');

// 1b. Joins under attack (bench/attack_bench.cpp).
const attack = load('attack');
if (attack.length) {
  const a = attack[0];
  lines.push(
    `### 1b. Joins under attack: ${a.attackers} link holders flood the host with authentic offers ` +
      `(${fmt(a.offers_per_second, 0)}/s asked, ${fmt(a.offers_sent_per_second, 0)}/s sent) and junk envelopes ` +
      `(${fmt(a.envelopes_per_second, 0)}/s asked, ${fmt(a.envelopes_sent_per_second, 0)}/s sent) ` +
      `through the rendezvous while ${a.joins} native joiners join one by one`,
  );
  lines.push('');
  head('figure', 'target', 'p50 ms', 'p99 ms', 'max ms', 'refused', 'failed', 'peak memory', 'verdict');
  for (const [label, key, refused, failed, peak, target, limit] of [
    ['without attack, link -> first event', 'calm_ms', 'calm_refused', 'calm_failed', 'calm_peak_rss_mb', '-', undefined],
    ['under attack, link -> first event', 'attack_ms', 'attack_refused', 'attack_failed', 'attack_peak_rss_mb', 'p99 <= 2 s, none refused', 2000],
  ]) {
    const p99 = median(attack.map((r) => r[key]?.p99));
    const refusedSum = attack.reduce((t, r) => t + (r[refused] ?? 0) + (r[failed] ?? 0), 0);
    let v = limit === undefined ? '-' : verdict(p99, limit);
    if (limit !== undefined && refusedSum > 0) v += `; ${refusedSum} not in`;
    row(
      label,
      target,
      over(attack, (r) => r[key]?.p50),
      over(attack, (r) => r[key]?.p99),
      over(attack, (r) => r[key]?.max),
      `${attack.reduce((t, r) => t + (r[refused] ?? 0), 0)}`,
      `${attack.reduce((t, r) => t + (r[failed] ?? 0), 0)}`,
      over(attack, (r) => r[peak], 0, ' MB'),
      v,
    );
  }
  lines.push('');
  lines.push(
    `Host counters (first run): ${fmt(a.offers_dropped_busy, 0)} offers dropped unopened (sender already ` +
      `pending), ${fmt(a.envelopes_dropped, 0)} envelopes over the inbox's bounds, ` +
      `${fmt(a.envelopes_refused, 0)} refused by the handshake. Peak memory is the whole process's ` +
      `(host, rendezvous, attackers and joiners). \`bench/attack_bench\`.`,
  );
  lines.push('');
}

// 2. Added token latency.
const fanout = load('fanout');
const fanoutDisk = load('fanout_disk');
lines.push('### 2. Added token latency (token handed to the host -> decoded by the peer), 100 tokens/s');
lines.push('');
head(
  'peers',
  'store',
  'p50 ms',
  'p99 ms',
  'p99.9 ms',
  'max ms',
  'host CPU per token per peer',
  "peers' CPU per token per peer",
  'host memory per peer',
  'target',
  'verdict',
);
// One row per peer count: medians over the runs of that count, with their range.
const latencyRow = (runs, store) => {
  const peers = runs[0].peers;
  const lat = (key) => (r) => r.peer_side?.latency_ms?.[key];
  let target = '-';
  let v = '-';
  if (peers === 100) {
    target = 'p50 <= 0.2 ms, p99 <= 1 ms';
    v = `p50 ${verdict(median(runs.map(lat('p50'))), 0.2)}, p99 ${verdict(median(runs.map(lat('p99'))), 1)}`;
  } else if (peers === 1000) {
    target = 'p99 <= 20 ms';
    v = verdict(median(runs.map(lat('p99'))), 20);
  }
  const mem = over(runs, (r) => r.host_rss_per_peer_kb, 0, ' KB');
  row(
    peers,
    store,
    over(runs, lat('p50')),
    over(runs, lat('p99')),
    over(runs, lat('p999')),
    over(runs, lat('max')),
    `${over(runs, (r) => r.host_cpu_us_per_token_per_peer_less_idle, 1, ' µs')}; ${over(runs, (r) => r.host_cpu_us_per_token_per_peer, 1, ' µs')} with keepalives`,
    over(runs, (r) => (r.peer_side?.peer_side_cpu_seconds / (r.tokens * r.peers)) * 1e6, 1, ' µs'),
    peers >= 100 ? mem : `${mem} (fixed costs dominate)`,
    target,
    v,
  );
};
const byPeers = (runs) => {
  const groups = new Map();
  for (const r of runs) groups.set(r.peers, [...(groups.get(r.peers) ?? []), r]);
  return [...groups.values()].sort((a, b) => a[0].peers - b[0].peers);
};
for (const runs of byPeers(fanout)) latencyRow(runs, 'tmpfs');
for (const runs of byPeers(fanoutDisk)) latencyRow(runs, 'disk (fsync)');
if (fanout.length) {
  const t = fanout[0];
  lines.push('');
  lines.push(
    `${t.tokens} tokens per peer count. Host CPU is the host process's CPU time while streaming ` +
      `divided by tokens x peers, less its idle rate with the same peers connected (keepalives, ` +
      `ICE consent). Peers run in a second process on the same ${machine.cores} cores.`,
  );
  const mem = byPeers(fanout.filter((r) => r.peers >= 100)).map((runs) => median(runs.map((r) => r.host_rss_per_peer_kb)));
  if (mem.length) {
    lines.push('');
    lines.push(
      `Memory per connected peer (host RSS growth / peers, 100 peers and more): ` +
        `${fmt(median(mem), 0)} KB median; target <= 250 KB: ${verdict(median(mem), 250)}.`,
    );
  }
}
lines.push('');

// 2b. To a browser viewer, from a browser host (the host page) and from the native host.
const browserLatency = load('browser_host_latency');
if (browserLatency.length) {
  lines.push('### 2b. Added token latency to a browser viewer: browser host (host page) and native host, 1 peer');
  lines.push('');
  head('host', 'from -> to', 'tokens, rate', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms');
  const span = {
    handed_to_received: 'token handed to the host page\'s session -> viewer\'s data channel',
    handed_to_rendered: 'token handed to the host page\'s session -> on the viewer\'s screen (DOM)',
    handed_to_sent: 'of which: handed -> the frame given to the data channel',
    sent_to_received: 'of which: data channel send -> viewer\'s data channel',
    server_to_handed: 'model server wrote it -> handed to the host page\'s session',
    server_to_received: 'model server wrote it -> viewer\'s data channel',
    server_to_rendered: 'model server wrote it -> on the viewer\'s screen (DOM)',
  };
  for (const r of browserLatency) {
    const who = r.host.startsWith('native') ? 'native (`tokencast host --llm`)' : 'browser (host page)';
    for (const [key, label] of Object.entries(span)) {
      const s = r[key];
      if (!s) continue;
      row(who, label, `${r.tokens} at ${r.rate_per_s}/s`, fmt(s.p50), fmt(s.p90), fmt(s.p99), fmt(s.max));
    }
  }
  lines.push('');
  lines.push(
    `One run each of \`node bench/js/browser_host_latency.mjs --bin build/tokencast\` (and \`--native-host\`); ` +
      `the first ${browserLatency[0].warmup_tokens} tokens are not counted. Host, viewer and model server share the machine's cores.`,
  );
  lines.push('');
}

// 3. Bytes per token.
const wire = load('wire').filter((r) => r.measure === 'live');
const crdt = load('crdt');
lines.push('### 3. Bytes per streamed token on the data channel (payload), real answer');
lines.push('');
head('answer', 'system', 'bytes', 'bytes per token', 'x the text', 'x tokencast', 'target');
for (const w of wire) {
  const c = crdt.find((x) => x.tokens === w.tokens);
  const per = (b) => b / w.tokens;
  const label = `${fmt(w.tokens, 0)} tokens, ${fmt(w.text_bytes, 0)} B of text (${fmt(per(w.text_bytes))} B/token)`;
  const ours = per(w.payload_bytes);
  row(label, '**tokencast**', fmt(w.payload_bytes, 0), fmt(ours), fmt(w.payload_bytes / w.text_bytes), '1', `<= text + 4 B (${fmt(per(w.text_bytes) + 4)} B): ${verdict(ours, per(w.text_bytes) + 4)}`);
  if (!c) continue;
  if (c.text_bytes !== w.text_bytes) row(label, '(the CRDT run saw different text: not comparable)', '', '', '', '', '');
  const alt = [
    ['Yjs, incremental updates', c.yjs_incremental],
    ['Yjs, whole state per token', c.yjs_whole_state],
    ['Automerge, one change per token', c.automerge_change],
    ['Automerge, sync protocol (both directions)', c.automerge_sync],
  ];
  for (const [name, bytes] of alt) {
    if (typeof bytes !== 'number') continue;
    row('', name, fmt(bytes, 0), fmt(per(bytes)), fmt(bytes / w.text_bytes), fmt(bytes / w.payload_bytes), '');
  }
}
if (crdt.length) {
  lines.push('');
  lines.push(
    `Same tokens, same run: \`bench/data/answer.tokens.json\` (o200k_base). yjs ${crdt[0].versions?.yjs}, ` +
      `@automerge/automerge ${crdt[0].versions?.['@automerge/automerge']}. tokencast's figure is ` +
      `every byte handed to the data channel from the answer's first token to its last, one ` +
      `frame per token (no merging).`,
  );
}
lines.push('');

// 4. Catch-up.
const cu = load('wire').find((r) => r.measure === 'catchup');
const catchup = load('catchup');
lines.push(`### 4. Late joiner catch-up of a ${cu ? fmt(cu.tokens, 0) : '?'}-token session`);
lines.push('');
head('figure', 'target', 'result', 'verdict');
if (cu) {
  row(
    `bytes / text bytes (${fmt(cu.tokens, 0)} tokens, ${fmt(cu.text_bytes, 0)} B of text)`,
    '<= 1.05x',
    `${fmt(cu.payload_bytes / cu.text_bytes, 3)}x (${fmt(cu.payload_bytes, 0)} B in ${cu.messages} messages)`,
    verdict(cu.payload_bytes / cu.text_bytes, 1.05),
  );
}
if (catchup.length) {
  const p50 = median(catchup.map((r) => r.link_to_caught_up_ms?.p50));
  row(
    `time: link in hand -> whole session held (native, ${catchup[0].link_to_caught_up_ms?.n} joins per run)`,
    '<= 100 ms',
    `p50 ${over(catchup, (r) => r.link_to_caught_up_ms?.p50)} ms, max ${over(catchup, (r) => r.link_to_caught_up_ms?.max)} ms`,
    verdict(p50, 100),
  );
}
lines.push('');

// 5. Rendezvous.
const rv = load('rendezvous');
lines.push('### 5. Rendezvous');
lines.push('');
head('figure', 'target', 'result', 'verdict');
if (rv.length) {
  row('concurrent WebSocket connections held', '>= 10,000', `${over(rv, (r) => r.connections, 0)} (${over(rv, (r) => r.rss_kib_per_connection, 1)} KiB each)`, verdict(median(rv.map((r) => r.connections)), 10000, true));
  row(`envelopes relayed per second of server CPU (${rv[0].envelope_bytes} B)`, '>= 50,000 per core', over(rv, (r) => r.relay_per_cpu_s, 0), verdict(median(rv.map((r) => r.relay_per_cpu_s)), 50000, true));
  row('envelopes relayed per second (wall clock)', '-', `${over(rv, (r) => r.relay_per_s, 0)} at ${over(rv, (r) => r.server_cpu_percent, 0)} % of a core`, '');
}
// The same bench with one instance and with three sharing rooms through NATS, in one run.
const rvc = load('rendezvous_cluster');
for (const r of rvc) {
  const n = r.instances;
  const label = n > 1 ? `${n} instances on NATS, peers of a pair on different ones` : '1 instance, same run';
  row(`${label}: meet time (second peer connects -> both know each other), p50 / p99`, '-', `${fmt(r.meet_p50_ms)} / ${fmt(r.meet_p99_ms)} ms`, '');
  row(`${label}: connections held, memory each`, '-', `${r.connections} (${r.rss_kib_per_connection.toFixed(1)} KiB)`, '');
  row(`${label}: envelopes relayed per second (wall clock), per server CPU-second`, '-', `${Math.round(r.relay_per_s)}, ${Math.round(r.relay_per_cpu_s)} at ${Math.round(r.server_cpu_percent)} % of a core`, '');
}
const rva = load('rendezvous_attack');
if (rva.length) {
  const a = rva[0];
  row(`well-behaved join to a held room under attack (${a.holders} held, ${a.tricklers} trickling, ${a.room_openers} room openers), p50 / p99 / max`, '-', `${fmt(a.join_ms.p50)} / ${fmt(a.join_ms.p99)} / ${fmt(a.join_ms.max)} ms (${a.joins_failed} of ${a.join_ms.n + a.joins_failed} failed)`, '');
  if (a.new_host_ms) {
    row(`new host opening its room under that attack (own address; server-wide room budget ${a.budget_spent_meanwhile ? 'spent' : 'not spent'} meanwhile), p50 / p99 / max`, '-', `${fmt(a.new_host_ms.p50)} / ${fmt(a.new_host_ms.p99)} / ${fmt(a.new_host_ms.max)} ms (${a.new_hosts_failed} of ${a.new_hosts} failed)`, '');
  }
  row('rendezvous peak memory under that attack', '-', `${Math.round(a.server_peak_rss_kib / 1024)} MiB (attackers opened ${a.rooms_opened} rooms, ${a.rooms_refused} refused)`, '');
}
lines.push('');

// 6. Store.
const store = load('store');
const storeRate = load('store_rate');
lines.push('### 6. Host store (SQLite WAL, synchronous=FULL, group commit)');
lines.push('');
head('figure', 'target', 'result', 'verdict');
if (store.length) {
  row('events appended durably per second', '>= 100,000', `${over(store, (r) => r.events_per_second, 0)} (${over(store, (r) => r.events_per_commit, 0)} events per commit)`, verdict(median(store.map((r) => r.events_per_second)), 100000, true));
}
if (storeRate.length) {
  row('wait until durable at 100 tokens/s (group-commit delay), p50', '-', `${over(storeRate, (r) => r.durable_wait_ms?.p50)} ms`, '');
  row('same, p99', '<= 5 ms', `${over(storeRate, (r) => r.durable_wait_ms?.p99)} ms`, verdict(median(storeRate.map((r) => r.durable_wait_ms?.p99)), 5));
}
lines.push('');

// Data channel alone.
const rtc = load('rtc');
if (rtc.length) {
  const r = rtc[0];
  lines.push('### Data channel alone (native pairs in one process, no rendezvous or handshake)');
  lines.push('');
  head('figure', 'target', 'result', 'verdict');
  row(`setup (${r.setup_ms?.n} pairs)`, '-', `p50 ${fmt(r.setup_ms?.p50)} ms, p99 ${fmt(r.setup_ms?.p99)} ms, max ${fmt(r.setup_ms?.max)} ms, ${r.setup_ms?.over_1s} over 1 s`, '');
  row('round trip, 6-byte message', '-', `p50 ${fmt(r.rtt_us?.p50, 0)} µs, p99 ${fmt(r.rtt_us?.p99, 0)} µs`, '');
  row('memory per peer connection (RSS)', '<= 250 KB', `${fmt(r.rss_kb_per_connection, 0)} KB`, verdict(r.rss_kb_per_connection, 250));
  lines.push('');
}

const section = lines.join('\n');
if (!doc) {
  process.stdout.write(section + '\n');
} else {
  const text = readFileSync(doc, 'utf8');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) {
    console.error(`${doc}: no ${begin} ... ${end} section to replace`);
    process.exit(1);
  }
  writeFileSync(doc, text.slice(0, a + begin.length) + '\n' + section + '\n' + text.slice(b));
}
