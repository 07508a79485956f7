import { ApiError, apiJson, apiText, download, followEvents, hasToken, incidentPath, loadableUrl, postJson, problemText, setTokenPrompt, forgetToken } from './api.js';
import { categoryTitle, formatTime, h, replace } from './dom.js';
import { clearProblem, readStartRequest, renderScenarioOptions, scenarioHint, scenarioOptionSchemas, showProblem } from './form.js';
import { IncidentView } from './incident-view.js';

const POLL_MS = 1500;
const LIST_MS = 4000;
const $ = (id) => document.getElementById(id);

const state = {
  schemas: new Map(),
  view: null,
  stopFollowing: null,
  pollTimer: null,
  tickTimer: null,
  selected: null,
};

// ---- toasts ---------------------------------------------------------------------------------

function toast(text, kind = 'info') {
  const el = h('div', { class: `toast toast-${kind}` }, text);
  $('toasts').append(el);
  setTimeout(() => el.classList.add('leaving'), 4200);
  setTimeout(() => el.remove(), 4600);
}

// ---- theme ----------------------------------------------------------------------------------

function currentTheme() {
  const explicit = document.documentElement.dataset.theme;
  if (explicit === 'light' || explicit === 'dark') return explicit;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function syncThemeButton() {
  const next = currentTheme() === 'dark' ? 'light' : 'dark';
  $('theme-toggle').setAttribute('aria-label', `Switch to ${next} theme`);
  $('theme-toggle').title = `Switch to ${next} theme`;
}

function setupTheme() {
  syncThemeButton();
  $('theme-toggle').addEventListener('click', () => {
    const next = currentTheme() === 'dark' ? 'light' : 'dark';
    document.documentElement.dataset.theme = next;
    try {
      localStorage.setItem('chaos-handler.theme', next);
    } catch {
      // not persisted
    }
    syncThemeButton();
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', syncThemeButton);
}

// ---- token ----------------------------------------------------------------------------------

let tokenNeeded = false;
// Cancelled once: no more dialogs until the user asks for one (the "Enter token" button).
let tokenDeclined = false;

function syncTokenButton() {
  const button = $('token-button');
  button.hidden = !hasToken() && !tokenNeeded;
  button.textContent = hasToken() ? 'Forget token' : 'Enter token';
}

function askForToken(rejected) {
  const dialog = $('token-dialog');
  const input = $('token-input');
  tokenNeeded = true;
  if (tokenDeclined) return Promise.resolve(null);
  $('token-error').hidden = !rejected;
  input.value = '';
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        const value = dialog.returnValue === 'ok' ? input.value.trim() : '';
        input.value = '';
        tokenDeclined = !value;
        resolve(value || null);
        // api.js stores the token once this resolves.
        setTimeout(syncTokenButton, 0);
      },
      { once: true },
    );
    dialog.showModal();
    input.focus();
  });
}

function setupToken() {
  setTokenPrompt(askForToken);
  syncTokenButton();
  $('token-button').addEventListener('click', () => {
    if (!hasToken()) {
      // Start over: the first API call asks again.
      location.reload();
      return;
    }
    if (!confirm('Forget the API token for this tab?')) return;
    forgetToken();
    syncTokenButton();
    toast('Token forgotten');
  });
}

// ---- start form -----------------------------------------------------------------------------

async function setupForm() {
  const form = $('start-form');
  const select = $('scenario');
  let openapi = null;
  try {
    openapi = await apiJson('/openapi.json');
  } catch (error) {
    toast(`Could not load the API description: ${problemText(error)}`, 'error');
  }
  state.schemas = scenarioOptionSchemas(openapi);
  const names = state.schemas.size ? [...state.schemas.keys()] : ['cpu_spike', 'memory_leak', 'disk_fill', 'net_latency', 'service_kill', 'db_conn_exhaust', 'investigate'];
  replace(select, names.map((n) => h('option', { value: n }, n)));

  const onScenario = () => {
    renderScenarioOptions($('scenario-options'), state.schemas.get(select.value));
    $('scenario-hint').textContent = scenarioHint(select.value);
    clearProblem(form, $('form-errors'));
  };
  select.addEventListener('change', onScenario);
  onScenario();

  const onMode = () => {
    const live = form.querySelector('input[name="target-mode"]:checked')?.value === 'live';
    $('offline-fields').hidden = live;
    $('live-fields').hidden = !live;
  };
  for (const radio of form.querySelectorAll('input[name="target-mode"]')) radio.addEventListener('change', onMode);
  onMode();

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = $('start-button');
    clearProblem(form, $('form-errors'));
    button.disabled = true;
    button.textContent = 'Starting…';
    try {
      const started = await postJson('/start_incident', readStartRequest(form));
      toast(`Started ${started.incident_id}`, 'ok');
      location.hash = `#/incidents/${started.incident_id}`;
      void refreshList();
    } catch (error) {
      if (error instanceof ApiError && error.problem) showProblem(form, $('form-errors'), error.problem);
      else showProblem(form, $('form-errors'), { detail: problemText(error) });
    } finally {
      button.disabled = false;
      button.textContent = 'Start incident';
    }
  });
}

// ---- incident list --------------------------------------------------------------------------

let lastListSignature = '';

async function refreshList() {
  let body;
  try {
    body = await apiJson('/incidents');
  } catch (error) {
    replace($('incident-list'), h('li', { class: 'muted small pad' }, `Could not list incidents: ${problemText(error)}`));
    return;
  }
  const incidents = body.incidents ?? [];
  // Rebuild only on change: replacing the rows under the mouse would eat clicks.
  const signature = JSON.stringify([state.selected, incidents]);
  if (signature === lastListSignature) return;
  lastListSignature = signature;
  $('incident-count').textContent = incidents.length ? `${incidents.length}` : '';
  if (!incidents.length) {
    replace($('incident-list'), h('li', { class: 'muted small pad' }, 'No incidents yet.'));
    return;
  }
  replace(
    $('incident-list'),
    incidents.map((i) =>
      h(
        'li',
        {},
        h(
          'a',
          { class: ['incident-row', i.incident_id === state.selected && 'selected'], href: `#/incidents/${i.incident_id}`, dataset: { incidentId: i.incident_id }, 'aria-current': i.incident_id === state.selected ? 'true' : undefined },
          h('span', { class: 'row-top' }, h('span', { class: 'row-scenario' }, i.scenario), triggerBadge(i), h('span', { class: `badge status status-${i.status}` }, i.status)),
          h(
            'span',
            { class: 'row-bottom' },
            h('span', { class: 'muted' }, formatTime(i.created_at)),
            i.outcome ? h('span', { class: `row-category cat-${i.outcome.category}` }, categoryTitle(i.outcome.category)) : h('span', { class: 'muted' }, i.target?.kind === 'ssh' ? i.target.host : 'offline'),
          ),
        ),
      ),
    ),
  );
}

/** An incident opened by an alert or by watch mode says so in the list (a person's: nothing). */
function triggerBadge(i) {
  if (i.trigger === 'alert') return h('span', { class: 'badge trigger', title: i.alert?.resolved_at ? `alert resolved ${formatTime(i.alert.resolved_at)}` : 'alert firing' }, `alert ${i.alert?.name ?? ''}`.trim());
  if (i.trigger === 'watch') return h('span', { class: 'badge trigger', title: 'opened by watch mode' }, 'watch');
  return null;
}

// ---- one incident ---------------------------------------------------------------------------

function stopLive() {
  state.stopFollowing?.();
  state.stopFollowing = null;
  clearInterval(state.pollTimer);
  clearInterval(state.tickTimer);
  state.pollTimer = null;
  state.tickTimer = null;
}

const io = {
  fetchJson: (path) => apiJson(path),
  fetchText: (path) => apiText(path),
  imageUrl: (path) => loadableUrl(path),
  download: (path, filename) => download(path, filename).catch((error) => toast(`Download failed: ${problemText(error)}`, 'error')),
  stop: async (id) => {
    if (!confirm(`Stop incident ${id}?\n\nIts chaos is reverted now and the agents do not run.`)) return;
    try {
      const result = await postJson(`/incidents/${incidentPath(id)}/stop`);
      toast(result.stopped ? `Stopped ${id}` : `${id} had already finished (${result.status})`, result.stopped ? 'ok' : 'info');
    } catch (error) {
      toast(`Stop failed: ${problemText(error)}`, 'error');
    }
    if (state.selected === id) await refreshStatus(id);
    void refreshList();
  },
};

let statusInFlight = null;
let statusQueued = false;

/** GET /status into the view; coalesces bursts (every SSE entry asks for a refresh). */
async function refreshStatus(id) {
  if (statusInFlight) {
    statusQueued = true;
    return statusInFlight;
  }
  statusInFlight = (async () => {
    try {
      const status = await apiJson(`/status/${incidentPath(id)}`);
      if (state.selected !== id || !state.view) return;
      state.view.update(status);
      if (status.status !== 'running') onFinished(id, status);
    } catch (error) {
      if (state.selected === id) toast(`Status failed: ${problemText(error)}`, 'error');
    }
  })();
  await statusInFlight;
  statusInFlight = null;
  if (statusQueued) {
    statusQueued = false;
    await refreshStatus(id);
  }
}

function onFinished(id, status) {
  if (state.selected !== id) return;
  const wasLive = state.stopFollowing || state.pollTimer;
  stopLive();
  state.view.finish(status);
  if (wasLive) void refreshList();
}

function startPolling(id) {
  state.view?.setFollowMode('polling');
  clearInterval(state.pollTimer);
  state.pollTimer = setInterval(() => void refreshStatus(id), POLL_MS);
}

async function select(id) {
  stopLive();
  state.view?.destroy();
  state.selected = id;
  document.body.classList.toggle('has-incident', Boolean(id));
  for (const row of document.querySelectorAll('.incident-row')) {
    row.classList.toggle('selected', row.dataset.incidentId === id);
  }
  if (!id) {
    state.view = null;
    return;
  }
  state.view = new IncidentView($('incident-view'), id, io);
  let status;
  try {
    status = await apiJson(`/status/${incidentPath(id)}`);
  } catch (error) {
    replace($('incident-view'), h('div', { class: 'empty-state' }, h('h2', {}, 'Incident not found'), h('p', {}, problemText(error))));
    state.view = null;
    return;
  }
  if (state.selected !== id) return;
  state.view.update(status);
  if (status.status !== 'running') {
    state.view.finish(status);
    return;
  }
  state.tickTimer = setInterval(() => state.view?.tick(), 1000);
  state.view.setFollowMode('connecting');
  let refreshTimer = null;
  state.stopFollowing = followEvents(id, {
    onTrace: (entry) => {
      if (state.selected !== id) return;
      state.view.setFollowMode('live');
      if (state.view.addEntry(entry)) {
        clearTimeout(refreshTimer);
        refreshTimer = setTimeout(() => void refreshStatus(id), 150);
      }
    },
    onEnd: () => {
      clearTimeout(refreshTimer);
      void refreshStatus(id);
    },
    onError: () => {
      if (state.selected === id) startPolling(id);
    },
  });
}

function route() {
  const match = /^#\/incidents\/([A-Za-z0-9-]+)$/.exec(location.hash);
  void select(match ? match[1] : null);
}

// ---- halt -----------------------------------------------------------------------------------

function setupHalt() {
  $('halt-all').addEventListener('click', async () => {
    if (!confirm('Halt every running incident?\n\nThe chaos of each one is reverted now.')) return;
    try {
      const { halted } = await postJson('/halt');
      toast(halted.length ? `Halted ${halted.length} incident(s)` : 'Nothing was running', halted.length ? 'ok' : 'info');
    } catch (error) {
      toast(`Halt failed: ${problemText(error)}`, 'error');
    }
    if (state.selected) await refreshStatus(state.selected);
    void refreshList();
  });
}

// ---- boot -----------------------------------------------------------------------------------

async function main() {
  setupTheme();
  setupToken();
  setupHalt();
  // The first call asks for the token when the API needs one; the others wait for it.
  await refreshList();
  await setupForm();
  window.addEventListener('hashchange', route);
  route();
  setInterval(() => {
    if (document.visibilityState === 'visible') void refreshList();
  }, LIST_MS);
  document.documentElement.dataset.ready = 'true';
}

void main();
