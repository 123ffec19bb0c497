import { h, card, table, section, kv, money, utc, duration, badge, fairway, link, empty, details } from '../ui.js';
import { get, put, post, all, enc } from '../api.js';
import { actionButton } from '../actions.js';

const STATES = ['SCHEDULED', 'LOCKED', 'LIVE', 'COMPLETE', 'CANCELLED', 'ERROR'];
const DEAD_LETTER_PAGE = 200;
/** Older than this is stale: the BackupMissing alert of infra/monitoring/alerts.yml fires after 26 h. */
const BACKUP_STALE_SECONDS = 26 * 3600;

export default {
  title: () => 'Overview',

  load: () => all({
    killSwitch: get('/api/admin/kill-switch'),
    alerts: get('/api/admin/alerts'),
    reconciliation: get('/api/admin/reconciliation/runs?limit=1'),
    ledger: get('/api/admin/ledger/summary'),
    payouts: get('/api/admin/payouts/status'),
    ingestion: get('/api/admin/ingestion/status'),
    contests: get('/api/admin/board/contests?limit=20&state=ERROR'),
    refundsOwed: get('/api/admin/refunds/owed'),
    deadLetters: get(`/api/admin/stripe/webhooks/dead-letters?limit=${DEAD_LETTER_PAGE}`),
    runbooks: get('/api/admin/runbooks'),
    backups: get('/api/admin/backups?limit=3'),
    jobs: get('/api/admin/jobs/recurring'),
  }),

  render(d, _params, state) {
    return h('div.page',
      h('h1', 'Overview'),
      h('div.grid',
        killSwitchCard(d.killSwitch, state),
        attentionCard(d),
        alertsCard(d.alerts, state),
        moneyCard(d.ledger),
        payoutsCard(d.payouts, d.ledger),
        reconciliationCard(d.reconciliation, state),
        backupCard(d.backups),
        contestsCard(d.contests),
        ingestionCard(d.ingestion),
        jobsCard(d.jobs, state)));
  },
};

function killSwitchCard(r, state) {
  return card('Kill-switch', section(r, ks => h('div', { 'data-testid': 'kill-switch', class: ks.engaged ? 'ks engaged' : 'ks' },
    h('p.big', ks.engaged ? 'ENGAGED — every money movement is stopped' : 'Off — money moves'),
    kv([['since', utc(ks.changed_at)], ['by', h('span', { 'data-testid': 'kill-switch-by' }, ks.changed_by)], ['why', h('span', { 'data-testid': 'kill-switch-reason' }, ks.reason)]]),
    actionButton(ks.engaged ? 'Disengage…' : 'Engage…', {
      title: ks.engaged ? 'Disengage the kill-switch' : 'Engage the kill-switch',
      description: ks.engaged ? 'Money movements resume: entries, refunds, settlement postings and payouts.' : 'Every money mutation (entries, refunds, settlement postings, payouts) is refused until it is turned off.',
      confirm: ks.engaged ? 'Disengage' : 'Engage', danger: !ks.engaged,
      command: reason => fairway('killswitch', ks.engaged ? 'off' : 'on', '--reason', reason),
      run: reason => put('/api/admin/kill-switch', { engaged: !ks.engaged, reason }),
      done: () => state.refresh(),
    }, { testid: 'kill-switch-action' })), 'kill-switch'), { command: 'fairway killswitch status', testid: 'card-kill-switch' });
}

function alertsCard(r, state) {
  return card('Alerts that would fire now', section(r, a => {
    if (a.rule_count === 0) return empty('No alert rules in this build (infra/monitoring has none).');
    return h('div', { 'data-testid': 'alerts' },
      a.firing.length === 0 ? h('p.ok', { 'data-testid': 'alerts-quiet' }, `None of the ${a.rule_count - a.not_evaluable.length} rules evaluated here holds.`)
        : table([
          { title: 'Alert', cell: x => h('strong', x.alert) },
          { title: 'Severity', cell: x => badge(x.severity || 'none') },
          { title: 'Summary', cell: x => x.summary || '' },
          { title: 'Runbook', cell: x => x.runbook ? link(`#/runbooks/${enc(x.runbook)}`, x.runbook) : '—' },
        ], a.firing, '', { testid: 'alerts-firing' }),
      a.not_evaluable.length ? details(state, 'not-evaluable', `${a.not_evaluable.length} rules are evaluated by Prometheus only (rates, per-process counters)`,
        () => h('ul.plain', a.not_evaluable.map(x => h('li', h('code', x.alert), ' — ', x.not_evaluable_because)))) : null,
      h('p.muted', `Rules: ${a.rule_files.join(', ')}; the "for" durations are not applied here.`));
  }, 'alerts'), { command: 'fairway alerts', testid: 'card-alerts' });
}

function moneyCard(r) {
  const labels = { contest_escrow: 'In escrow (held for contests)', winnings_payable: 'Winnings payable (not yet transferred)', refunds: 'Refunds decided, not settled at Stripe', platform_revenue: 'Platform revenue (rake)' };
  return card('Money', section(r, l => {
    const rows = l.totals.filter(t => labels[t.kind]);
    return rows.length === 0 ? empty('No money has moved yet.') : table([
      { title: '', cell: t => labels[t.kind] },
      { title: 'Amount', cls: 'num', cell: t => h('span', { 'data-testid': `money-${t.kind}` }, money(t.balance, t.currency)) },
      { title: 'Accounts', cls: 'num', cell: t => `${t.non_zero_accounts} of ${t.accounts} non-zero` },
    ], rows, '');
  }, 'ledger'), { command: 'GET /api/admin/ledger/summary', testid: 'card-money' });
}

function payoutsCard(r, ledger) {
  return card('Payouts', section(r, p => {
    const by = Object.fromEntries(p.transfers.map(t => [t.status, t]));
    const sum = (...s) => s.reduce((a, k) => ({ count: a.count + (by[k]?.count || 0), amount: a.amount + (by[k]?.amount || 0) }), { count: 0, amount: 0 });
    const currency = singleCurrency(ledger);
    const due = sum('pending', 'processing', 'retryable');
    const failed = sum('failed_terminal');
    return h('div', { 'data-testid': 'payouts-summary' },
      kv([
        ['due', `${due.count} transfers · ${money(due.amount, currency)}`],
        ['stuck', h('span', { class: p.stuck_count > 0 ? 'bad' : null }, `${p.stuck_count} (not terminal after ${duration(p.stuck_threshold_seconds)})`)],
        ['failed', h('span', { class: failed.count > 0 ? 'bad' : null, 'data-testid': 'payouts-failed' }, `${failed.count} transfers · ${money(failed.amount, currency)}`)],
        ['completed', `${sum('completed').count} transfers · ${money(sum('completed').amount, currency)}`],
        ['held jobs', String(p.held_jobs.length)],
        ['last scheduler run', p.last_run ? `${utc(p.last_run.finished_at)} · ${p.last_run.outcome}` : 'never'],
      ]),
      link('#/payouts', 'Stuck and failed transfers →'));
  }, 'payouts'), { command: 'fairway payouts status', testid: 'card-payouts' });
}

function singleCurrency(ledger) {
  const currencies = new Set((ledger?.ok ? ledger.data.totals : []).map(t => t.currency));
  return currencies.size === 1 ? [...currencies][0] : null;
}

function reconciliationCard(r) {
  return card('Reconciliation', section(r, rr => {
    const run = rr.runs[0];
    if (!run) return empty('Reconciliation has not run yet.');
    return h('div', { 'data-testid': 'reconciliation' },
      h('p.big', { class: run.violation_count > 0 ? 'bad' : 'ok' }, run.violation_count > 0 ? `${run.violation_count} violations` : 'Clean'),
      kv([['last run', utc(run.finished_at)], ['by', run.triggered_by], ['checks', h('span', { title: run.checks.join(', ') }, `${run.checks.length} ledger invariants`)]]),
      run.violations.length ? h('ul.plain', run.violations.slice(0, 5).map(v => h('li', h('code', v.check), ' ', v.detail))) : null);
  }, 'reconciliation'), { command: 'GET /api/admin/reconciliation/runs', testid: 'card-reconciliation' });
}

/** The last database backups (real time, like database_backup_age_seconds; the BackupMissing alert reads that gauge). */
function backupCard(r) {
  return card('Last backup', section(r, b => h('div', { 'data-testid': 'backups' },
    h('p.big', { class: b.age_seconds === null || b.age_seconds > BACKUP_STALE_SECONDS ? 'bad' : 'ok', 'data-testid': 'backup-age' },
      b.age_seconds === null ? 'No successful backup yet' : `${duration(b.age_seconds)} ago`),
    b.last_succeeded_at ? kv([['finished', utc(b.last_succeeded_at)]]) : null,
    b.backups.length ? table([
      { title: 'Finished', cell: x => utc(x.finished_at) },
      { title: 'Outcome', cell: x => badge(x.outcome) },
      { title: 'By', cell: x => x.actor },
      { title: 'Archive', cell: x => x.archive ? h('code', { title: x.sha256 }, x.archive.split('/').pop()) : (x.error || '—') },
    ], b.backups.slice(0, 3), '') : empty('No backup attempt is recorded (the database-backup job runs when BACKUP_DIR is set; or run fairway db backup).'),
    link('#/runbooks/database-backup', 'Runbook: database-backup')), 'backups'),
  { command: 'fairway db backups', testid: 'card-backup' });
}

function contestsCard(r) {
  return card('Contests', section(r, b => h('div.states', STATES.map(s =>
    h('a.state-count', { href: `#/contests?state=${s}`, 'data-testid': `count-${s}` }, badge(s), h('strong', String(b.counts_by_state[s] ?? 0))))),
  'contests'), { command: 'fairway contests board', testid: 'card-contests' });
}

/** A runbook link when this build has the runbook; otherwise nothing (never a link to a page that says "no such runbook"). */
function runbookLink(runbooks, id) {
  const known = runbooks?.ok && runbooks.data.runbooks.some(r => r.id === id);
  return known ? h('span', ' · runbook ', link(`#/runbooks/${enc(id)}`, id)) : null;
}

/**
 * What waits for a person's decision (issue 9's states that only an audited admin action leaves): contests in ERROR,
 * refunds owed (Stripe failed them; retried by themselves with backoff, or now by an admin), webhook dead letters.
 */
function attentionCard(d) {
  const errors = section(d.contests, b => {
    const n = b.counts_by_state.ERROR ?? 0;
    return h('div', { 'data-testid': 'attention-error' },
      h('p', h('strong', { class: n > 0 ? 'bad' : 'ok', 'data-testid': 'contests-in-error' }, String(n)), ` contest${n === 1 ? '' : 's'} in ERROR`,
        n > 0 ? h('span', ' · ', link('#/contests?state=ERROR', 'resolve them →')) : null, runbookLink(d.runbooks, 'contest-error')),
      n > 0 ? h('ul.plain', b.contests.map(c => h('li', link(`#/contests/${enc(c.id)}`, c.id), ` since ${utc(c.state_changed_at)}`,
        c.error_code ? h('span', ': ', h('code', c.error_code), c.error_failed_runs ? ` after ${c.error_failed_runs} failed settlement runs` : '') : ''))) : null);
  }, 'contests in ERROR');
  const refunds = section(d.refundsOwed, o => h('div', { 'data-testid': 'attention-refunds' },
    h('p', h('strong', { class: o.count > 0 ? 'bad' : 'ok', 'data-testid': 'refunds-owed' }, String(o.count)), ` refund${o.count === 1 ? '' : 's'} owed`,
      o.by_currency.length ? h('span', { 'data-testid': 'refunds-owed-amount' }, ` (${o.by_currency.map(x => money(x.amount, x.currency)).join(', ')})`) : null,
      o.count > 0 ? h('span', ' · ', link('#/payouts', 'retry them →')) : null, runbookLink(d.runbooks, 'refunds-owed'))), 'refunds owed');
  const dead = section(d.deadLetters, p => {
    const n = p.data.length;
    return h('div', { 'data-testid': 'attention-dead-letters' },
      h('p', h('strong', { class: n > 0 ? 'bad' : 'ok', 'data-testid': 'dead-letters-count' }, p.has_more ? `${n}+` : String(n)),
        ` webhook dead letter${n === 1 ? '' : 's'}`, n > 0 ? h('span', ' · ', link('#/webhooks', 'replay them →')) : null, runbookLink(d.runbooks, 'webhook-dead-letters')));
  }, 'dead letters');
  return card('Waiting for a decision', h('div', errors, refunds, dead),
    { command: 'fairway contests board --state ERROR · fairway payments refunds-owed · fairway webhooks dead-letters', testid: 'card-attention' });
}

function ingestionCard(r) {
  return card('Ingestion lag per tournament', section(r, rows => table([
    { title: 'Tournament', cell: t => t.tournament_id },
    { title: 'Provider status', cell: t => t.provider_status || '—' },
    { title: 'Last fetch', cell: t => t.last_fetch_outcome ? h('span', badge(t.last_fetch_outcome), ' ', utc(t.last_fetch_at)) : 'never' },
    { title: 'Lag', cls: 'num', cell: t => h('span', { 'data-testid': `lag-${t.tournament_id}` }, duration(t.lag_seconds)) },
    { title: 'Rejected / failed', cls: 'num', cell: t => `${t.rejected_count} / ${t.fetch_failed_count}` },
  ], [...rows].sort((a, b) => (b.lag_seconds ?? -1) - (a.lag_seconds ?? -1) || a.tournament_id.localeCompare(b.tournament_id)), 'No tournaments yet.'), 'ingestion'),
  { command: 'fairway ingestion status', testid: 'card-ingestion', wide: true });
}

function jobsCard(r, state) {
  return card('Recurring jobs', section(r, jobs => table([
    { title: 'Job', cell: j => h('code', j.id) },
    { title: 'Schedule', cell: j => h('code', j.cron) },
    { title: 'Last run', cell: j => j.last_execution ? h('span', badge(j.last_job_state || '—'), ' ', utc(j.last_execution)) : 'never' },
    { title: 'Paused', cell: j => j.pause ? h('span.bad', `by ${j.pause.paused_by}: ${j.pause.reason}`) : 'no' },
    { title: '', cell: j => actionButton(j.pause ? 'Resume…' : 'Pause…', {
      title: `${j.pause ? 'Resume' : 'Pause'} ${j.id}`,
      description: j.pause ? 'The job runs on its schedule again.' : 'The job stops running on every worker (across restarts) until resumed. The kill-switch is not touched.',
      confirm: j.pause ? 'Resume' : 'Pause', danger: !j.pause,
      command: reason => fairway('jobs', j.pause ? 'resume' : 'pause', j.id, '--reason', reason),
      run: reason => post(`/api/admin/jobs/recurring/${enc(j.id)}/${j.pause ? 'resume' : 'pause'}`, { reason }),
      done: () => state.refresh(),
    }) },
  ], jobs, 'No recurring jobs are registered (a worker registers them at start-up).'), 'jobs'), { command: 'fairway jobs list', testid: 'card-jobs', wide: true });
}
