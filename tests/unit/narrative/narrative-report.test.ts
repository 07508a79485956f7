import path from 'node:path';
import { Writable } from 'node:stream';
import { diagnose } from '../../../src/agents/fixer/diagnose.js';
import { readBundle } from '../../../src/evidence/bundle.js';
import { createLogger } from '../../../src/logger.js';
import { buildReportMarkdown } from '../../../src/report/markdown.js';
import { markdownToSafeHtml } from '../../../src/report/render/index.js';
import { EXAMPLES_DIR } from '../../fixtures/paths.js';

async function report(narrative: Parameters<typeof buildReportMarkdown>[0]['narrative']) {
  const { evidence } = await readBundle(path.join(EXAMPLES_DIR, 'cpu_spike'));
  const diagnosis = diagnose(evidence, undefined, undefined);
  const unknown = { ...diagnosis, root_cause: { ...diagnosis.root_cause, category: 'unknown' as const } };
  return buildReportMarkdown({
    incident: { id: 'inc-20261201-000000-aaaaaaaaaa', created_at: '2026-12-01T00:00:00Z', chaos: { state: 'not_applicable' }, agents: [], target: { kind: 'offline', bundle: 'x' } },
    host: 'h',
    source: 'offline',
    windows: evidence.windows,
    reference: null,
    trace: [],
    findings: { FixerAgent: unknown },
    charts: [],
    now: new Date(),
    narrative,
  });
}

describe('the narrative in report.md', () => {
  it('when the model suggested hypotheses for unknown, then each is shown marked as the model’s, under the model’s name', async () => {
    const md = await report({ model: 'llama-3.1-8b', text: 'Nothing known fits.\n\nLook at the kernel log.', hypotheses: [{ category: 'resource_limit', rationale: 'fork failures in the log' }] });
    expect(md).toContain('## Narrative (written by a language model)');
    expect(md).toContain('_Written by the model `llama-3.1-8b` from a redacted summary');
    expect(md).toContain('Nothing known fits.\n\nLook at the kernel log.');
    expect(md).toContain('| Resource limit reached (model\'s suggestion) | fork failures in the log |');
  });

  it('when the model’s prose carries markup, then none of it is live in the rendered report', async () => {
    const md = await report({ model: 'm', text: '<script>alert(1)</script> [x](javascript:alert(2)) | cell', hypotheses: [] });
    const html = markdownToSafeHtml(md, { title: 't' });
    expect(html).not.toMatch(/<script>alert/);
    expect(html).not.toMatch(/href="javascript:/);
  });

  it('when there is no narrative, then there is no Narrative section', async () => {
    expect(await report(null)).not.toContain('## Narrative');
  });
});

describe('logging with a model configured', () => {
  it('when the configuration or a client option is logged, then the API key is blanked', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    const log = createLogger('info', sink);
    log.info({ config: { CHAOS_LLM_API_KEY: 'sk-very-secret-1' }, client: { apiKey: 'sk-very-secret-2' }, CHAOS_LLM_API_KEY: 'sk-very-secret-3' }, 'Configured');
    expect(lines.join('')).not.toMatch(/sk-very-secret/);
    expect(lines.join('')).toContain('[redacted]');
  });
});
