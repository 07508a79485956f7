import type { AgentState } from '../../../src/domain/index.js';
import { missingParts } from '../../../src/report/missing.js';
import { partialSection } from '../../../src/report/markdown.js';

const agent = (name: AgentState['name'], state: AgentState['state'], extra: Partial<AgentState> = {}): AgentState => ({ name, state, started_at: null, finished_at: null, duration_ms: null, ...extra });

describe('what a partial report says is missing', () => {
  it('when every agent before the reporter succeeded, then nothing is missing and there is no Partial report section', () => {
    const agents = [agent('LogAgent', 'succeeded'), agent('MetricsAgent', 'succeeded'), agent('FixerAgent', 'succeeded'), agent('TesterAgent', 'succeeded'), agent('ReporterAgent', 'running')];
    expect(missingParts(agents)).toEqual([]);
    expect(partialSection(agents)).toEqual([]);
  });

  it('when agents failed, timed out or never ran, then each is named with its state, attempts, error and what it costs the report', () => {
    const agents = [
      agent('LogAgent', 'timed_out', { attempts: 3, error: 'did not finish within 1000 ms' }),
      agent('MetricsAgent', 'succeeded'),
      agent('FixerAgent', 'failed', { attempts: 2, error: 'boom | with a pipe' }),
      agent('TesterAgent', 'pending'),
      agent('ReporterAgent', 'running'),
    ];
    expect(missingParts(agents).map((m) => [m.agent, m.state, m.attempts])).toEqual([
      ['LogAgent', 'timed_out', 3],
      ['FixerAgent', 'failed', 2],
      ['TesterAgent', 'skipped', 0],
    ]);
    const md = partialSection(agents).join('\n');
    expect(md).toContain('## Partial report');
    expect(md).toContain('3 agents did not succeed; this report is incomplete.');
    expect(md).toContain('| LogAgent | timed out | 3 | did not finish within 1000 ms | the Logs section; the diagnosis was made without log evidence');
    expect(md).toContain('| FixerAgent | failed | 2 | boom \\| with a pipe |');
    expect(md).toContain('| TesterAgent | skipped | 0 | — | the risk rating and rollback plan of fix.sh');
  });
});
