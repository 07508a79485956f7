/**
 * The coordinator's API as the dashboard uses it: a bearer token asked for once (kept in this
 * tab's sessionStorage) and sent as a header, the SSE feed read through fetch streaming (an
 * EventSource cannot send headers), and polling when streaming is not possible.
 */
const TOKEN_KEY = 'chaos-handler.token';

let token = readToken();
let promptForToken = null;
let pendingPrompt = null;

function readToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

/** `ask(rejected)` opens the token dialog and resolves with the token, or null when cancelled. */
export function setTokenPrompt(ask) {
  promptForToken = ask;
}

export function hasToken() {
  return Boolean(token);
}

export function forgetToken() {
  token = null;
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // nothing stored
  }
}

function authHeaders(extra) {
  const headers = new Headers(extra);
  if (token) headers.set('Authorization', `Bearer ${token}`);
  return headers;
}

/** fetch() with the token; on 401 asks for one (once, shared by concurrent calls) and retries. */
export async function api(path, init = {}) {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(path, { ...init, headers: authHeaders(init.headers) });
    if (res.status !== 401 || !promptForToken || attempt >= 3) return res;
    const sent = token;
    pendingPrompt ??= Promise.resolve(promptForToken(Boolean(sent))).finally(() => {
      pendingPrompt = null;
    });
    const entered = await pendingPrompt;
    if (!entered) return res;
    if (entered !== sent) {
      token = entered;
      try {
        sessionStorage.setItem(TOKEN_KEY, token);
      } catch {
        // kept in memory only
      }
    }
  }
}

async function body(res) {
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('json')) return res.json().catch(() => null);
  return res.text().catch(() => null);
}

/** What to tell a person about a failed call: the problem's detail, else the error's message. */
export function problemText(error) {
  if (error instanceof ApiError) return error.problem?.detail ?? error.message;
  return error?.message ?? String(error);
}

export async function apiJson(path, init = {}) {
  const res = await api(path, init);
  const data = await body(res);
  if (!res.ok) throw new ApiError(res.status, typeof data === 'object' && data ? data : { detail: `${res.status} ${res.statusText}` });
  return data;
}

export async function apiText(path) {
  const res = await api(path);
  if (!res.ok) throw new ApiError(res.status, await body(res));
  return res.text();
}

export function postJson(path, payload) {
  return apiJson(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload ?? {}) });
}

export const incidentPath = (id) => encodeURIComponent(id);
export const artifactPath = (id, name) => `/incidents/${incidentPath(id)}/artifacts/${name.split('/').map(encodeURIComponent).join('/')}`;

/**
 * A URL the browser can load without headers: the API URL itself when there is no token, else a
 * blob: URL of the bytes fetched with the token. `revoke` frees it.
 */
export async function loadableUrl(path) {
  if (!token) return { url: path, revoke: () => {} };
  const res = await api(path);
  if (!res.ok) throw new ApiError(res.status, await body(res));
  const url = URL.createObjectURL(await res.blob());
  return { url, revoke: () => URL.revokeObjectURL(url) };
}

/** Saves a file: a plain link when no token is needed, else the bytes fetched with the token. */
export async function download(path, filename) {
  const { url, revoke } = await loadableUrl(path);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(revoke, 30_000);
}

function parseEventBlock(block) {
  const event = { event: 'message', data: '' };
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event.event = value;
    else if (field === 'data') data.push(value);
  }
  event.data = data.join('\n');
  return event;
}

/** Reads a Server-Sent Events response to its end, calling onEvent with each `{ event, data }`. */
export async function readEventStream(res, onEvent) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replaceAll('\r\n', '\n');
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      onEvent(parseEventBlock(block));
    }
  }
}

/**
 * Follows GET /incidents/:id/events. Calls onTrace per entry and onEnd once; onError when the
 * stream cannot be opened or breaks before `end` (the caller falls back to polling).
 * Returns a function that stops following.
 */
export function followEvents(id, { onTrace, onEnd, onError }) {
  const controller = new AbortController();
  (async () => {
    let ended = false;
    try {
      const res = await api(`/incidents/${incidentPath(id)}/events`, { signal: controller.signal, headers: { Accept: 'text/event-stream' } });
      if (!res.ok || !res.body) throw new ApiError(res.status, { detail: `events stream: HTTP ${res.status}` });
      await readEventStream(res, (event) => {
        if (event.event === 'trace') onTrace(JSON.parse(event.data));
        else if (event.event === 'end') {
          ended = true;
          onEnd(JSON.parse(event.data));
        }
      });
      if (!ended) throw new Error('the events stream closed before the end of the incident');
    } catch (error) {
      if (!controller.signal.aborted && !ended) onError(error);
    }
  })();
  return () => controller.abort();
}
