// DOM helpers and formatters shared by every page. Text is always set with textContent (never innerHTML):
// contest names, reasons and webhook details come from outside and must never become markup.

/** h('div.card#x', {attrs}, ...children): creates an element; strings become text nodes; null/false are skipped. */
export function h(spec, attrs, ...children) {
  const [tagAndClasses, id] = spec.split('#');
  const [tag, ...classes] = tagAndClasses.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (id) el.id = id;
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) { children.unshift(attrs); attrs = null; }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Exact money from integer minor units: no floating point (amounts can exceed 2^53 only in theory, but never lose a cent). */
export function money(minor, currency) {
  if (minor === null || minor === undefined) return '—';
  const code = (currency || '').trim().toUpperCase();
  let digits = 2;
  try { if (code) digits = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits; } catch { /* unknown code: 2 */ }
  const n = BigInt(minor);
  const negative = n < 0n;
  const abs = negative ? -n : n;
  const scale = 10n ** BigInt(digits);
  const major = (abs / scale).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const cents = digits > 0 ? '.' + (abs % scale).toString().padStart(digits, '0') : '';
  return `${negative ? '−' : ''}${code ? code + ' ' : ''}${major}${cents}`;
}

/** "2027-06-01 12:00:05 UTC" — server instants are shown in UTC, the zone every log line and audit row uses. */
export function utc(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** A duration in seconds as "3 h 05 min", "42 s". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export function short(hash, n = 12) { return hash ? String(hash).slice(0, n) + '…' : '—'; }

export function badge(value, kind) {
  const v = String(value ?? '—');
  return h(`span.badge.b-${(kind || v).toLowerCase().replace(/[^a-z0-9]+/g, '-')}`, { 'data-testid': 'badge' }, v);
}

/** A card with a title, an optional command hint (the CLI equivalent of what it shows) and a body. */
export function card(title, body, opts = {}) {
  return h('section.card', { 'data-testid': opts.testid || null, class: opts.wide ? 'card wide' : 'card' },
    h('header.card-head', h('h2', title), opts.actions || null),
    body,
    opts.command ? h('p.cli', { title: 'Where this data comes from: the ops CLI command or admin API route' }, h('code', opts.command)) : null);
}

/** A table with a designed empty state. columns: [{ title, cell: row => Node|string, cls }]. */
export function table(columns, rows, emptyText, opts = {}) {
  if (!rows || rows.length === 0) return empty(emptyText);
  return h('div.table-wrap', h('table', { 'data-testid': opts.testid || null },
    h('thead', h('tr', columns.map(c => h('th', { class: c.cls || null }, c.title)))),
    h('tbody', rows.map(r => h('tr', { class: opts.rowClass ? opts.rowClass(r) : null, 'data-row': opts.key ? opts.key(r) : null },
      columns.map(c => h('td', { class: c.cls || null }, c.cell(r))))))));
}

export function empty(text) { return h('p.empty', { 'data-testid': 'empty' }, text); }

export function loading(text = 'Loading…') { return h('p.loading', { 'data-testid': 'loading' }, h('span.spinner'), text); }

/** An API failure shown where its data would be: status, stable code, detail and correlation id for the logs. */
export function failure(problem, what) {
  return h('div.error', { 'data-testid': 'error', role: 'alert' },
    h('strong', `${what ? what + ': ' : ''}${problem.title || 'Request failed'}`),
    h('div', h('code', problem.code || `HTTP ${problem.status}`), problem.detail ? ' — ' + problem.detail : ''),
    problem.correlation_id ? h('div.muted', `correlation id ${problem.correlation_id}`) : null);
}

/** Renders a settled section: the data through render(), or its error state. */
export function section(result, render, what) {
  if (!result) return loading();
  return result.ok ? render(result.data) : failure(result.problem, what);
}

export function kv(pairs) {
  return h('dl.kv', pairs.filter(Boolean).map(([k, v]) => [h('dt', k), h('dd', v ?? '—')]));
}

export function link(href, text) { return h('a', { href }, text); }

/** POSIX-shell quoting, so a command shown by the console can be pasted as is. */
export function shellQuote(s) {
  const v = String(s);
  return /^[A-Za-z0-9_.:\/@%+=,-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

export function fairway(...args) { return 'fairway ' + args.map(shellQuote).join(' '); }

export function json(value) { return h('pre.json', JSON.stringify(value, null, 2)); }

/** A <details> block whose open state survives the page's periodic re-render (keyed in the page state). */
export function details(state, key, summary, body) {
  const el = h('details', { open: state.open?.has(key) || null, 'data-key': key }, h('summary', summary), typeof body === 'function' ? (state.open?.has(key) ? body() : null) : body);
  el.addEventListener('toggle', () => {
    state.open ??= new Set();
    if (el.open) state.open.add(key); else state.open.delete(key);
    state.refresh?.();
  });
  return el;
}
