/** The watches page: every watch with its state and detections (each linked to its incident), start and stop. */
import { api, apiJson, postJson, problemText } from './api.js';
import { formatTime, h, replace } from './dom.js';

const REFRESH_MS = 2000;
const $ = (id) => document.getElementById(id);


function detectionItem(d) {
  const when = formatTime(d.detected_at);
  const why = d.breaches.join('; ');
  if (d.incident_id) return h('li', {}, h('a', { href: `/#/incidents/${encodeURIComponent(d.incident_id)}` }, d.incident_id), ` · ${when} · ${why}`);
  return h('li', {}, `${when} · not opened: ${d.error ?? 'unknown reason'} · ${why}`);
}

function row(w) {
  const running = w.state !== 'stopped' && w.state !== 'failed';
  const stop = running ? h('button', { type: 'button', class: 'btn ghost', dataset: { stop: w.target } }, 'Stop') : '';
  return h(
    'tr',
    { 'data-state': w.state, dataset: { target: w.target } },
    h('td', {}, w.target),
    h('td', {}, h('span', { class: `badge watch-${w.state}` }, w.state), w.error ? h('div', { class: 'hint' }, w.error) : ''),
    h('td', {}, String(w.samples)),
    h('td', {}, w.last_sample_at ? formatTime(w.last_sample_at) : 'none yet'),
    h('td', {}, w.out_of_band ? `${w.out_of_band} in a row: ${w.breaches.join('; ')}` : 'in band'),
    h('td', {}, w.detections.length ? h('ul', { class: 'plain' }, ...w.detections.slice().reverse().map(detectionItem)) : 'none'),
    h('td', {}, stop),
  );
}

async function refresh() {
  const { watches } = await apiJson('/watches');
  $('watches-empty').hidden = watches.length > 0;
  replace($('watches').tBodies[0], ...watches.map(row));
}

async function tick() {
  try {
    await refresh();
  } catch (error) {
    $('watches-empty').hidden = false;
    $('watches-empty').textContent = `Cannot load watches: ${problemText(error)}`;
  }
  setTimeout(tick, REFRESH_MS);
}

$('watch-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const value = (name) => form.elements.namedItem(name).value.trim();
  const error = $('watch-error');
  error.hidden = true;
  const target = value('target');
  if (!target) {
    error.textContent = 'Name an enrolled target (chaos-handler targets lists them).';
    error.hidden = false;
    return;
  }
  const options = {};
  for (const name of ['interval_s', 'consecutive', 'cooldown_s']) if (value(name) !== '') options[name] = Number(value(name));
  try {
    await postJson(`/targets/${encodeURIComponent(target)}/watch`, options);
    await refresh();
  } catch (e) {
    error.textContent = problemText(e);
    error.hidden = false;
  }
});

$('watches').addEventListener('click', async (event) => {
  const target = event.target.closest('button[data-stop]')?.dataset.stop;
  if (!target) return;
  await api(`/targets/${encodeURIComponent(target)}/watch`, { method: 'DELETE' });
  await refresh();
});

tick();
