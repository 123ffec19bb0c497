import { h, failure, loading } from './ui.js';
import { session, get } from './api.js';
import { startOidcSignIn, completeOidcSignIn } from './oidc.js';
import overview from './pages/overview.js';
import contests from './pages/contests.js';
import contest from './pages/contest.js';
import payouts from './pages/payouts.js';
import transfer from './pages/transfer.js';
import webhooks from './pages/webhooks.js';
import runbooks from './pages/runbooks.js';
import runbook from './pages/runbook.js';

// Pages are addressed by the URL fragment: #/overview, #/contests?state=LIVE, #/contests/<id>, #/payouts,
// #/payouts/transfers/<id>, #/webhooks, #/runbooks, #/runbooks/<name>. Every page is live: it is reloaded
// from the admin API every `refresh_seconds` (one request set per page at a time), and the header says
// how long ago its data was fetched.
const routes = [
  [/^\/?$/, overview], [/^\/overview$/, overview],
  [/^\/contests$/, contests], [/^\/contests\/([^/]+)$/, contest],
  [/^\/payouts$/, payouts], [/^\/payouts\/transfers\/(\d+)$/, transfer],
  [/^\/webhooks$/, webhooks],
  [/^\/runbooks$/, runbooks], [/^\/runbooks\/([^/]+)$/, runbook],
];
const nav = [['#/overview', 'Overview', overview], ['#/contests', 'Contests', contests], ['#/payouts', 'Payouts & refunds', payouts],
  ['#/webhooks', 'Webhooks', webhooks], ['#/runbooks', 'Runbooks', runbooks]];

const $ = id => document.getElementById(id);
let config = { refresh_seconds: 5, oidc: null };
let me = null;
let current = null;
let generation = 0;

function parseHash() {
  const raw = decodeURIComponent(location.hash.replace(/^#/, '') || '/');
  const [path, query] = raw.split('?');
  const params = Object.fromEntries(new URLSearchParams(query || ''));
  for (const [pattern, page] of routes) {
    const m = path.match(pattern);
    if (m) return { page, params: { ...params, id: m[1] ? decodeURIComponent(m[1]) : undefined }, path };
  }
  return { page: null, params, path };
}

function showSignIn(message) {
  stop();
  me = null;
  document.body.classList.remove('signed-in');
  $('main').replaceChildren();
  $('whoami').replaceChildren();
  $('freshness').replaceChildren();
  const token = h('textarea#token', { rows: 4, placeholder: 'eyJhbGciOi…  (e.g. from: fairway token --sub <you> --admin)', 'data-testid': 'token-input', spellcheck: 'false' });
  const submit = h('button.btn.primary', { type: 'submit', 'data-testid': 'sign-in' }, 'Sign in with this token');
  const form = h('form.signin', { 'data-testid': 'signin-form' },
    h('h1', 'Fairway admin console'),
    message ? h('div.error', { role: 'alert', 'data-testid': 'signin-message' }, message) : null,
    config.oidc ? h('div.oidc',
      h('button.btn.primary', { type: 'button', 'data-testid': 'oidc-sign-in', onclick: () => startOidcSignIn(config.oidc) }, `Sign in with ${new URL(config.oidc.authority).host}`),
      h('p.muted', 'or paste an admin bearer token:')) : h('p.muted', 'Paste an admin bearer token (role admin). It stays in this tab only.'),
    h('label', { for: 'token' }, 'Bearer token'),
    token, submit);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const value = token.value.trim();
    if (!value) return;
    session.token = value;
    await signedIn();
  });
  $('main').replaceChildren(form);
}

/** Checks the token with GET /api/me: only a token with role admin opens the console; any other sees nothing. */
async function signedIn() {
  const r = await get('/api/me');
  if (!r.ok) {
    session.token = null;
    return showSignIn(r.status === 401 ? `The token was rejected (${r.problem.code}).` : `Sign-in failed: ${r.problem.code}`);
  }
  if (!(r.data.roles || []).includes('admin')) {
    session.token = null;
    return showSignIn(`This token (subject ${r.data.subject}) has no admin role: the console shows nothing to it.`);
  }
  me = r.data;
  document.body.classList.add('signed-in');
  $('whoami').replaceChildren(h('span', { 'data-testid': 'whoami' }, `admin:${me.subject}`),
    h('button.btn.small', { type: 'button', 'data-testid': 'sign-out', onclick: () => { session.token = null; showSignIn('Signed out.'); } }, 'Sign out'));
  route();
}

function stop() {
  generation++;
  if (current?.timer) clearTimeout(current.timer);
  current = null;
}

function route() {
  if (!me) return;
  stop();
  const { page, params, path } = parseHash();
  for (const a of $('nav').querySelectorAll('a')) a.classList.toggle('active', path.startsWith(a.getAttribute('href').slice(1)) || (path === '/' && a.getAttribute('href') === '#/overview'));
  if (!page) {
    $('main').replaceChildren(failure({ title: 'No such page', code: 'NOT_FOUND', detail: location.hash }));
    return;
  }
  current = { page, params, state: {}, lastLoaded: null, failed: 0, timer: null, generation };
  current.state.refresh = () => refresh(current.generation);
  document.title = `${page.title(params)} · Fairway admin`;
  $('main').replaceChildren(h('h1', page.title(params)), loading());
  refresh(generation);
}

async function refresh(gen) {
  const c = current;
  if (!c || gen !== generation) return;
  if (c.timer) clearTimeout(c.timer);
  const data = await c.page.load(c.params, c.state);
  if (gen !== generation || !me) return;
  // A 404 is a designed state (e.g. no such contest, or a section this deployment does not offer), not a failed refresh.
  c.failed = Object.values(data).filter(r => r && r.ok === false && r.status !== 404).length;
  c.lastLoaded = Date.now();
  const scroll = window.scrollY;
  $('main').replaceChildren(c.page.render(data, c.params, c.state));
  window.scrollTo(0, scroll);
  tick();
  c.timer = setTimeout(() => refresh(gen), config.refresh_seconds * 1000);
}

function tick() {
  const el = $('freshness');
  if (!current?.lastLoaded) { el.replaceChildren(); return; }
  const seconds = Math.floor((Date.now() - current.lastLoaded) / 1000);
  el.className = current.failed ? 'freshness warn' : 'freshness';
  el.replaceChildren(...[h('span', { 'data-testid': 'updated' }, `updated ${seconds} s ago`),
    current.failed ? h('span', { 'data-testid': 'refresh-failed' }, ` · ${current.failed} section${current.failed > 1 ? 's' : ''} failed to refresh (retrying)`) : null,
    h('span.muted', ` · live, every ${config.refresh_seconds} s`)].filter(Boolean));
}

async function start() {
  $('nav').replaceChildren(...nav.map(([href, text]) => h('a', { href, 'data-testid': `nav-${text.split(' ')[0].toLowerCase()}` }, text)));
  const c = await get('/admin/console/config.json');
  if (c.ok) config = c.data;
  session.onUnauthorized = problem => showSignIn(problem.status === 403
    ? 'This token has no admin role: the console shows nothing to it.'
    : `The token was rejected or has expired (${problem.code}). Sign in again.`);
  window.addEventListener('hashchange', route);
  setInterval(tick, 1000);
  if (config.oidc) {
    const completed = await completeOidcSignIn(config.oidc);
    if (completed.error) return showSignIn(completed.error);
  }
  if (session.token) await signedIn();
  else showSignIn();
}

start();
