/**
 * The experiments page: the list, and the chosen experiment's progress (its SSE feed, read with
 * fetch so the token can be sent), per-run figures, charts and downloads, refreshed while it runs.
 */
import { api, apiJson, download, loadableUrl, postJson, readEventStream } from './api.js';
import { formatTime, h, replace } from './dom.js';

const REFRESH_MS = 2000;
const $ = (id) => document.getElementById(id);
let chosen = new URLSearchParams(location.search).get('id');
let following = null;
let chartsShown = null;
const chartUrls = [];

const secs = (v) => (v === null || v === undefined ? 'n/a' : `${v} s`);
const pct = (v) => (v === null || v === undefined ? 'n/a' : `${Math.round(v * 1000) / 10} %`);
const signed = (v, unit) => (v === null || v === undefined ? 'n/a' : `${v > 0 ? '+' : ''}${v}${unit}`);
const filePath = (id, name) => `/experiments/${encodeURIComponent(id)}/files/${name.split('/').map(encodeURIComponent).join('/')}`;

async function refreshList() {
  const { experiments } = await apiJson('/experiments');
  if (!chosen && experiments[0]) chosen = experiments[0].experiment_id;
  replace(
    $('experiment-list'),
    ...experiments.map((e) =>
      h(
        'li',
        {},
        h(
          'a',
          { href: `?id=${encodeURIComponent(e.experiment_id)}`, class: e.experiment_id === chosen ? 'active' : '' },
          `${e.title} · ${e.status}${e.all_held === null ? '' : e.all_held ? ' · held' : ' · NOT held'}`,
          h('br'),
          h('small', {}, `${formatTime(e.created_at)} · ${e.target}`),
        ),
      ),
    ),
  );
}

function phase(run, name) {
  const p = run.steady_state[name];
  if (!p.checks.length) return '–';
  return p.met ? 'met' : 'deviated';
}

function runRow(r) {
  const label = r.kind === 'baseline' ? 'baseline' : `run ${r.run}`;
  const d = r.diagnosis;
  return h(
    'tr',
    { 'data-held': String(r.held) },
    h('td', {}, label),
    h('td', {}, r.incident_id ? h('a', { href: `/#/incidents/${encodeURIComponent(r.incident_id)}` }, r.incident_id) : '–'),
    h('td', {}, phase(r, 'before')),
    h('td', {}, phase(r, 'during')),
    h('td', {}, phase(r, 'after')),
    h('td', {}, signed(r.change?.throughput_pct, ' %')),
    h('td', {}, signed(r.change?.error_rate_pp, ' pp')),
    h('td', {}, signed(r.change?.p95_shift_ms, ' ms')),
    h('td', {}, secs(r.mttd_s)),
    h('td', {}, secs(r.mttr_s)),
    h('td', {}, d ? `${d.category ?? 'none'}${d.culprit ? ` (${d.culprit})` : ''}${d.matched ? ' ✓' : ' ✗'}` : '–'),
    h('td', {}, r.held ? 'yes' : r.safeguard ? `no (safeguard ${r.safeguard.probe})` : 'no'),
  );
}

async function showCharts(id, files) {
  // Over time first, then the comparisons; any other chart after them.
  const order = ['throughput', 'latency', 'compare-throughput', 'compare-latency', 'compare-errors', 'mttd-mttr'];
  const rank = (name) => {
    const i = order.indexOf(name.slice(7, -4));
    return i < 0 ? order.length : i;
  };
  const charts = files.filter((f) => f.name.startsWith('charts/') && f.name.endsWith('.svg')).sort((a, b) => rank(a.name) - rank(b.name));
  const key = `${id}:${charts.map((c) => c.name).join(',')}`;
  if (chartsShown === key) return;
  chartsShown = key;
  for (const revoke of chartUrls.splice(0)) revoke();
  const images = [];
  for (const chart of charts) {
    const { url, revoke } = await loadableUrl(filePath(id, chart.name));
    chartUrls.push(revoke);
    images.push(h('figure', { class: 'chart' }, h('img', { src: url, alt: chart.name.slice(7, -4) })));
  }
  replace($('experiment-charts'), ...images);
}

function follow(id) {
  if (following?.id === id) return;
  following?.stop();
  replace($('experiment-events'));
  const controller = new AbortController();
  following = { id, stop: () => controller.abort() };
  (async () => {
    const res = await api(`/experiments/${encodeURIComponent(id)}/events`, { signal: controller.signal, headers: { Accept: 'text/event-stream' } });
    if (!res.ok || !res.body) return;
    await readEventStream(res, ({ event, data }) => {
      if (event !== 'progress' || !data) return;
      const e = JSON.parse(data);
      const who = e.kind === 'baseline' ? 'baseline' : e.run > 0 ? `run ${e.run}` : '';
      $('experiment-events').append(h('li', { 'data-step': e.step }, h('time', {}, formatTime(e.timestamp)), ` ${who} ${e.step}: ${e.message}`));
    });
  })().catch(() => undefined);
}

async function refreshChosen() {
  if (!chosen) return null;
  const e = await apiJson(`/experiments/${encodeURIComponent(chosen)}`);
  $('experiment').hidden = false;
  $('experiment-empty').hidden = true;
  $('experiment-title').textContent = e.title;
  $('experiment-status').textContent = e.status;
  const stop = $('experiment-stop');
  stop.hidden = !e.active;
  stop.onclick = () => postJson(`/experiments/${encodeURIComponent(e.experiment_id)}/stop`, {});
  $('experiment-progress').textContent = e.status === 'running' ? `Run ${e.progress.run} of ${e.progress.of}${e.progress.kind === 'baseline' ? ' (baseline)' : ''}: ${e.progress.step}` : `Finished ${formatTime(e.finished_at)}${e.error ? ` · ${e.error}` : ''}`;
  const a = e.aggregate;
  $('experiment-verdict').textContent = a
    ? `Steady state ${a.all_held ? 'held (or was restored) in every run' : 'NOT held in every run'} · resilience ${pct(a.resilience_score)} · detection ${pct(a.detection_rate)} · diagnosis accuracy ${pct(a.diagnosis_accuracy)} · MTTD p50/p95 ${secs(a.mttd_s.p50)} / ${secs(a.mttd_s.p95)} · MTTR p50/p95 ${secs(a.mttr_s.p50)} / ${secs(a.mttr_s.p95)}`
    : '';
  replace($('runs').tBodies[0], ...[...(e.baseline ? [e.baseline] : []), ...e.runs].map(runRow));
  const names = new Set(e.outputs.map((f) => f.name));
  replace(
    $('experiment-downloads'),
    ...['report.pdf', 'report.md', 'summary.json', 'junit.xml', 'load.csv', 'runs.csv', 'runs.json', 'experiment.yaml']
      .filter((n) => names.has(n))
      .map((n) => h('button', { type: 'button', class: 'link', onclick: () => download(filePath(e.experiment_id, n), `${e.experiment_id}-${n}`) }, n)),
  );
  await showCharts(e.experiment_id, e.outputs);
  follow(e.experiment_id);
  return e;
}

async function tick() {
  try {
    await refreshList();
    const e = await refreshChosen();
    if (!e || e.status === 'running') setTimeout(tick, REFRESH_MS);
  } catch (error) {
    $('experiment-empty').hidden = false;
    $('experiment-empty').textContent = `Cannot load experiments: ${error?.message ?? String(error)}`;
    setTimeout(tick, REFRESH_MS * 2);
  }
}

tick();
