import { h, failure } from './ui.js';

// Every state change the console offers goes through this dialog: a reason is required (3..500 characters,
// recorded in the audit trail with the operator's identity), the exact `fairway` command that does the same is
// shown as it is typed, and the change is one call to the admin API — the same call that command makes.

const MIN_REASON = 3;
const MAX_REASON = 500;

/**
 * spec: { title, description, confirm, danger, command: reason => string, run: reason => Promise<{ok, data, problem}>, done: data => void }
 */
export function openAction(spec) {
  const dialog = document.getElementById('action-dialog');
  const reason = h('textarea#action-reason', { rows: 3, maxlength: MAX_REASON, placeholder: 'Who asked, why, ticket or incident (recorded in the audit trail)', 'data-testid': 'action-reason' });
  const command = h('code#action-command', { 'data-testid': 'action-command' });
  const status = h('div.action-status', { 'data-testid': 'action-status' });
  const confirm = h(`button.btn${spec.danger ? '.danger' : '.primary'}`, { type: 'submit', 'data-testid': 'action-confirm', disabled: true }, spec.confirm || 'Confirm');
  const cancel = h('button.btn', { type: 'button', 'data-testid': 'action-cancel' }, 'Cancel');

  const update = () => {
    const r = reason.value.trim();
    command.textContent = spec.command(r || '…');
    confirm.disabled = r.length < MIN_REASON || r.length > MAX_REASON;
  };
  reason.addEventListener('input', update);
  cancel.addEventListener('click', () => dialog.close());

  const form = h('form', { method: 'dialog' },
    h('h2', spec.title),
    spec.description ? h('p', spec.description) : null,
    h('label', { for: 'action-reason' }, 'Reason (required)'),
    reason,
    h('p.muted', 'Does the same as:'),
    h('pre.command', command),
    status,
    h('div.dialog-buttons', cancel, confirm));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const r = reason.value.trim();
    if (r.length < MIN_REASON) return;
    confirm.disabled = true;
    status.replaceChildren(h('span.spinner'), 'Sending to the admin API…');
    const result = await spec.run(r);
    if (result.ok) {
      dialog.close();
      spec.done?.(result.data);
    } else {
      status.replaceChildren(failure(result.problem, 'Refused'));
      confirm.disabled = false;
    }
  });

  dialog.replaceChildren(form);
  update();
  dialog.showModal();
  reason.focus();
}

/** A button that opens an action dialog. */
export function actionButton(label, spec, opts = {}) {
  return h(`button.btn.small${opts.danger ? '.danger' : ''}`, { type: 'button', 'data-testid': opts.testid || null, onclick: () => openAction(spec) }, label);
}
