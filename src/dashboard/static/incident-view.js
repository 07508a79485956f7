import { artifactPath, incidentPath } from './api.js';
import { metricCharts } from './charts.js';
import { categoryTitle, formatClock, formatDuration, formatTime, h, replace } from './dom.js';
import { RemediationPanel } from './remediation-view.js';

const PHASES = ['created', 'baseline', 'chaos', 'observe', 'agents', 'remediation', 'revert', 'recovery', 'report', 'done'];
const AGENTS = ['LogAgent', 'MetricsAgent', 'FixerAgent', 'TesterAgent', 'ReporterAgent'];

/** A stable key per trace entry, to merge the SSE feed with polled status without duplicates. */
export function entryKey(entry) {
  return `${entry.timestamp}|${entry.agent}|${entry.type}|${JSON.stringify(entry.content ?? null).length}`;
}

function card(cls, title, ...extra) {
  const head = h('div', { class: 'card-head' }, h('h2', {}, title), ...extra);
  const body = h('div', { class: 'card-body' });
  return { el: h('section', { class: `card ${cls}` }, head, body), head, body };
}

function placeholder(text) {
  return h('p', { class: 'placeholder' }, text);
}

function summaryOf(entry) {
  const c = entry.content ?? {};
  if (entry.type === 'phase' && c.phase) {
    const bits = [`${c.phase} ${c.state ?? ''}`.trim()];
    if (typeof c.duration_ms === 'number') bits.push(`in ${formatDuration(c.duration_ms)}`);
    if (c.detail) bits.push(`· ${c.detail}`);
    return bits.join(' ');
  }
  if (entry.agent === 'FixerAgent' && entry.type === 'result' && c.category) {
    return `Diagnosis: ${categoryTitle(c.category)}${c.culprit?.name ? ` · culprit ${c.culprit.name}` : ''} · confidence ${Number(c.confidence ?? 0).toFixed(2)}`;
  }
  if (entry.agent === 'TesterAgent' && entry.type === 'result' && c.risk) {
    return `fix.sh risk ${c.risk} · syntax ${c.syntax_ok ? 'ok' : 'error'} · ${(c.findings ?? []).length} risk finding(s)`;
  }
  if (typeof c.summary === 'string') return c.summary;
  if (typeof c === 'string') return c;
  return JSON.stringify(c).slice(0, 200);
}

function badge(text, cls = '') {
  return h('span', { class: `badge ${cls}` }, text);
}

/**
 * One incident on screen: header, live trace, and the panels each agent's trace entry fills in.
 * `io` loads what the entries point at (artifacts) and runs the actions (stop, downloads).
 */
export class IncidentView {
  constructor(root, id, io) {
    this.id = id;
    this.io = io;
    this.seen = new Set();
    this.status = null;
    this.loaded = new Set();
    this.revokers = [];
    this.followMode = 'connecting';

    this.header = h('section', { class: 'card incident-header' });
    this.diagnosis = card('diagnosis', 'Diagnosis');
    this.risk = card('risk', 'Fix risk');
    this.liveBadge = badge('connecting', 'live-badge');
    this.count = h('span', { class: 'muted small' });
    this.feedList = h('ol', { class: 'feed', 'aria-label': 'Trace entries' });
    this.feed = card('feed-card', 'Live trace', this.count, this.liveBadge);
    this.feed.body.append(h('div', { class: 'feed-scroll', tabindex: '0' }, this.feedList), this.legend());
    this.logs = card('logs', 'Logs');
    this.metrics = card('metrics', 'Metrics');
    this.fix = card('fix', 'Fix suggestion');
    this.remediation = new RemediationPanel(id);

    this.diagnosis.body.append(placeholder('Waiting for the FixerAgent…'));
    this.risk.body.append(placeholder('Waiting for the TesterAgent to review fix.sh…'));
    this.logs.body.append(placeholder('Waiting for the LogAgent…'));
    this.metrics.body.append(placeholder('Samples are recorded during the baseline and the incident window; charts appear when the MetricsAgent has analysed them.'));
    this.fix.body.append(placeholder('fix.sh appears here once the FixerAgent has written it. It is never run automatically.'));

    this.el = h(
      'div',
      { class: 'incident', dataset: { incidentId: id } },
      this.header,
      h('div', { class: 'panels' }, this.remediation.el, this.diagnosis.el, this.risk.el, this.feed.el, this.logs.el, this.metrics.el, this.fix.el),
    );
    replace(root, this.el);
  }

  legend() {
    return h('div', { class: 'legend feed-legend' }, ['Coordinator', ...AGENTS].map((a) => h('span', { class: 'legend-item' }, h('span', { class: `agent-dot agent-${a}` }), a)));
  }

  destroy() {
    this.remediation.destroy();
    for (const revoke of this.revokers) revoke();
    this.revokers = [];
  }

  setFollowMode(mode) {
    this.followMode = mode;
    const text = { connecting: 'connecting', live: 'live', polling: 'polling', done: 'finished' }[mode] ?? mode;
    this.liveBadge.textContent = text;
    this.liveBadge.className = `badge live-badge mode-${mode}`;
    this.liveBadge.title = mode === 'polling' ? 'The live stream is unavailable: polling /status every 1.5 s' : mode === 'live' ? 'Following the Server-Sent Events stream' : '';
  }

  /** GET /status: header, agents, phase; trace entries it carries are merged into the feed. */
  update(status) {
    this.status = status;
    for (const entry of status.trace ?? []) this.addEntry(entry);
    this.renderHeader();
    this.remediation.update(status);
    const names = new Set((status.artifacts ?? []).map((a) => a.name));
    if (names.has('fix.sh')) this.loadFix();
    if (names.has('metrics.json')) this.loadMetrics();
  }

  /** Rebuilds the header only when something in it changed (a rebuild under the mouse eats clicks). */
  renderHeader() {
    const st = this.status;
    if (!st) return;
    const signature = JSON.stringify([st.status, st.phase, st.phase_ms, st.agents, st.chaos, st.error, st.outcome, st.finished_at, st.timings, (st.artifacts ?? []).map((a) => a.name)]);
    if (signature === this.headerSignature) return this.tick();
    this.headerSignature = signature;
    const running = st.status === 'running';
    const artifacts = new Set((st.artifacts ?? []).map((a) => a.name));
    const target = st.target?.kind === 'ssh' ? `${st.target.user}@${st.target.host}:${st.target.port}` : `offline bundle ${String(st.target?.bundle ?? '').split('/').pop()}`;
    const started = st.created_at;
    const end = st.finished_at ?? (running ? new Date().toISOString() : st.updated_at);
    const reportMd = h('button', { type: 'button', class: 'btn', id: 'download-md', disabled: !artifacts.has('report.md'), onclick: () => this.io.download(`/report/${incidentPath(this.id)}`, `${this.id}-report.md`) }, 'report.md');
    const reportPdf = h('button', { type: 'button', class: 'btn', id: 'download-pdf', disabled: !artifacts.has('report.pdf'), onclick: () => this.io.download(`/report/${incidentPath(this.id)}?format=pdf`, `${this.id}-report.pdf`) }, 'report.pdf');
    const stop = running ? h('button', { type: 'button', class: 'btn danger', id: 'stop-incident', onclick: () => this.io.stop(this.id) }, 'Stop') : null;
    const chaosSkipped = st.chaos?.state === 'not_applicable';
    const current = PHASES.indexOf(st.phase);

    replace(
      this.header,
      h(
        'div',
        { class: 'title-row' },
        h(
          'div',
          { class: 'title' },
          h('h1', {}, st.scenario),
          badge(st.status, `status status-${st.status}`),
          st.outcome ? badge(categoryTitle(st.outcome.category), `category cat-${st.outcome.category}`) : null,
        ),
        h('div', { class: 'actions' }, stop, reportMd, reportPdf),
      ),
      h('p', { class: 'incident-id' }, h('code', {}, st.incident_id), h('span', { class: 'muted' }, ` · ${target}`)),
      h(
        'dl',
        { class: 'meta' },
        h('div', {}, h('dt', {}, 'Phase'), h('dd', { id: 'incident-phase' }, st.phase)),
        h('div', {}, h('dt', {}, 'Started'), h('dd', {}, formatTime(started))),
        h('div', {}, h('dt', {}, 'Finished'), h('dd', {}, st.finished_at ? formatTime(st.finished_at) : '—')),
        h('div', {}, h('dt', {}, running ? 'Running for' : 'Took'), (this.durationEl = h('dd', {}, formatDuration(Date.parse(end) - Date.parse(started))))),
        h('div', {}, h('dt', {}, 'Chaos'), h('dd', {}, (st.chaos?.state ?? '—').replaceAll('_', ' '))),
        st.timings ? h('div', {}, h('dt', { title: 'Time to detect: from the fault starting to its first evidence' }, 'MTTD'), h('dd', { id: 'incident-mttd' }, seconds(st.timings.mttd_s))) : null,
        st.timings ? h('div', {}, h('dt', { title: 'Time to recover: from the fault starting to the verified recovery' }, 'MTTR'), h('dd', { id: 'incident-mttr' }, seconds(st.timings.mttr_s))) : null,
      ),
      h(
        'ol',
        { class: 'phases', 'aria-label': 'Pipeline phases' },
        PHASES.map((p, i) => {
          const ran = st.phase_ms && p in st.phase_ms;
          // A finished incident that never entered a phase skipped it (no chaos, no recovery watch).
          const skipped = (chaosSkipped && (p === 'chaos' || p === 'revert')) || (st.phase === 'done' && !ran && ['chaos', 'remediation', 'revert', 'recovery'].includes(p));
          const state = skipped ? 'skipped' : i < current || ran || (p === 'done' && st.phase === 'done') ? 'done' : i === current ? 'current' : 'pending';
          return h('li', { class: `phase phase-${state}`, title: ran ? formatDuration(st.phase_ms[p]) : undefined }, p);
        }),
      ),
      h(
        'ul',
        { class: 'agents' },
        (st.agents ?? []).map((a) =>
          h(
            'li',
            { class: `agent-chip state-${a.state}`, title: a.error ?? '' },
            h('span', { class: `agent-dot agent-${a.name}` }),
            h('span', { class: 'agent-name' }, a.name.replace('Agent', '')),
            h('span', { class: 'agent-state' }, a.state === 'succeeded' ? formatDuration(a.duration_ms) : a.state.replace('_', ' ')),
          ),
        ),
      ),
      st.error ? h('p', { class: `banner ${st.status === 'aborted' ? 'warn' : 'error'}` }, st.error) : null,
    );
  }

  /** The running time, once a second while the incident runs. */
  tick() {
    const st = this.status;
    if (!st || st.status !== 'running' || !this.durationEl) return;
    this.durationEl.textContent = formatDuration(Date.now() - Date.parse(st.created_at));
  }

  /** One trace entry (from SSE or status): into the feed, and into the panel it feeds. */
  addEntry(entry) {
    const key = entryKey(entry);
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    const scroller = this.feedList.parentElement;
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    const content = entry.content ?? {};
    this.feedList.append(
      h(
        'li',
        { class: `entry agent-${entry.agent} type-${entry.type}`, dataset: { agent: entry.agent, type: entry.type } },
        h(
          'details',
          {},
          h(
            'summary',
            {},
            h('time', { datetime: entry.timestamp }, formatClock(entry.timestamp)),
            h('span', { class: `agent-pill agent-${entry.agent}` }, entry.agent),
            h('span', { class: `type type-${entry.type}` }, entry.type),
            h('span', { class: 'entry-summary' }, summaryOf(entry)),
          ),
          h('pre', { class: 'entry-json' }, JSON.stringify(content, null, 2)),
        ),
      ),
    );
    this.count.textContent = `${this.seen.size} entries`;
    if (atBottom) scroller.scrollTop = scroller.scrollHeight;

    if (entry.agent === 'LogAgent' && entry.type === 'finding') this.renderLogs(content);
    if (entry.agent === 'MetricsAgent' && entry.type === 'finding') {
      // The second finding, after the revert, rewrote metrics.json with the recovery window.
      const afterRevert = 'recovery' in content;
      if (!afterRevert) this.anomalies = content;
      this.loadMetrics({ refresh: afterRevert });
    }
    if (entry.agent === 'FixerAgent' && entry.type === 'result') {
      this.renderDiagnosis(content);
      this.loadFix();
    }
    if (entry.agent === 'TesterAgent' && entry.type === 'result') this.renderRisk(content);
    if (entry.agent === 'ReporterAgent' && entry.type === 'result') this.renderReportCharts(content.artifacts ?? []);
    return true;
  }

  renderDiagnosis(c) {
    const culprit = c.culprit;
    const confidence = Math.max(0, Math.min(1, Number(c.confidence ?? 0)));
    const bar = h('span', { class: 'confidence-fill' });
    bar.style.width = `${Math.round(confidence * 100)}%`;
    replace(
      this.diagnosis.body,
      h('p', { class: `diagnosis-category cat-${c.category}`, id: 'diagnosis-category' }, categoryTitle(c.category)),
      h(
        'div',
        { class: 'confidence', title: `confidence ${confidence.toFixed(2)}` },
        h('span', { class: 'confidence-bar' }, bar),
        h('span', { class: 'confidence-value' }, confidence.toFixed(2)),
      ),
      culprit
        ? h(
            'p',
            { class: 'culprit', id: 'diagnosis-culprit' },
            h('span', { class: 'muted' }, `Culprit (${culprit.kind.replace('_', ' ')}): `),
            h('code', {}, culprit.name),
            culprit.pid !== undefined ? h('span', { class: 'muted' }, ` pid ${culprit.pid}`) : null,
            culprit.detail ? h('span', { class: 'culprit-detail' }, culprit.detail) : null,
          )
        : h('p', { class: 'culprit muted', id: 'diagnosis-culprit' }, 'No culprit named.'),
      h('p', { class: 'diagnosis-summary' }, c.summary ?? ''),
      (c.evidence ?? []).length
        ? h(
            'ul',
            { class: 'evidence' },
            c.evidence.map((e) => h('li', {}, badge(e.kind, 'kind'), h('span', {}, e.detail ?? e.ref))),
          )
        : null,
      c.runner_up ? h('p', { class: 'muted small' }, `Runner-up: ${categoryTitle(c.runner_up.category)} (${Number(c.runner_up.confidence).toFixed(2)})`) : null,
    );
  }

  renderRisk(c) {
    replace(
      this.risk.body,
      h(
        'div',
        { class: 'risk-row' },
        h('span', { class: `risk-level risk-${c.risk}`, id: 'risk-level' }, `${c.risk} risk`),
        badge(c.syntax_ok ? 'bash -n: syntax ok' : 'bash -n: syntax error', c.syntax_ok ? 'ok' : 'bad'),
      ),
      c.syntax_error ? h('pre', { class: 'code small' }, c.syntax_error) : null,
      (c.findings ?? []).length
        ? h(
            'ul',
            { class: 'risk-findings' },
            c.findings.map((f) => h('li', {}, badge(f.severity, `risk-${f.severity}`), h('span', {}, `line ${f.line}: ${f.message}`), h('code', { class: 'block' }, f.text))),
          )
        : h('p', { class: 'muted' }, 'No risky step found by the static rules.'),
      (c.rollback_plan ?? []).length ? h('div', {}, h('h3', {}, 'Rollback plan'), h('ol', { class: 'rollback' }, c.rollback_plan.map((step) => h('li', {}, step.replace(/^Step \d+:\s*/, ''))))) : null,
    );
  }

  renderLogs(c) {
    const templates = c.top_templates ?? [];
    const signatures = c.signatures ?? [];
    replace(
      this.logs.body,
      h('p', { class: 'muted' }, c.summary ?? ''),
      templates.length
        ? h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'templates' },
              h('thead', {}, h('tr', {}, h('th', {}, 'Top templates'), h('th', { class: 'num' }, 'base'), h('th', { class: 'num' }, 'incident'))),
              h(
                'tbody',
                {},
                templates.map((t) =>
                  h(
                    'tr',
                    {},
                    h(
                      'td',
                      {},
                      h('code', { class: 'template' }, t.template),
                      h('span', { class: 'template-meta' }, badge(t.stream, 'stream'), t.is_new ? badge('new', 'new') : null, t.severity ? badge(t.severity, `sev-${t.severity}`) : null),
                    ),
                    h('td', { class: 'num' }, String(t.baseline_count ?? 0)),
                    h('td', { class: 'num' }, String(t.incident_count ?? 0)),
                  ),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No new or grown log templates in the incident window.'),
      signatures.length
        ? h(
            'div',
            { class: 'signatures' },
            h('h3', {}, 'Signatures'),
            h(
              'ul',
              {},
              signatures.map((sg) => h('li', {}, h('div', { class: 'sig-head' }, h('strong', {}, sg.signature), h('span', { class: 'muted small' }, ` ×${sg.count}`)), sg.example ? h('code', { class: 'block' }, sg.example) : null)),
            ),
          )
        : null,
      h('p', { class: 'panel-links' }, h('button', { type: 'button', class: 'link', onclick: () => this.io.download(artifactPath(this.id, 'raw_logs.txt'), `${this.id}-raw_logs.txt`) }, 'raw_logs.txt')),
    );
  }

  async loadMetrics({ refresh = false } = {}) {
    if (this.loaded.has('metrics') && !refresh) return;
    this.loaded.add('metrics');
    try {
      const metrics = await this.io.fetchJson(artifactPath(this.id, 'metrics.json'));
      this.renderMetrics(metrics);
    } catch (error) {
      this.loaded.delete('metrics');
      replace(this.metrics.body, placeholder(`metrics.json is not available yet (${error.message}).`));
    }
  }

  renderMetrics(metrics) {
    const findings = metrics?.findings ?? {};
    const anomalous = (findings.series ?? []).filter((sr) => sr.anomalous);
    this.chartGrid = h('div', { class: 'charts' }, metricCharts(metrics));
    this.reportCharts ??= h('div', { class: 'report-charts-slot' });
    replace(
      this.metrics.body,
      h(
        'div',
        { class: 'anomalies' },
        anomalous.length
          ? anomalous.map((sr) => {
              const peak = Math.max(...(sr.windows ?? []).map((w) => w.peak ?? -Infinity), sr.incident?.max ?? -Infinity);
              return h('span', { class: 'anomaly' }, h('strong', {}, sr.label ?? sr.key), ` ${fmt(sr.baseline?.median)} → ${fmt(peak)} ${sr.unit ?? ''}`);
            })
          : h('span', { class: 'muted' }, 'Every series stayed inside its baseline band.'),
        findings.time_to_detect_s !== null && findings.time_to_detect_s !== undefined ? h('span', { class: 'muted small' }, `detected after ${findings.time_to_detect_s} s`) : null,
        findings.recovery
          ? h(
              'span',
              { class: 'muted small', id: 'recovery-time' },
              findings.recovery.recovered ? `recovered ${findings.recovery.recovery_s} s after the revert` : `not recovered within ${findings.recovery.watched_s} s of the revert`,
            )
          : null,
      ),
      this.chartGrid,
      this.reportCharts,
    );
  }

  /** The ReporterAgent's SVG charts, as images (fetched with the token when there is one). */
  async renderReportCharts(artifacts) {
    const charts = artifacts.filter((name) => name.startsWith('artifacts/') && name.endsWith('.svg'));
    if (!charts.length || this.loaded.has('report-charts')) return;
    this.loaded.add('report-charts');
    this.reportCharts ??= h('div', { class: 'report-charts-slot' });
    const gallery = h('div', { class: 'gallery' });
    replace(this.reportCharts, h('details', { class: 'report-charts' }, h('summary', {}, `Report charts (${charts.length} SVG)`), gallery));
    for (const name of charts) {
      const img = h('img', { alt: name.replace(/^artifacts\/chart-/, '').replace(/\.svg$/, ''), loading: 'lazy', decoding: 'async' });
      const link = h('button', { type: 'button', class: 'link small', onclick: () => this.io.download(artifactPath(this.id, name), name.split('/').pop()) }, name.split('/').pop());
      gallery.append(h('figure', { class: 'thumb' }, img, h('figcaption', {}, link)));
      this.io
        .imageUrl(artifactPath(this.id, name))
        .then(({ url, revoke }) => {
          img.src = url;
          this.revokers.push(revoke);
        })
        .catch(() => img.replaceWith(h('span', { class: 'muted small' }, 'unavailable')));
    }
  }

  async loadFix() {
    if (this.loaded.has('fix')) return;
    this.loaded.add('fix');
    try {
      const [script, suggestion] = await Promise.all([this.io.fetchText(artifactPath(this.id, 'fix.sh')), this.io.fetchJson(artifactPath(this.id, 'fix_suggestion.json')).catch(() => null)]);
      const actions = suggestion?.actions ?? [];
      replace(
        this.fix.body,
        h('p', { class: 'banner warn' }, 'Review every step before running it on the host. Chaos-Handler never runs fix.sh.'),
        actions.length ? h('ol', { class: 'actions-list' }, actions.map((a) => h('li', {}, h('span', {}, a.description), h('span', { class: 'muted small block' }, `Rollback: ${a.rollback}`)))) : null,
        h('pre', { class: 'code', id: 'fix-script' }, h('code', {}, script)),
        h(
          'p',
          { class: 'panel-links' },
          h('button', { type: 'button', class: 'link', onclick: () => this.io.download(artifactPath(this.id, 'fix.sh'), `${this.id}-fix.sh`) }, 'fix.sh'),
          h('button', { type: 'button', class: 'link', onclick: () => this.io.download(artifactPath(this.id, 'fix_suggestion.json'), `${this.id}-fix_suggestion.json`) }, 'fix_suggestion.json'),
        ),
      );
    } catch (error) {
      this.loaded.delete('fix');
      replace(this.fix.body, placeholder(`fix.sh is not available yet (${error.message}).`));
    }
  }

  /** When the incident has ended: say so where a panel never got its data. */
  finish(status) {
    this.setFollowMode('done');
    this.remediation.finish();
    if (!this.loaded.has('metrics') && !(status.artifacts ?? []).some((a) => a.name === 'metrics.json')) {
      replace(this.metrics.body, placeholder('No metrics analysis: the incident ended before the MetricsAgent ran.'));
    }
    const ranFixer = (status.agents ?? []).find((a) => a.name === 'FixerAgent')?.state === 'succeeded';
    if (!ranFixer) {
      replace(this.diagnosis.body, placeholder('No diagnosis: the incident ended before the FixerAgent ran.'));
      replace(this.fix.body, placeholder('No fix suggestion for this incident.'));
      replace(this.risk.body, placeholder('Nothing to review.'));
    }
    if (!(status.agents ?? []).some((a) => a.name === 'LogAgent' && a.state === 'succeeded')) {
      replace(this.logs.body, placeholder('No log analysis: the incident ended before the LogAgent ran.'));
    }
  }
}

/** A duration in seconds from the timings, or a dash when it is unknown. */
function seconds(v) {
  return typeof v === 'number' && Number.isFinite(v) ? `${v} s` : '—';
}

function fmt(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10);
}
