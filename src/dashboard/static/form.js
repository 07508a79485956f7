import { h, replace } from './dom.js';

/**
 * The start form. Scenario options are built from the StartIncidentRequest schema in
 * /openapi.json (itself generated from the zod schemas), so the form offers exactly what the API
 * accepts, with its limits and defaults.
 */

/** Options the form handles in the target section, not in the generated list. */
const TARGET_OPTIONS = new Set(['offline', 'bundle', 'record', 'replay_speed']);
/** Options every scenario takes: tucked away under "Windows and failsafe". */
const COMMON_OPTIONS = ['baseline_s', 'observe_s', 'max_runtime_s'];

const SCENARIO_HINTS = {
  cpu_spike: 'Busy workers saturate the CPUs.',
  memory_leak: 'A process allocates memory and keeps it.',
  disk_fill: 'Files fill a filesystem.',
  net_latency: 'netem adds delay and loss on an interface (the SSH path is spared).',
  service_kill: 'A service is stopped.',
  db_conn_exhaust: 'Clients hold every PostgreSQL connection.',
  investigate: 'No chaos: diagnose whatever is wrong on the host now.',
};

/** scenario name → JSON schema of its options, in the order the API lists them. */
export function scenarioOptionSchemas(openapi) {
  const request = openapi?.components?.schemas?.StartIncidentRequest;
  const variants = request?.oneOf ?? request?.anyOf ?? [];
  const out = new Map();
  for (const variant of variants) {
    const name = variant?.properties?.scenario?.const;
    if (typeof name === 'string') out.set(name, variant.properties.options ?? { properties: {} });
  }
  return out;
}

function labelFor(name) {
  const units = { _s: 's', _ms: 'ms', _mb: 'MB', _pct: '%' };
  let base = name;
  let unit = '';
  for (const [suffix, u] of Object.entries(units)) {
    if (name.endsWith(suffix)) {
      base = name.slice(0, -suffix.length);
      unit = u;
    }
  }
  const words = base.replaceAll('_', ' ');
  return { text: words.charAt(0).toUpperCase() + words.slice(1), unit };
}

function inputFor(name, schema) {
  const field = `options.${name}`;
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'boolean') {
    return h('input', { type: 'checkbox', name, dataset: { field, kind: 'boolean' }, checked: schema.default === true });
  }
  if (type === 'integer' || type === 'number') {
    return h('input', {
      type: 'number',
      name,
      inputmode: type === 'integer' ? 'numeric' : 'decimal',
      min: schema.minimum ?? schema.exclusiveMinimum,
      max: schema.maximum ?? schema.exclusiveMaximum,
      step: type === 'integer' ? 1 : 'any',
      value: schema.default,
      placeholder: schema.default === undefined ? 'optional' : undefined,
      dataset: { field, kind: 'number' },
    });
  }
  if (Array.isArray(schema.enum)) {
    return h('select', { name, dataset: { field, kind: 'string' } }, schema.enum.map((v) => h('option', { value: v, selected: v === schema.default }, v)));
  }
  return h('input', {
    type: 'text',
    name,
    value: schema.default,
    maxlength: schema.maxLength,
    placeholder: schema.default === undefined ? 'optional' : undefined,
    autocomplete: 'off',
    spellcheck: 'false',
    dataset: { field, kind: 'string' },
  });
}

function optionField(name, schema) {
  const input = inputFor(name, schema);
  const { text, unit } = labelFor(name);
  if (input.dataset.kind === 'boolean') {
    return h('label', { class: 'check' }, input, h('span', {}, text));
  }
  const range = schema.minimum !== undefined && schema.maximum !== undefined ? `${schema.minimum}–${schema.maximum}` : '';
  return h(
    'label',
    { class: 'field' },
    h('span', { class: 'label' }, text, unit ? h('span', { class: 'unit' }, ` ${unit}`) : null),
    input,
    schema.description || range ? h('small', { class: 'hint' }, [schema.description, range ? `(${range})` : ''].filter(Boolean).join(' ')) : null,
  );
}

/** Fills the scenario's option inputs into `container`. */
export function renderScenarioOptions(container, optionsSchema) {
  const props = optionsSchema?.properties ?? {};
  const specific = Object.keys(props).filter((k) => !TARGET_OPTIONS.has(k) && !COMMON_OPTIONS.includes(k));
  const common = COMMON_OPTIONS.filter((k) => k in props);
  replace(
    container,
    specific.length ? h('fieldset', { class: 'options' }, h('legend', { class: 'label' }, 'Scenario options'), specific.map((k) => optionField(k, props[k]))) : null,
    common.length ? h('details', { class: 'options common' }, h('summary', {}, 'Windows and failsafe'), h('div', { class: 'options-body' }, common.map((k) => optionField(k, props[k])))) : null,
  );
}

export function scenarioHint(name) {
  return SCENARIO_HINTS[name] ?? '';
}

/** The request body from the form's current state; empty inputs are left to the API's defaults. */
export function readStartRequest(form) {
  const scenario = form.elements.namedItem('scenario').value;
  const mode = form.querySelector('input[name="target-mode"]:checked')?.value ?? 'offline';
  const options = {};
  for (const input of form.querySelectorAll('#scenario-options [data-field]')) {
    const name = input.name;
    if (input.dataset.kind === 'boolean') options[name] = input.checked;
    else if (input.value.trim() === '') continue;
    else if (input.dataset.kind === 'number') options[name] = Number(input.value);
    else options[name] = input.value.trim();
  }
  const body = { scenario, options };
  const value = (name) => form.elements.namedItem(name).value.trim();
  if (mode === 'offline') {
    options.offline = true;
    if (value('bundle')) options.bundle = value('bundle');
    if (value('replay_speed')) options.replay_speed = Number(value('replay_speed'));
  } else {
    const target = { host: value('host') };
    if (value('port')) target.port = Number(value('port'));
    if (value('user')) target.user = value('user');
    if (value('key_path')) target.key_path = value('key_path');
    body.target_vm = target;
    if (form.elements.namedItem('record').checked) options.record = true;
  }
  return body;
}

/** Marks the fields a 400 problem names; lists what cannot be placed next to a field. */
export function showProblem(form, list, problem) {
  clearProblem(form, list);
  const errors = problem?.errors?.length ? problem.errors : [{ field: '', message: problem?.detail ?? 'The request failed' }];
  const loose = [];
  for (const { field, message } of errors) {
    const input = field ? form.querySelector(`[data-field="${CSS.escape(field)}"]`) : null;
    if (!input) {
      loose.push(field ? `${field}: ${message}` : message);
      continue;
    }
    input.setAttribute('aria-invalid', 'true');
    input.closest('.field, .check')?.append(h('small', { class: 'field-error' }, message));
    input.closest('details')?.setAttribute('open', '');
  }
  replace(list, loose.map((text) => h('li', {}, text)));
  list.hidden = loose.length === 0;
}

export function clearProblem(form, list) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.field-error')) el.remove();
  replace(list);
  list.hidden = true;
}
