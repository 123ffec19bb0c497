import { h, card, table, section, kv, money, utc, duration, badge, fairway, empty, link } from '../ui.js';
import { get, post, all, enc } from '../api.js';
import { actionButton } from '../actions.js';

/** The actions a transfer offers: a failed_terminal one can be re-queued with a fresh attempt budget. */
export function transferActions(t, state) {
  if (t.status !== 'failed_terminal') return null;
  return actionButton('Retry…', {
    title: `Retry payout transfer #${t.id}`,
    description: `Re-queues it with a fresh attempt budget (same idempotency key; refused if a Stripe transfer was ever recorded). Failed because: ${t.failure_reason || t.last_error || 'unknown'}.`,
    confirm: 'Retry the transfer',
    command: reason => fairway('payouts', 'retry', String(t.id), '--reason', reason),
    run: reason => post(`/api/admin/payouts/transfers/${t.id}/retry`, { reason }),
    done: () => state.refresh(),
  }, { testid: `retry-${t.id}` });
}

export function transferColumns(state) {
  return [
    { title: 'Transfer', cell: t => link(`#/payouts/transfers/${t.id}`, `#${t.id}`) },
    { title: 'Contest', cell: t => link(`#/contests/${enc(t.contest_id)}`, t.contest_id) },
    { title: 'Player', cell: t => t.user_id },
    { title: 'Amount', cls: 'num', cell: t => money(t.amount, t.currency) },
    { title: 'Status', cell: t => badge(t.status) },
    { title: 'Attempts', cls: 'num', cell: t => `${t.attempt_count} / ${t.max_attempts}` },
    { title: 'Why', cell: t => t.failure_reason || (t.last_error_class ? `${t.last_error_class}: ${t.last_error || ''}` : '—') },
    { title: 'Updated', cell: t => utc(t.updated_at) },
    { title: '', cell: t => transferActions(t, state) },
  ];
}

export default {
  title: () => 'Payouts and refunds',

  load: () => all({
    status: get('/api/admin/payouts/status'),
    failed: get('/api/admin/payouts/transfers?status=failed_terminal&limit=100'),
    retryable: get('/api/admin/payouts/transfers?status=retryable&limit=100'),
    owed: get('/api/admin/refunds/owed'),
    failedRefunds: get('/api/admin/refunds?status=FAILED&limit=100'),
    openRefunds: get('/api/admin/refunds?status=REQUESTED&limit=100'),
    submittedRefunds: get('/api/admin/refunds?status=SUBMITTED&limit=100'),
  }),

  render(d, _params, state) {
    return h('div.page',
      h('h1', 'Payouts and refunds'),
      h('div.grid',
        card('Payout scheduler', section(d.status, s => kv([
          ['kill-switch', s.kill_switch_engaged ? h('span.bad', 'ENGAGED: no transfer is attempted') : 'off'],
          ['stuck threshold', duration(s.stuck_threshold_seconds)],
          ['last run', s.last_run ? h('span', badge(s.last_run.outcome), ` ${utc(s.last_run.finished_at)} by ${s.last_run.triggered_by}: ${s.last_run.attempted} attempted, ${s.last_run.completed} completed, ${s.last_run.retryable} retryable, ${s.last_run.failed_terminal} failed${s.last_run.error ? ' — ' + s.last_run.error : ''}`) : 'never'],
          ['transfers', s.transfers.map(t => `${t.status} ${t.count}`).join(' · ') || 'none'],
        ]), 'payout status'), { command: 'fairway payouts status' }),
        card('Held payout jobs', section(d.status, s => table([
          { title: 'Contest', cell: j => link(`#/contests/${enc(j.contest_id)}`, j.contest_id) },
          { title: 'Why held', cell: j => j.hold_reason || '—' },
          { title: 'Transfers', cls: 'num', cell: j => String(j.transfer_count) },
          { title: '', cell: j => actionButton('Release…', {
            title: `Release the payout job of ${j.contest_id}`, description: 'After review: its transfers are executed by the next scheduler run.',
            confirm: 'Release', command: reason => fairway('payouts', 'release', j.contest_id, '--reason', reason),
            run: reason => post(`/api/admin/payouts/contests/${enc(j.contest_id)}/release`, { reason }), done: () => state.refresh(),
          }) },
        ], s.held_jobs, 'No payout job is held.'), 'held jobs'), { command: 'fairway payouts status' }),
        card('Stuck transfers', section(d.status, s => table(transferColumns(state), s.stuck, `None: every transfer became terminal within ${duration(s.stuck_threshold_seconds)}.`, { testid: 'stuck' }), 'stuck'),
          { command: 'fairway payouts status', wide: true }),
        card('Failed transfers (failed_terminal)', section(d.failed, f => table(transferColumns(state), f.transfers, 'No failed transfers.', { testid: 'failed-transfers', key: t => t.id }), 'failed transfers'),
          { command: 'fairway payouts transfers --status failed_terminal', wide: true, testid: 'card-failed-transfers' }),
        card('Transfers waiting for a retry', section(d.retryable, f => table(transferColumns(state), f.transfers, 'None.'), 'retryable transfers'),
          { command: 'fairway payouts transfers --status retryable', wide: true }),
        card('Refunds owed (failed at Stripe)', h('div',
          section(d.owed, o => h('p', { 'data-testid': 'refunds-owed-total' }, o.count === 0 ? 'Nothing owed.'
            : `${o.count} owed: ${o.by_currency.map(x => money(x.amount, x.currency)).join(', ')}. Each is sent again by itself after its backoff until its attempts run out; "Retry now" sends it at once with a fresh budget.`), 'refunds owed'),
          section(d.failedRefunds, r => refundTable(r.refunds, state, 'No refund is owed.', 'refunds-owed'), 'failed refunds')),
        { command: 'fairway payments refunds-owed · fairway payments refunds --status FAILED', wide: true, testid: 'card-refunds-owed' }),
        card('Refunds in progress', h('div',
          section(d.openRefunds, r => refundTable(r.refunds, state, 'No refund waiting to be sent to Stripe.'), 'requested refunds'),
          section(d.submittedRefunds, r => refundTable(r.refunds, state, 'No refund waiting for Stripe to settle it.'), 'submitted refunds')),
        { command: 'fairway payments refunds --status REQUESTED', wide: true })));
  },
};

/** A FAILED refund (owed) can be sent again now, with a fresh attempt budget: POST /api/admin/entries/{entry}/refund/retry. */
export function refundActions(r, state) {
  if (r.status !== 'FAILED') return null;
  return actionButton('Retry now…', {
    title: `Send refund ${r.id} again`,
    description: `Sends it to Stripe now with a fresh budget of attempts (a new send, its own idempotency key; the failed one stays on the record). Stripe failed it because: ${r.failure_reason || 'unknown'}.`,
    confirm: 'Send the refund again',
    command: reason => fairway('payments', 'refund-retry', r.entry_id, '--reason', reason),
    run: reason => post(`/api/admin/entries/${enc(r.entry_id)}/refund/retry`, { reason }),
    done: () => state.refresh(),
  }, { testid: `refund-retry-${r.entry_id}` });
}

export function refundTable(rows, state, emptyText, testid) {
  if (!rows.length) return empty(emptyText);
  return table([
    { title: 'Refund', cell: r => h('code', r.id) },
    { title: 'Entry', cell: r => h('code', { title: fairway('payments', 'show', r.entry_id) }, r.entry_id) },
    { title: 'Amount', cls: 'num', cell: r => money(r.amount, r.currency) },
    { title: 'Status', cell: r => badge(r.status) },
    { title: 'Paid from', cell: r => r.funded_from === 'house' ? 'house (goodwill)' : r.funded_from },
    { title: 'Attempts', cls: 'num', cell: r => `${r.attempts} / ${r.max_attempts}` },
    { title: 'Next attempt', cell: r => r.next_attempt_at ? utc(r.next_attempt_at) : '—' },
    { title: 'Why refunded', cell: r => `${r.requested_by}: ${r.reason}` },
    { title: 'Stripe', cell: r => r.stripe_refund_id ? h('div', h('code', r.stripe_refund_id), r.failure_reason ? h('div.bad', r.failure_reason) : null) : (r.failure_reason || '—') },
    { title: 'Updated', cell: r => utc(r.updated_at) },
    { title: '', cell: r => refundActions(r, state) },
  ], rows, emptyText, { testid: testid || null, key: r => r.entry_id });
}
