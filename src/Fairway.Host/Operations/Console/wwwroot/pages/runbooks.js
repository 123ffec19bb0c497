import { h, card, table, section, badge, empty, link } from '../ui.js';
import { get, all, enc } from '../api.js';

/** The executions API is not part of this build yet: nothing to load. */
export async function executions() { return null; }

/**
 * Runbook executions are recorded through the admin API by the operations issue (`fairway runbook …`); on a
 * deployment without that API the card says so.
 */
export function executionsCard(r, runbookName) {
  if (r === null) return card('Runbook executions', empty('This deployment does not record runbook executions yet.'), { wide: true, testid: 'card-executions' });
  return card('Runbook executions', section(r, x => {
    const rows = (Array.isArray(x) ? x : (x.executions || x.data || [])).filter(e => !runbookName || e.runbook === runbookName);
    return table([
      { title: 'Execution', cell: e => String(e.id ?? e.execution_id ?? '') },
      { title: 'Runbook', cell: e => link(`#/runbooks/${enc(e.runbook)}`, e.runbook) },
      { title: 'State', cell: e => badge(e.outcome || e.state || e.status || 'started') },
      { title: 'Operator', cell: e => e.operator || e.actor || '—' },
      { title: 'Reason', cell: e => e.reason || e.notes || '' },
    ], rows, 'No runbook has been executed yet.', { testid: 'runbook-executions' });
  }, 'executions'), { command: 'fairway runbook list', wide: true });
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
