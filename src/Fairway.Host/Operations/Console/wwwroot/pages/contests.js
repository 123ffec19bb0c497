import { h, card, table, section, money, utc, badge, short, link } from '../ui.js';
import { get, all, enc } from '../api.js';

const STATES = ['SCHEDULED', 'LOCKED', 'LIVE', 'COMPLETE', 'CANCELLED', 'ERROR'];

export default {
  title: params => params.state ? `Contests · ${params.state}` : 'Contests',

  load: params => all({
    board: get(`/api/admin/board/contests?limit=200${params.state ? `&state=${enc(params.state)}` : ''}`),
  }),

  render(d, params) {
    const filters = h('nav.filters', { 'aria-label': 'Filter by state' },
      h('a', { href: '#/contests', class: params.state ? null : 'active' }, 'All'),
      STATES.map(s => h('a', { href: `#/contests?state=${s}`, class: params.state === s ? 'active' : null }, s)));
    return h('div.page',
      h('h1', 'Contests'),
      filters,
      card(`Contests${params.state ? ' in ' + params.state : ''} (latest change first, at most 200)`, section(d.board, b => table([
        { title: 'Contest', cell: c => h('div', link(`#/contests/${enc(c.id)}`, c.name), h('div.muted', c.id)) },
        { title: 'Tournament', cell: c => c.tournament_id },
        { title: 'State', cell: c => h('span', { 'data-testid': `state-${c.id}` }, badge(c.state)) },
        { title: 'Since', cell: c => utc(c.state_changed_at) },
        { title: 'Entries', cls: 'num', cell: c => `${c.active_entries}${c.pending_entries ? ` (+${c.pending_entries} unpaid)` : ''}` },
        { title: 'Escrow', cls: 'num', cell: c => money(c.escrow_balance, c.currency) },
        { title: 'Settlement', cell: c => c.settlement_output_hash ? h('code', short(c.settlement_output_hash)) : '—' },
        { title: 'Payouts', cell: c => c.payout_job_status ? h('span', badge(c.payout_job_status), ` ${c.transfers_completed} paid · ${c.transfers_failed} failed · ${c.transfers_open} open`) : '—' },
      ], b.contests, params.state ? `No contests in ${params.state}.` : 'No contests yet: create one with POST /api/admin/contests.', { testid: 'contests', key: c => c.id })),
      { command: `fairway contests board${params.state ? ' --state ' + params.state : ''}`, wide: true }));
  },
};
