import { h, card, table, section, kv, utc, duration, badge, fairway } from '../ui.js';
import { get, post, all, enc } from '../api.js';
import { actionButton } from '../actions.js';

/** An event stored but not processed for this long is shown as failing (the drain job retries every minute). */
const FAILING_AFTER_SECONDS = 300;
const DEAD_LETTER_PAGE = 200;

export default {
  title: () => 'Stripe webhooks',

  load: () => all({
    recent: get('/api/admin/stripe/webhooks/recent?limit=100'),
    unprocessed: get('/api/admin/stripe/webhooks?unprocessed=true&limit=200'),
    deadLetters: get(`/api/admin/stripe/webhooks/dead-letters?limit=${DEAD_LETTER_PAGE}`),
    replays: get('/api/admin/audit?entity_type=stripe_webhook_event&action=webhook.replayed&limit=20'),
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
        card('Dead-lettered events', section(d.deadLetters, p => deadLetters(p, state), 'dead letters'), { command: 'fairway webhooks dead-letters', testid: 'card-dead-letters', wide: true }),
        card('Replayed by admins (audit, newest first)', section(d.replays, a => table([
          { title: 'When', cell: e => utc(e.occurred_at) },
          { title: 'Event', cell: e => h('code', e.entity_id) },
          { title: 'Actor', cell: e => e.actor },
          { title: 'Reason', cell: e => e.reason },
        ], a.events, 'No dead letter has been replayed.', { testid: 'webhook-replays', key: e => e.entity_id }), 'replays'),
        { command: fairway('audit', '--entity-type', 'stripe_webhook_event', '--action', 'webhook.replayed'), wide: true }),
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
    { title: 'Outcome', cell: e => e.outcome ? badge(e.outcome) : e.parked ? badge('dead letter', 'failed') : badge('waiting') },
    { title: 'Failed attempts', cls: 'num', cell: e => String(e.failed_attempts ?? '—') },
    { title: 'Detail', cell: e => e.detail || (e.processed_at ? '' : e.parked ? 'parked: replay it once its cause is fixed' : 'not processed yet') },
    { title: 'Processed', cell: e => utc(e.processed_at) },
  ];
}

/** Events parked after STRIPE_WEBHOOK_MAX_ATTEMPTS failed processing attempts; each replay is one audited admin call. */
function deadLetters(page, state) {
  return h('div',
    h('p.muted', 'Parked after too many failed processing attempts: nothing retries them. Fix the cause (the last error says what failed), then replay: the stored event is processed again, its failure count starts over.'),
    table([
      { title: 'Event', cell: e => h('code', e.event_id) },
      { title: 'Type', cell: e => e.type },
      { title: 'Failed attempts', cls: 'num', cell: e => String(e.failures) },
      { title: 'Last error', cell: e => e.last_error || '—' },
      { title: 'Received', cell: e => utc(e.received_at) },
      { title: 'Parked', cell: e => utc(e.parked_at) },
      { title: '', cell: e => actionButton('Replay…', {
        title: `Replay webhook ${e.event_id}`,
        description: `Takes ${e.type} out of the dead letters and processes it again (idempotent by event id). Refused if it was processed meanwhile.`,
        confirm: 'Replay', command: reason => fairway('webhooks', 'replay', e.event_id, '--reason', reason),
        run: reason => post(`/api/admin/stripe/webhooks/${enc(e.event_id)}/replay`, { reason }), done: () => state.refresh(),
      }, { testid: `replay-${e.event_id}` }) },
    ], page.data, 'No dead-lettered events.', { testid: 'dead-letters', key: e => e.event_id }),
    page.has_more ? h('p.muted', `More than ${DEAD_LETTER_PAGE}: the first ${DEAD_LETTER_PAGE} by event id are shown (fairway webhooks dead-letters pages through all).`) : null);
}
