/**
 * The offline replays of `investigate` on the foreign test host (examples/foreign_*), recorded with
 * the fault already in place: the same diagnosis from the recording, with no SSH at all.
 */
import path from 'node:path';
import { analyzeLogs } from '../../../src/agents/log/log-agent.js';
import { analyzeMetrics } from '../../../src/agents/metrics/metrics-agent.js';
import { diagnose } from '../../../src/agents/fixer/diagnose.js';
import { readBundle } from '../../../src/evidence/bundle.js';
import { EXAMPLES_DIR, FOREIGN_BUNDLE_EXPECTATIONS } from '../../fixtures/paths.js';

describe('replaying the foreign host recordings', () => {
  it.each(Object.entries(FOREIGN_BUNDLE_EXPECTATIONS))('when %s is replayed, then it is %s with its culprit, judged against the recorded reference', async (bundle, [category, culprit]) => {
    const { evidence, manifest } = await readBundle(path.join(EXAMPLES_DIR, bundle));
    expect(manifest.fault_started_at).toBeNull();
    expect(evidence.reference).not.toBeNull();
    expect(evidence.inventory?.hostname).toBe('shop-db-01');
    const d = diagnose(evidence, analyzeLogs(evidence), analyzeMetrics(evidence));
    expect(d.root_cause.category).toBe(category);
    expect(d.root_cause.culprit?.name ?? null).toBe(culprit);
    for (const h of d.hypotheses.filter((h) => h.category !== category)) expect(h.confidence).toBeLessThan(0.7);
  });
});
