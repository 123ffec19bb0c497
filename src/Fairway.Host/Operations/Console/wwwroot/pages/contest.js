import { h, card, table, section, kv, money, utc, duration, badge, short, fairway, empty, failure, json, details, link } from '../ui.js';
import { get, post, all, enc } from '../api.js';
import { actionButton } from '../actions.js';
import { transferActions, refundTable } from './payouts.js';

export default {
  title: params => `Contest ${params.id}`,

  load: ({ id }) => all({
    contest: get(`/api/admin/contests/${enc(id)}`),
    board: get(`/api/admin/board/contests?contest_id=${enc(id)}&limit=1`),
    standings: get(`/api/contests/${enc(id)}/standings?limit=20`),
    settlement: get(`/api/admin/settlements/${enc(id)}?limit=20`),
    payouts: get(`/api/admin/payouts/contests/${enc(id)}`),
    audit: get(`/api/admin/audit?contest_id=${enc(id)}&limit=200`),
    refunds: get(`/api/admin/refunds?contest_id=${enc(id)}&limit=200`),
  }),

  render(d, { id }, state) {
    if (!d.contest.ok) return h('div.page', h('h1', `Contest ${id}`), failure(d.contest.problem, 'Contest'));
    const c = d.contest.data;
    const row = d.board.ok ? d.board.data.contests[0] : null;
    return h('div.page',
      h('header.page-head',
        h('div', h('h1', c.name), h('p.muted', `${c.id} · tournament ${c.tournament.name} (${c.tournament.id})`)),
        h('div.state-big', { 'data-testid': 'contest-state' }, badge(c.state)),
        h('div.actions', lifecycleActions(c, state))),
      c.state === 'ERROR' ? errorCard(d.audit, c, row, state) : null,
      h('div.grid',
        card('Lifecycle and rules', kv([
          ['state', h('span', badge(c.state), ` since ${utc(c.state_changed_at)}`)],
          ['lock time', utc(c.rules.lock_time)],
          ['event', `${c.event_start_date} → ${c.event_end_date}, ${c.round_count} rounds${c.cut_after_round ? `, cut after round ${c.cut_after_round}` : ''}`],
          ['config', h('span', `v${c.config_version} `, h('code', short(c.config_hash, 16)))],
          ['entry fee', money(c.rules.entry_fee, c.rules.currency)],
          ['entries allowed', `${c.rules.min_entries} to ${c.rules.max_entries}, roster of ${c.rules.roster_size}`],
          ['rake', `${(c.rules.rake_bps / 100).toFixed(2)} %`],
          ['payout table', c.rules.payout_table.map(p => `#${p.place}: ${(p.bps / 100).toFixed(2)} %`).join(', ')],
          ['settlement hold', duration(c.rules.settlement_hold_seconds)],
        ]), { command: fairway('contests', 'show', c.id) }),
        card('Entries and escrow', row ? kv([
          ['paid entries', h('strong', { 'data-testid': 'entries-active' }, String(row.active_entries))],
          ['awaiting payment', String(row.pending_entries)],
          ['refunded', String(row.refunded_entries)],
          ['escrow', h('strong', { 'data-testid': 'escrow' }, money(row.escrow_balance, row.currency || c.rules.currency))],
        ]) : section(d.board, () => empty('—'), 'entries'), { command: `fairway contests board --contest ${c.id}` }),
        standingsCard(d.standings, c),
        settlementCard(d.settlement, c),
        payoutsCard(d.payouts, c, state),
        refundsCard(d.refunds, c, state),
        auditCard(d.audit, state, c.id)));
  },
};

function lifecycleActions(c, state) {
  const buttons = [];
  if (c.state === 'SCHEDULED') buttons.push(actionButton('Lock now…', {
    title: `Lock ${c.id} now`, description: 'Runs the lock decision immediately (runbook: contest lock failed). An under-filled contest is cancelled and refunded.',
    confirm: 'Lock', command: reason => fairway('contests', 'lock', c.id, '--reason', reason),
    run: reason => post(`/api/admin/contests/${enc(c.id)}/lock`, { reason }), done: () => state.refresh(),
  }, { testid: 'contest-lock' }));
  if (c.state === 'ERROR') return buttons; // its exits are on the ERROR card, with the cause beside them
  if (['SCHEDULED', 'LOCKED', 'LIVE'].includes(c.state)) buttons.push(actionButton('Cancel and refund…', {
    title: `Cancel ${c.id}`, description: 'The contest ends CANCELLED and every paid entry is refunded through Stripe.', danger: true,
    confirm: 'Cancel the contest', command: reason => fairway('contests', 'cancel', c.id, '--reason', reason),
    run: reason => post(`/api/admin/contests/${enc(c.id)}/cancel`, { reason }), done: () => state.refresh(),
  }, { testid: 'contest-cancel' }));
  return buttons;
}

/** The two exits of ERROR (issue 9), each one call to POST /api/admin/contests/{id}/resolve, as `fairway contests resolve` makes. */
function resolveActions(c, state) {
  const resolve = (action, reason) => post(`/api/admin/contests/${enc(c.id)}/resolve`, { action, reason });
  return [
    actionButton('Retry settlement…', {
      title: `Retry the settlement of ${c.id}`,
      description: 'Once the cause is fixed (e.g. the missing payment arrived): ERROR → COMPLETE and the settlement runs now. If it fails again as often, the contest returns to ERROR.',
      confirm: 'Retry the settlement', command: reason => fairway('contests', 'resolve', c.id, '--retry-settlement', '--reason', reason),
      run: reason => resolve('retry_settlement', reason), done: () => state.refresh(),
    }, { testid: 'contest-resolve-retry' }),
    actionButton('Cancel and refund…', {
      title: `Cancel ${c.id} and refund every paid entry`,
      description: 'The contest cannot be settled: ERROR → CANCELLED, and every paid entry is refunded through Stripe (from the escrow).', danger: true,
      confirm: 'Cancel and refund', command: reason => fairway('contests', 'resolve', c.id, '--cancel-and-refund', '--reason', reason),
      run: reason => resolve('cancel_and_refund', reason), done: () => state.refresh(),
    }, { danger: true, testid: 'contest-resolve-cancel' }),
  ];
}

/** Why the contest is in ERROR: the evidence of its audited ERROR transition (failed runs, last error, runbook). */
function errorCard(audit, c, row, state) {
  const entered = audit.ok ? audit.data.events.find(e => e.action === 'contest.transition' && e.after?.state === 'ERROR') : null;
  const ev = entered?.evidence || {};
  const runbook = /([a-z0-9-]+)\.md$/.exec(ev.runbook || row?.error_runbook || '')?.[1];
  return h('section.card.alarm', { 'data-testid': 'contest-error' },
    h('header.card-head', h('h2', 'In ERROR: waiting for an admin decision'), h('div.actions', resolveActions(c, state))),
    kv([
      ['since', `${utc(c.state_changed_at)}${entered ? ` (${entered.actor})` : ''}`],
      ['cause', h('span', { 'data-testid': 'contest-error-cause' }, ev.last_error_code ? h('code', ev.last_error_code) : (entered?.reason || '—'),
        ev.failed_runs ? ` after ${ev.failed_runs} failed settlement runs (limit ${ev.max_failed_attempts})` : '')],
      ['last error', ev.last_error || '—'],
      ['runbook', runbook ? link(`#/runbooks/${enc(runbook)}`, runbook) : '—'],
      ['exits', h('span', 'retry the settlement once the cause is fixed, or cancel the contest and refund every paid entry; both need a reason and are audited')],
    ]));
}

function refundsCard(r, c, state) {
  return card('Refunds', section(r, x => refundTable(x.refunds, state, 'No refund for this contest.', 'contest-refunds'), 'refunds'),
    { command: fairway('payments', 'refunds', '--contest', c.id), wide: true });
}

function standingsCard(r, c) {
  return card('Standings (top 20)', r.ok
    ? h('div', h('p.muted', `as of ingestion event ${r.data.as_of_event_id} (${utc(r.data.as_of_fetched_at)}), provider status ${r.data.provider_status || '—'}, ${r.data.total_entries} entries, pool ${money(r.data.net, c.rules.currency)} after rake`),
      table([
        { title: 'Rank', cls: 'num', cell: e => String(e.rank) },
        { title: 'Entry', cell: e => h('code', e.entry_id) },
        { title: 'Player', cell: e => e.user_id },
        { title: 'Strokes', cls: 'num', cell: e => String(e.score) },
        { title: 'Projected prize', cls: 'num', cell: e => money(e.projected_prize, c.rules.currency) },
      ], r.data.entries, 'No entries are scored.', { testid: 'standings' }))
    : r.status === 404 ? empty('No standings yet: no leaderboard has been accepted for this tournament.') : failure(r.problem, 'Standings'),
  { command: `GET /api/contests/${c.id}/standings`, wide: true });
}

function settlementCard(r, c) {
  return card('Settlement', section(r, s => {
    const runs = s.runs.length ? table([
      { title: 'Run', cell: x => `#${x.id}` },
      { title: 'Finished', cell: x => utc(x.finished_at) },
      { title: 'Outcome', cell: x => badge(x.outcome) },
      { title: 'Error', cell: x => x.error_code ? h('code', x.error_code) : '—' },
      { title: 'By', cell: x => x.triggered_by },
    ], s.runs, '') : null;
    if (!s.settled) return h('div', { 'data-testid': 'settlement' },
      empty(c.state === 'COMPLETE' ? `Not settled yet: settlement runs ${duration(c.rules.settlement_hold_seconds)} after COMPLETE.` : `Not settled (the contest is ${c.state}).`), runs);
    const st = s.settlement;
    const bundle = `${c.id}.bundle.json`;
    return h('div', { 'data-testid': 'settlement' },
      kv([
        ['output hash', h('code', { 'data-testid': 'output-hash' }, st.output_hash)],
        ['entry set hash', h('code', st.entry_set_hash)],
        ['leaderboard', h('span', `event ${st.leaderboard_event_id} `, h('code', short(st.leaderboard_hash, 16)))],
        ['config', h('span', `v${st.config_version} `, h('code', short(st.config_hash, 16)))],
        ['pool', `${money(st.gross, st.currency)} gross · ${money(st.rake, st.currency)} rake · ${money(st.net, st.currency)} net`],
        ['entries / winners', `${st.entry_count} / ${st.winners}`],
        ['settled', `${utc(st.committed_at)} by ${st.settled_by} (${st.load_ms + st.compute_ms + st.persist_ms} ms)`],
      ]),
      h('p.muted', 'Replay it offline; the printed output_hash must equal the one above:'),
      h('pre.command', { 'data-testid': 'replay-command' }, `${fairway('settlement', 'export', c.id, '--output', bundle)}\n${fairway('settlement', 'replay', bundle)}`),
      s.correction_checks.length ? h('div', h('h3', 'Provider corrections after settlement'), table([
        { title: 'Checked', cell: x => utc(x.checked_at) },
        { title: 'Event', cell: x => String(x.ingestion_event_id) },
        { title: 'Outcome', cell: x => badge(x.outcome) },
        { title: 'Action', cell: x => x.action || '—' },
      ], s.correction_checks, '')) : null,
      runs);
  }, 'settlement'), { command: fairway('settlement', 'show', c.id), wide: true });
}

function payoutsCard(r, c, state) {
  if (!r.ok && r.status === 404) return card('Payouts', empty('No payout job: the contest is not settled.'), { command: fairway('payouts', 'show', c.id), wide: true });
  return card('Payouts', section(r, p => h('div', { 'data-testid': 'contest-payouts' },
    kv([
      ['job', h('span', badge(p.job.status), p.job.hold_reason ? ` held: ${p.job.hold_reason}` : '')],
      ['transfers', `${p.job.transfer_count} · ${money(p.job.total_amount, p.transfers[0]?.currency || c.rules.currency)}`],
      ['created', utc(p.job.created_at)],
      ['completed', utc(p.job.completed_at)],
    ]),
    p.job.status === 'held' ? actionButton('Release held payouts…', {
      title: `Release the payout job of ${c.id}`, description: 'After review of the provider correction: the transfers are executed by the next scheduler run.',
      confirm: 'Release', command: reason => fairway('payouts', 'release', c.id, '--reason', reason),
      run: reason => post(`/api/admin/payouts/contests/${enc(c.id)}/release`, { reason }), done: () => state.refresh(),
    }, { testid: 'payout-release' }) : null,
    table([
      { title: 'Transfer', cell: t => link(`#/payouts/transfers/${t.id}`, `#${t.id}`) },
      { title: 'Player', cell: t => t.user_id },
      { title: 'Amount', cls: 'num', cell: t => money(t.amount, t.currency) },
      { title: 'Status', cell: t => badge(t.status) },
      { title: 'Attempts', cls: 'num', cell: t => `${t.attempt_count} / ${t.max_attempts}` },
      { title: 'Stripe', cell: t => t.stripe_transfer_id ? h('code', t.stripe_transfer_id) : (t.failure_reason || t.last_error_class || '—') },
      { title: '', cell: t => transferActions(t, state) },
    ], p.transfers, 'No transfers: nobody won a prize.', { testid: 'contest-transfers' })), 'payouts'),
  { command: fairway('payouts', 'show', c.id), wide: true });
}

function auditCard(r, state, id) {
  return card('Audit trail (newest first)', section(r, a => a.events.length === 0 ? empty('No audit rows.') : h('ol.timeline', { 'data-testid': 'timeline' },
    a.events.map(e => h('li', { 'data-action': e.action },
      h('div.when', utc(e.occurred_at)),
      h('div.what', h('strong', e.action), ' ', h('span.muted', `${e.entity_type} ${e.entity_id}`)),
      h('div.who', `${e.actor}: `, h('q', e.reason)),
      (e.evidence || e.after) ? details(state, `audit-${e.id}`, 'evidence', () => json({ before: e.before, after: e.after, evidence: e.evidence })) : null))),
  'audit'), { command: fairway('audit', '--contest', id), wide: true });
}
