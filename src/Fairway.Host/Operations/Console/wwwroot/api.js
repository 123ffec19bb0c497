// The console's only way to read or change anything: the admin API, with the operator's bearer token —
// the same routes the `fairway` CLI calls, audited the same way. The token lives in sessionStorage (gone
// when the tab closes) and is sent only to this origin.

const TOKEN_KEY = 'fairway.console.token';
const REQUEST_TIMEOUT_MS = 20000;

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set token(v) { if (v) sessionStorage.setItem(TOKEN_KEY, v); else sessionStorage.removeItem(TOKEN_KEY); },
  onUnauthorized: null,
};

/** Calls the API; resolves to { ok, status, data } or { ok: false, status, problem } (never throws on HTTP errors). */
export async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), cache: 'no-store' });
  } catch (e) {
    return { ok: false, status: 0, problem: { title: 'The API did not answer', code: 'NETWORK_ERROR', detail: e.message } };
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (response.ok) return { ok: true, status: response.status, data };
  const problem = data && typeof data === 'object' && data.code
    ? data
    : { status: response.status, title: response.status === 404 ? 'Not available on this deployment' : `HTTP ${response.status}`, code: response.status === 404 ? 'NOT_FOUND' : `HTTP_${response.status}`, detail: text.slice(0, 300) || null };
  if ((response.status === 401 || response.status === 403) && session.onUnauthorized) session.onUnauthorized(problem);
  return { ok: false, status: response.status, problem };
}

export const get = path => call('GET', path);
export const post = (path, body) => call('POST', path, body ?? {});
export const put = (path, body) => call('PUT', path, body);

/** Loads several sections at once; each resolves on its own, so one failing section does not blank the page. */
export async function all(requests) {
  const keys = Object.keys(requests);
  const results = await Promise.all(keys.map(k => requests[k]));
  return Object.fromEntries(keys.map((k, i) => [k, results[i]]));
}

export const enc = encodeURIComponent;
