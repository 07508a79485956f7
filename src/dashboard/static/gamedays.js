/** The game-day page: the list, and the chosen game day's scoreboard and schedule, refreshed while it runs. */
import { apiJson } from './api.js';
import { formatTime, h, replace } from './dom.js';

const REFRESH_MS = 2000;
const $ = (id) => document.getElementById(id);
let chosen = new URLSearchParams(location.search).get('id');

const secs = (v) => (v === null || v === undefined ? 'n/a' : `${v} s`);

async function refreshList() {
  const { gamedays } = await apiJson('/gamedays');
  replace(
    $('gameday-list'),
    ...gamedays.map((g) =>
      h('li', {}, h('a', { href: `?id=${encodeURIComponent(g.id)}`, class: g.id === chosen ? 'active' : '' }, `${g.title} · ${g.status}`, h('br'), h('small', {}, formatTime(g.created_at)))),
    ),
  );
  if (!chosen && gamedays[0]) chosen = gamedays[0].id;
}

async function refreshChosen() {
  if (!chosen) return null;
  const g = await apiJson(`/gamedays/${encodeURIComponent(chosen)}`);
  $('gameday').hidden = false;
  $('gameday-empty').hidden = true;
  $('gameday-title').textContent = g.title;
  $('gameday-status').textContent = g.status;
  $('gameday-window').textContent = `${g.window.duration_s} s of game day in ${g.window.real_s} s of real time${g.error ? ` · ${g.error}` : ''}`;
  replace(
    $('scoreboard').tBodies[0],
    ...g.scoreboard.map((r) =>
      h('tr', {}, h('td', {}, r.kind), h('td', {}, r.fault), h('td', {}, String(r.runs)), h('td', {}, String(r.detected)), h('td', {}, String(r.diagnosed_right)), h('td', {}, String(r.held)), h('td', {}, secs(r.mttd_s_p50)), h('td', {}, secs(r.mttr_s_p50))),
    ),
  );
  replace(
    $('schedule').tBodies[0],
    ...g.entries.map((e) =>
      h(
        'tr',
        { 'data-state': e.state },
        h('td', {}, formatTime(e.due_at)),
        h('td', {}, `${e.stage} (${e.kind})`),
        h('td', {}, e.title),
        h('td', {}, e.fault),
        h('td', {}, e.targets.join(', ')),
        h('td', {}, e.state),
        h('td', {}, e.detail ?? e.experiment_id ?? ''),
      ),
    ),
  );
  return g;
}

async function tick() {
  try {
    await refreshList();
    const g = await refreshChosen();
    if (!g || g.status === 'running') setTimeout(tick, REFRESH_MS);
  } catch (error) {
    $('gameday-empty').hidden = false;
    $('gameday-empty').textContent = `Cannot load game days: ${error?.message ?? String(error)}`;
    setTimeout(tick, REFRESH_MS * 2);
  }
}

tick();
