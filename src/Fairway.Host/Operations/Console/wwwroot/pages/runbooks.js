import { h, card, table, section, badge, empty, link, utc } from '../ui.js';
import { get, all, enc } from '../api.js';

/** Runbook executions recorded through the admin API (`fairway runbook start|step|finish`); newest first. */
export function executions(runbookId) {
  return get(`/api/admin/runbooks/executions?limit=100${runbookId ? `&runbook=${enc(runbookId)}` : ''}`);
}

/** In progress and finished executions; a deployment without the executions API answers 404 and the card says so. */
export function executionsCard(r) {
  if (!r.ok && r.status === 404 && r.problem.code === 'NOT_FOUND')
    return card('Runbook executions', empty('This deployment does not record runbook executions yet.'), { wide: true, testid: 'card-executions' });
  return card('Runbook executions', section(r, x => {
    const rows = x.executions || [];
    const columns = [
      { title: 'Execution', cell: e => `#${e.id}` },
      { title: 'Runbook', cell: e => link(`#/runbooks/${enc(e.runbook)}`, e.runbook) },
      { title: 'Started', cell: e => `${utc(e.started_at)} by ${e.started_by}` },
      { title: 'Why', cell: e => `${e.reason}${e.incident ? ` (${e.incident})` : ''}` },
      { title: 'Steps', cls: 'num', cell: e => String(e.steps_recorded) },
      { title: 'Outcome', cell: e => e.outcome ? h('span', badge(e.outcome), ` ${utc(e.finished_at)}`) : badge(e.state) },
    ];
    return h('div',
      h('h3', 'In progress'), table(columns, rows.filter(e => e.state !== 'finished'), 'No runbook is being executed.', { testid: 'executions-in-progress' }),
      h('h3', 'Finished'), table(columns, rows.filter(e => e.state === 'finished'), 'No runbook execution has finished yet.', { testid: 'executions-finished' }));
  }, 'executions'), { command: 'fairway runbook list', wide: true, testid: 'card-executions' });
}

export default {
  title: () => 'Runbooks',

  load: () => all({
    runbooks: get('/api/admin/runbooks'),
    alerts: get('/api/admin/alerts'),
    executions: executions(),
  }),

  render(d) {
    const firing = new Set(d.alerts.ok ? d.alerts.data.firing.map(a => a.alert) : []);
    return h('div.page',
      h('h1', 'Runbooks'),
      h('div.grid',
        card('Index', section(d.runbooks, r => table([
          { title: 'Runbook', cell: x => h('div', link(`#/runbooks/${enc(x.id)}`, x.title), h('div.muted', x.id)) },
          { title: 'Alerts that name it', cell: x => x.alerts.length ? x.alerts.map(a => h('span', firing.has(a) ? badge(a, 'firing') : h('code', a), ' ')) : '—' },
        ], r.runbooks, 'This build has no runbooks (docs/runbooks is empty).', { testid: 'runbooks', key: x => x.id }), 'runbooks'),
        { command: 'ls docs/runbooks', wide: true }),
        executionsCard(d.executions)));
  },
};
