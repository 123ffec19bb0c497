import { h, card, table, section, kv, money, utc, badge, fairway, failure, link } from '../ui.js';
import { get, all, enc } from '../api.js';
import { transferActions } from './payouts.js';

export default {
  title: params => `Payout transfer #${params.id}`,

  load: ({ id }) => all({
    transfer: get(`/api/admin/payouts/transfers/${enc(id)}`),
    audit: get(`/api/admin/audit?entity_type=payout_transfer&entity_id=${enc(id)}&limit=100`),
  }),

  render(d, { id }, state) {
    if (!d.transfer.ok) return h('div.page', h('h1', `Payout transfer #${id}`), failure(d.transfer.problem, 'Transfer'));
    const t = d.transfer.data.transfer;
    return h('div.page',
      h('header.page-head',
        h('div', h('h1', `Payout transfer #${t.id}`), h('p.muted', 'contest ', link(`#/contests/${enc(t.contest_id)}`, t.contest_id), ` · player ${t.user_id}`)),
        h('div.state-big', { 'data-testid': 'transfer-status' }, badge(t.status)),
        h('div.actions', transferActions(t, state))),
      h('div.grid',
        card('Transfer', kv([
          ['amount', money(t.amount, t.currency)],
          ['status', badge(t.status)],
          ['attempts', `${t.attempt_count} of ${t.max_attempts}`],
          ['next attempt', utc(t.next_attempt_at)],
          ['destination', t.destination || '—'],
          ['Stripe transfer', t.stripe_transfer_id || '—'],
          ['failure', t.failure_reason || '—'],
          ['last error', t.last_error_class ? `${t.last_error_class}: ${t.last_error || ''}` : '—'],
          ['created', utc(t.created_at)],
          ['completed', utc(t.completed_at)],
        ]), { command: fairway('payouts', 'transfer', String(t.id)) }),
        card('Attempts', table([
          { title: '#', cls: 'num', cell: a => String(a.attempt) },
          { title: 'Finished', cell: a => utc(a.finished_at) },
          { title: 'Outcome', cell: a => badge(a.outcome) },
          { title: 'Error', cell: a => a.error_class ? `${a.error_class}${a.http_status ? ` (HTTP ${a.http_status})` : ''}: ${a.error || ''}` : '—' },
          { title: 'Stripe', cell: a => a.stripe_transfer_id ? h('code', a.stripe_transfer_id) : '—' },
          { title: 'Idempotency key', cell: a => h('code', a.idempotency_key) },
          { title: 'Worker', cell: a => a.worker },
        ], d.transfer.data.attempts, 'No attempt yet.', { testid: 'attempts' }), { command: fairway('payouts', 'transfer', String(t.id)), wide: true }),
        card('Audit trail (newest first)', section(d.audit, a => table([
          { title: 'When', cell: e => utc(e.occurred_at) },
          { title: 'Action', cell: e => h('strong', e.action) },
          { title: 'Actor', cell: e => e.actor },
          { title: 'Reason', cell: e => e.reason },
        ], a.events, 'No audit rows.', { testid: 'transfer-audit', key: e => e.action }), 'audit'),
        { command: fairway('audit', '--entity-type', 'payout_transfer', '--entity-id', String(t.id)), wide: true })));
  },
};
