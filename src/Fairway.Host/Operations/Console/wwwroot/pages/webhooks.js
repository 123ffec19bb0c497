import { h, card, table, section, kv, utc, duration, badge, fairway, empty, failure } from '../ui.js';
import { get, post, all, enc } from '../api.js';
import { actionButton } from '../actions.js';

/** An event stored but not processed for this long is shown as failing (the drain job retries every minute). */
const FAILING_AFTER_SECONDS = 300;

export default {
  title: () => 'Stripe webhooks',

  load: () => all({
    recent: get('/api/admin/stripe/webhooks/recent?limit=100'),
    unprocessed: get('/api/admin/stripe/webhooks?unprocessed=true&limit=200'),
    deadLetters: get('/api/admin/stripe/webhooks/dead-letters'),
  }),

  render(d, _params, state) {
    const now = Date.now();
    const age = e => (now - new Date(e.received_at).getTime()) / 1000;
    return h('div.page',
      h('h1', 'Stripe webhooks'),
      h('div.grid',
        card('Backlog', section(d.recent, r => kv([
          ['unprocessed', h('strong', { class: r.unprocessed_count > 0 ? 'bad' : null, 'data-testid': 'unprocessed-count' }, String(r.unprocessed_count))],
          ['oldest unprocessed', r.oldest_unprocessed_received_at ? `${utc(r.oldest_unprocessed_received_at)}` : '—'],
        ]), 'backlog'), { command: 'fairway payments webhooks --unprocessed' }),
        card('Dead-lettered events', deadLetters(d.deadLetters, state), { command: 'fairway webhooks dead-letters', testid: 'card-dead-letters' }),
        card('Failing: stored but not processed', section(d.unprocessed, u => {
          const failing = u.data.filter(e => age(e) > FAILING_AFTER_SECONDS);
          return h('div',
            h('p.muted', `Events are processed as they arrive; the drain job retries anything left every minute (also after the kill-switch is turned off). Shown here once waiting more than ${duration(FAILING_AFTER_SECONDS)} by the browser's clock.`),
            table(eventColumns(), failing, 'None: every stored event was processed.', { testid: 'failing-webhooks' }));
        }, 'unprocessed'), { command: 'fairway payments webhooks --unprocessed', wide: true }),
        card('Recent events (newest first)', section(d.recent, r => table(eventColumns(), r.events, 'No webhook has been received yet.', { testid: 'recent-webhooks', key: e => e.event_id }), 'recent'),
          { command: 'fairway payments webhooks --recent', wide: true })));
  },
};

function eventColumns() {
  return [
    { title: 'Received', cell: e => utc(e.received_at) },
    { title: 'Event', cell: e => h('code', e.event_id) },
    { title: 'Type', cell: e => e.type },
    { title: 'Outcome', cell: e => e.outcome ? badge(e.outcome) : badge('waiting') },
    { title: 'Detail', cell: e => e.detail || (e.processed_at ? '' : 'not processed yet') },
    { title: 'Processed', cell: e => utc(e.processed_at) },
  ];
}

function deadLetters(r, state) {
  // The dead-letter queue (events parked after STRIPE_WEBHOOK_MAX_ATTEMPTS failed processing attempts) exists
  // only on deployments that have it; older ones answer 404 and the card says so.
  if (!r.ok && r.status === 404 && r.problem.code === 'NOT_FOUND') return empty('This deployment has no dead-letter queue for webhooks.');
  if (!r.ok) return failure(r.problem, 'Dead letters');
  const rows = Array.isArray(r.data) ? r.data : (r.data.dead_letters || r.data.events || r.data.data || []);
  return table([
    { title: 'Event', cell: e => h('code', e.event_id) },
    { title: 'Type', cell: e => e.type || '—' },
    { title: 'Attempts', cls: 'num', cell: e => String(e.attempt_count ?? e.attempts ?? '—') },
    { title: 'Last error', cell: e => e.last_error || e.error || '—' },
    { title: 'Parked', cell: e => utc(e.dead_lettered_at || e.parked_at) },
    { title: '', cell: e => actionButton('Replay…', {
      title: `Replay webhook ${e.event_id}`, description: 'Processes the stored event again (idempotent by event id).',
      confirm: 'Replay', command: reason => fairway('webhooks', 'replay', e.event_id, '--reason', reason),
      run: reason => post(`/api/admin/stripe/webhooks/${enc(e.event_id)}/replay`, { reason }), done: () => state.refresh(),
    }) },
  ], rows, 'No dead-lettered events.', { testid: 'dead-letters' });
}
