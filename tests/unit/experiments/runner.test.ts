import { incidentRequest } from '../../../src/experiments/runner.js';
import { Experiment } from '../../../src/experiments/schema.js';

const experiment = (patch: Record<string, unknown> = {}) =>
  Experiment.parse({
    title: 't',
    targets: ['sandbox'],
    steady_state: [{ name: 'api', type: 'http', url: 'http://10.213.7.2:8080/health', expect_status: 200 }],
    method: [{ type: 'inject', scenario: 'cpu_spike', args: { load: 3 } }, { type: 'wait', seconds: 7 }, { type: 'probe', name: 'api' }, { type: 'wait', seconds: 2 }],
    ...patch,
  });

describe('the incident an inject step opens', () => {
  it('when an inject step is followed by waits, then the incident watches the fault for all of them, on the step\'s target, with its args', () => {
    const request = incidentRequest(experiment(), 0);
    expect(request).toMatchObject({ scenario: 'cpu_spike', target_vm: { name: 'sandbox' }, options: { load: 3, observe_s: 9, baseline_s: 5, recovery_s: 20, remediation: 'none' } });
  });

  it.each([
    ['none', 'none'],
    ['approve', 'approve'],
    ['policy', 'auto'],
  ])('when the experiment asks for remediation %s, then the incident runs its closed loop as %s', (mode, expected) => {
    expect(incidentRequest(experiment({ remediation: mode }), 0).options).toMatchObject({ remediation: expected });
  });

  it('when a later step injects another fault, then the first stays in place while it goes in (the faults overlap)', () => {
    const e = experiment({ method: [{ type: 'inject', scenario: 'cpu_spike' }, { type: 'wait', seconds: 3 }, { type: 'inject', scenario: 'disk_fill' }, { type: 'wait', seconds: 4 }] });
    expect(incidentRequest(e, 0).options.observe_s).toBe(3 + 5 + 5 + 4);
    expect(incidentRequest(e, 2)).toMatchObject({ scenario: 'disk_fill', options: { observe_s: 4 } });
  });

  it('when the step is not an inject step, then it is a programming error, said plainly', () => {
    expect(() => incidentRequest(experiment(), 1)).toThrow('method[1] is not an inject step');
  });
});
