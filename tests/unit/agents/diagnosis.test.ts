import path from 'node:path';
import { analyzeLogs } from '../../../src/agents/log/log-agent.js';
import { analyzeMetrics } from '../../../src/agents/metrics/metrics-agent.js';
import { diagnose } from '../../../src/agents/fixer/diagnose.js';
import { buildFixScript } from '../../../src/agents/fixer/actions.js';
import { bashParse } from '../../../src/agents/tester/tester-agent.js';
import { readBundle } from '../../../src/evidence/bundle.js';
import type { Evidence } from '../../../src/evidence/schema.js';
import { BUNDLE_EXPECTATIONS, EXAMPLES_DIR } from '../../fixtures/paths.js';

async function evidenceOf(bundle: string): Promise<Evidence> {
  return (await readBundle(path.join(EXAMPLES_DIR, bundle))).evidence;
}

function diagnoseEvidence(evidence: Evidence) {
  return diagnose(evidence, analyzeLogs(evidence), analyzeMetrics(evidence));
}

const CULPRITS: Record<string, string | null> = {
  cpu_spike: 'stress-ng-cpu',
  memory_leak: 'python3',
  disk_fill: '/tmp',
  net_latency: 'eth0',
  service_kill: 'victim-api',
  db_conn_exhaust: 'report-batch',
  healthy: null,
};

describe('diagnosis from evidence', () => {
  it.each(Object.entries(BUNDLE_EXPECTATIONS))('when the %s bundle is analysed, then the category is %s with its culprit', async (bundle, category) => {
    const d = diagnoseEvidence(await evidenceOf(bundle));
    expect(d.root_cause.category).toBe(category);
    expect(d.root_cause.culprit?.name ?? null).toBe(CULPRITS[bundle]);
    expect(d.root_cause.confidence).toBeGreaterThanOrEqual(0.5);
    expect(d.root_cause.confidence).toBeLessThanOrEqual(1);
    if (category !== 'healthy') expect(d.root_cause.evidence.length).toBeGreaterThan(1);
  });

  it('when nothing but unrelated errors appear, then the answer is unknown with the strongest evidence listed', async () => {
    const evidence = await evidenceOf('healthy');
    const noisy: Evidence = {
      ...evidence,
      logs: {
        ...evidence.logs,
        incident: [
          ...evidence.logs.incident,
          { name: 'app', lines: Array.from({ length: 12 }, (_, i) => `2026-11-20T14:00:${30 + i}Z ERROR payment gateway rejected token ${i}: invalid signature`) },
        ],
      },
    };
    const d = diagnoseEvidence(noisy);
    expect(d.root_cause.category).toBe('unknown');
    expect(d.strongest_evidence.some((e) => e.kind === 'template')).toBe(true);
  });

  it('when a busy host stays busy, then it is still healthy (busy is not a fault)', async () => {
    const evidence = await evidenceOf('healthy');
    const busy: Evidence = {
      ...evidence,
      samples: evidence.samples.map((s, i) => ({ ...s, cpu: { ...s.cpu, busy_pct: 85 + (i % 5) } })),
    };
    expect(diagnoseEvidence(busy).root_cause.category).toBe('healthy');
  });

  it('when host text in a culprit holds shell syntax, then fix.sh still parses and quotes it', async () => {
    const evidence = await evidenceOf('service_kill');
    const hostile: Evidence = {
      ...evidence,
      // The service manager's word names the culprit when discovery cannot tie the port to anyone.
      inventory: null,
      reference: null,
      snapshot: {
        ...evidence.snapshot!,
        services: [{ name: "x'; touch /tmp/pwned; echo '\n$(reboot)", active: false, manager: 'systemd' }],
      },
    };
    const d = diagnoseEvidence(hostile);
    const script = buildFixScript('inc-20261122-100000-aaaaaaaaaa', d);
    const parsed = await bashParse(script, new AbortController().signal);
    expect(parsed).toEqual({ ok: true, error: null });
    // One word on one line: the newline is written as an escape, not as a line that looks like a command.
    expect(script).toContain(`systemctl start $'x\\'; touch /tmp/pwned; echo \\'\\x0a$(reboot)'\n`);
    expect(script.split('\n').filter((l) => l.startsWith('#')).every((l) => !l.includes('$(reboot)') || l.startsWith('#'))).toBe(true);
  });
});
