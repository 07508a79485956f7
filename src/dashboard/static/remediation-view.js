import { apiJson, incidentPath, postJson, problemText } from './api.js';
import { formatDuration, formatTime, h, replace } from './dom.js';

/** Statuses after which nothing changes any more: the panel stops polling. */
const FINAL = new Set(['resolved', 'failed', 'rolled_back', 'rejected', 'expired']);
const POLL_MS = 1500;

const STATUS_TEXT = {
  proposed: 'waiting for approval',
  approved: 'approved',
  applying: 'applying',
  verifying: 'verifying',
  resolved: 'resolved',
  failed: 'failed',
  rolled_back: 'rolled back',
  rejected: 'rejected',
  expired: 'expired',
};

/** The step as the host will run it: its rendered command when the plan has one, else the action and its arguments. */
function commandOf(step) {
  if (typeof step.command === 'string' && step.command) return step.command;
  return [step.action, ...(step.args ?? [])].join(' ');
}

/** Steps a person can approve: waiting, and not denied by the policy. */
function approvable(step) {
  return step.state === 'pending' && !step.approved && step.policy?.verdict !== 'denied';
}

/**
 * The remediation of one incident (SPEC §10): each step with its risk, command and rollback,
 * Approve / Reject for a plan waiting on a person (an approver name is required; a high-risk
 * step is approved only by ticking its own box), and each step's live state and output.
 * It follows GET /incidents/:id/remediation while the plan is not final.
 */
export class RemediationPanel {
  constructor(incidentId) {
    this.id = incidentId;
    this.data = null;
    this.signature = null;
    this.approver = '';
    this.reason = '';
    this.checkedHigh = new Set();
    this.message = null;
    this.busy = false;
    this.timer = null;
    this.requested = false;
    this.finishedIncident = false;
    this.body = h('div', { class: 'card-body' });
    this.badge = h('span', { class: 'badge remediation-status' });
    this.el = h('section', { class: 'card remediation', id: 'remediation-panel', hidden: true }, h('div', { class: 'card-head' }, h('h2', {}, 'Remediation'), this.badge), this.body);
  }

  /** From each GET /status: starts following once the incident asked for (or entered) a remediation. */
  update(status) {
    const asked = (typeof status.options?.remediation === 'string' && status.options.remediation !== 'none') || status.phase === 'remediation' || Boolean(status.phase_ms && 'remediation' in status.phase_ms) || Boolean(status.remediation);
    if (!asked) return;
    this.requested = true;
    if (!this.timer && !FINAL.has(this.data?.remediation?.status)) {
      void this.refresh();
      this.timer = setInterval(() => void this.refresh(), POLL_MS);
    }
  }

  destroy() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async refresh() {
    try {
      this.data = await apiJson(`/incidents/${incidentPath(this.id)}/remediation`);
    } catch (error) {
      this.message = { kind: 'error', text: `Remediation status failed: ${problemText(error)}` };
    }
    // Nothing more will change: the plan is final, or the incident ended without one.
    const rem = this.data?.remediation ?? null;
    if (FINAL.has(rem?.status) || (this.finishedIncident && !rem)) this.destroy();
    this.render();
  }

  /** The incident ended: one last look, then no more polling. */
  finish() {
    this.finishedIncident = true;
    if (this.requested) void this.refresh();
  }

  render() {
    const rem = this.data?.remediation ?? null;
    const signature = JSON.stringify([rem, this.data?.awaiting_decision, this.message, this.busy]);
    if (signature === this.signature) return;
    this.signature = signature;
    this.el.hidden = !rem && !this.message;
    if (!rem) {
      replace(this.body, this.message ? h('p', { class: `banner ${this.message.kind}` }, this.message.text) : null);
      return;
    }
    this.badge.textContent = STATUS_TEXT[rem.status] ?? rem.status;
    this.badge.className = `badge remediation-status rem-${rem.status}`;
    const deciding = rem.status === 'proposed' && Boolean(this.data?.awaiting_decision);
    replace(
      this.body,
      h(
        'p',
        { class: 'muted small remediation-meta' },
        `Proposed ${formatTime(rem.proposed_at)}`,
        rem.status === 'proposed' ? ` · expires ${formatTime(rem.expires_at)}` : '',
        rem.approver ? ` · approved by ${rem.approver} at ${formatTime(rem.approved_at)}` : '',
        rem.rejected_by ? ` · rejected by ${rem.rejected_by}` : '',
        ` · verification within ${formatDuration(rem.verify_s * 1000)}`,
      ),
      rem.reason ? h('p', { class: `banner ${rem.status === 'resolved' ? 'ok' : 'warn'}` }, rem.reason) : null,
      h('ol', { class: 'remediation-steps' }, rem.steps.map((step) => this.stepItem(step, deciding))),
      rem.verification ? this.verificationBlock(rem.verification) : null,
      deciding ? this.decisionForm(rem) : null,
      this.message ? h('p', { class: `banner ${this.message.kind}`, id: 'remediation-message', role: 'status' }, this.message.text) : null,
    );
  }

  stepItem(step, deciding) {
    const high = step.risk === 'high';
    const denied = step.policy?.verdict === 'denied';
    const box =
      deciding && high && approvable(step)
        ? h(
            'label',
            { class: 'approve-high' },
            h('input', {
              type: 'checkbox',
              class: 'approve-high-step',
              dataset: { step: step.id },
              checked: this.checkedHigh.has(step.id),
              onchange: (event) => {
                if (event.target.checked) this.checkedHigh.add(step.id);
                else this.checkedHigh.delete(step.id);
              },
            }),
            ' approve this high-risk step',
          )
        : null;
    return h(
      'li',
      { class: `remediation-step step-${step.state} risk-${step.risk}`, dataset: { step: step.id } },
      h(
        'div',
        { class: 'step-head' },
        h('code', { class: 'step-id' }, step.id),
        h('span', { class: 'step-desc' }, step.description),
        h('span', { class: `badge risk risk-${step.risk}` }, `${step.risk} risk`),
        h('span', { class: `badge step-state state-${step.state}` }, step.state.replaceAll('_', ' ')),
      ),
      h('dl', { class: 'step-detail' }, h('dt', {}, 'Command'), h('dd', {}, h('code', { class: 'step-command' }, commandOf(step))), h('dt', {}, 'Rollback'), h('dd', { class: 'step-rollback' }, step.rollback)),
      step.policy ? h('p', { class: `small policy policy-${step.policy.verdict}` }, `Policy: ${step.policy.verdict.replace('_', ' ')} (${step.policy.reason})`) : null,
      denied ? h('p', { class: 'small warn' }, 'Denied by the policy: it never runs, whoever approves.') : null,
      step.reason ? h('p', { class: 'small step-reason' }, step.reason) : null,
      step.exit_code !== null && step.exit_code !== undefined ? h('p', { class: 'small muted' }, `exit ${step.exit_code}${step.finished_at ? ` · ${formatTime(step.finished_at)}` : ''}`) : null,
      step.output_tail ? h('details', { class: 'step-output' }, h('summary', {}, 'Output'), h('pre', {}, step.output_tail)) : null,
      box,
    );
  }

  verificationBlock(v) {
    return h(
      'div',
      { class: `remediation-verification ${v.ok ? 'ok' : 'failed'}` },
      h('h3', {}, v.ok ? 'Verified: back inside the known-good band' : 'Verification failed'),
      h('ul', {}, v.checks.map((c) => h('li', { class: c.ok ? 'check-ok' : 'check-failed' }, `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`))),
    );
  }

  decisionForm(rem) {
    const approver = h('input', {
      type: 'text',
      id: 'remediation-approver',
      name: 'approver',
      autocomplete: 'name',
      placeholder: 'your name',
      maxlength: '128',
      value: this.approver,
      oninput: (event) => {
        this.approver = event.target.value;
      },
    });
    const reason = h('input', {
      type: 'text',
      id: 'remediation-reason',
      name: 'reason',
      placeholder: 'reason (for a rejection, optional)',
      maxlength: '1000',
      value: this.reason,
      oninput: (event) => {
        this.reason = event.target.value;
      },
    });
    const highPending = rem.steps.filter((s) => s.risk === 'high' && approvable(s)).length;
    return h(
      'div',
      { class: 'remediation-decision' },
      h('label', { class: 'field' }, h('span', {}, 'Approver'), approver),
      h('label', { class: 'field' }, h('span', {}, 'Reason'), reason),
      highPending ? h('p', { class: 'small muted' }, `${highPending} high-risk step(s) run only if ticked above.`) : null,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'btn primary', id: 'remediation-approve', disabled: this.busy, onclick: () => void this.approve() }, 'Approve'),
        h('button', { type: 'button', class: 'btn danger', id: 'remediation-reject', disabled: this.busy, onclick: () => void this.reject() }, 'Reject'),
      ),
    );
  }

  async approve() {
    const rem = this.data?.remediation;
    if (!rem) return;
    const approver = this.approver.trim();
    if (!approver) return this.say('error', 'Enter your name as the approver first.');
    const steps = rem.steps.filter((s) => approvable(s) && (s.risk !== 'high' || this.checkedHigh.has(s.id))).map((s) => s.id);
    if (!steps.length) return this.say('error', 'Nothing to approve: tick the high-risk steps you approve, or reject the plan.');
    await this.decide('approve', { approver, steps }, `Approved ${steps.join(', ')} as ${approver}`);
  }

  async reject() {
    const approver = this.approver.trim();
    if (!approver) return this.say('error', 'Enter your name first: a rejection is recorded with who made it.');
    const reason = this.reason.trim();
    await this.decide('reject', { approver, ...(reason ? { reason } : {}) }, `Rejected as ${approver}`);
  }

  async decide(kind, body, done) {
    this.busy = true;
    this.render();
    try {
      const result = await postJson(`/incidents/${incidentPath(this.id)}/remediation/${kind}`, body);
      this.data = { ...this.data, remediation: result.remediation ?? this.data?.remediation, awaiting_decision: false };
      this.message = { kind: 'ok', text: done };
    } catch (error) {
      this.message = { kind: 'error', text: `${kind === 'approve' ? 'Approval' : 'Rejection'} failed: ${problemText(error)}` };
    } finally {
      this.busy = false;
    }
    this.render();
    await this.refresh();
  }

  say(kind, text) {
    this.message = { kind, text };
    this.render();
  }
}
