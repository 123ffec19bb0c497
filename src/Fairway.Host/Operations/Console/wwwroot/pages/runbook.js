import { h, card, failure, badge } from '../ui.js';
import { get, all, enc } from '../api.js';
import { renderMarkdown } from '../markdown.js';
import { executionsCard, executions } from './runbooks.js';

export default {
  title: params => `Runbook ${params.id}`,

  load: ({ id }) => all({
    runbook: get(`/api/admin/runbooks/${enc(id)}/markdown`),
    alerts: get('/api/admin/alerts'),
    executions: executions(id),
  }),

  render(d, { id }) {
    if (!d.runbook.ok) return h('div.page', h('h1', `Runbook ${id}`), failure(d.runbook.problem, 'Runbook'));
    const r = d.runbook.data;
    const firing = new Set(d.alerts.ok ? d.alerts.data.firing.map(a => a.alert) : []);
    return h('div.page',
      h('p.muted', h('a', { href: '#/runbooks' }, '← all runbooks'), ` · docs/runbooks/${r.id}.md`),
      r.alerts.length ? h('p', 'Named by: ', r.alerts.map(a => h('span', firing.has(a) ? badge(`${a} (firing now)`, 'firing') : h('code', a), ' '))) : null,
      h('article.runbook', { 'data-testid': 'runbook' }, renderMarkdown(r.markdown)),
      executionsCard(d.executions));
  },
};
