/**
 * A host made hostile: the recorded CPU spike with its burning process renamed to generated
 * strings full of terminal escapes, bidi overrides, NUL bytes and lone surrogates, the same text
 * in its log lines, its host name and its other processes' command lines. Every incident must
 * still be diagnosed, get its fix.sh, and leave no artifact with a raw control character in it.
 */
import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { readBundle } from '../../../src/evidence/bundle.js';
import { hasInvisibleControl, sanitizeHostText } from '../../../src/evidence/sanitize.js';
import type { Evidence, Phase } from '../../../src/evidence/schema.js';
import type { CollectSummary, EvidenceSource, RecoveryWindow } from '../../../src/evidence/source.js';
import { IncidentService } from '../../../src/incidents/incident-service.js';
import { StartIncidentRequest } from '../../../src/incidents/schema.js';
import { createLogger } from '../../../src/logger.js';
import { IncidentStore } from '../../../src/store/incident-store.js';
import { hostileText } from '../../fixtures/hostile-text.js';
import { EXAMPLES_DIR, tempDir } from '../../fixtures/paths.js';

/** Hands the pipeline a fixed Evidence value, as an offline bundle would. */
class FixedSource implements EvidenceSource {
  readonly kind = 'offline' as const;
  readonly description = 'a hostile recording';
  constructor(private readonly evidence: Evidence) {}
  async collect(phase: Phase): Promise<CollectSummary> {
    return { phase, samples: 0, probes: 0, seconds: 0 };
  }
  markFault(): void {}
  async finish(): Promise<Evidence> {
    const e = this.evidence;
    return { ...e, samples: e.samples.filter((s) => s.phase !== 'recovery'), probes: e.probes.filter((p) => p.phase !== 'recovery') };
  }
  async followRecovery(): Promise<RecoveryWindow> {
    const e = this.evidence;
    return { window: e.windows.recovery ?? null, fault_reverted_at: e.fault_reverted_at, samples: e.samples.filter((s) => s.phase === 'recovery'), probes: [] };
  }
  async close(): Promise<null> {
    return null;
  }
}

/** The recorded CPU spike with the busiest process of its incident window renamed `name`. */
function hostile(base: Evidence, name: string): Evidence {
  const incident = base.samples.filter((s) => s.phase === 'incident').flatMap((s) => s.top);
  const burner = incident.reduce((a, b) => (b.cpu_pct > a.cpu_pct ? b : a)).comm;
  const logLine = `Nov 23 01:45:41 sandbox kernel: ${name} ate the CPU`;
  return {
    ...base,
    host: `sre-demo@${name}`,
    samples: base.samples.map((s) => ({
      ...s,
      top: s.top.map((p) => (p.comm === burner ? { ...p, comm: name, argv0: name, args: `${name} --burn` } : { ...p, args: `${p.args ?? ''} ${name}` })),
    })),
    logs: {
      baseline: [{ name: 'syslog', lines: [`Nov 23 01:45:30 sandbox cron: ${name} ran`] }],
      incident: [{ name: 'syslog', lines: Array.from({ length: 5 }, () => logLine) }],
    },
    snapshot: base.snapshot ? { ...base.snapshot, hostname: name } : null,
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else out.push(full);
  }
  return out;
}

// Each case runs the five agents (the PDF aside) on a full recording: seconds on a busy machine.
jest.setTimeout(120_000);

describe('a diagnosis from a host with hostile names', () => {
  let base: Evidence;
  let dir: string;
  let cleanup: () => Promise<void>;
  let service: IncidentService;
  beforeAll(async () => {
    base = (await readBundle(path.join(EXAMPLES_DIR, 'cpu_spike'))).evidence;
    ({ dir, cleanup } = await tempDir('hostile'));
    const store = new IncidentStore(dir);
    await store.init();
    let next: Evidence = base;
    service = new IncidentService({
      store,
      connector: { open: async () => ({ target: { kind: 'offline', bundle: 'hostile' }, source: new FixedSource(next), chaos: null }) },
      services: { pdfUnavailableReason: 'not in this test' },
      log: createLogger('silent'),
      agentTimeoutMs: 60_000,
      maxConcurrent: 1,
    });
    run = async (name: string) => {
      next = hostile(base, name);
      const { record, done } = await service.start(StartIncidentRequest.parse({ scenario: 'investigate', options: { offline: true } }));
      const final = await done;
      const files = await filesUnder(path.join(dir, record.id));
      const texts = Object.fromEntries(await Promise.all(files.map(async (f) => [path.relative(path.join(dir, record.id), f), await readFile(f, 'utf8')] as const)));
      return { final, texts };
    };
  });
  afterAll(() => cleanup());
  let run: (name: string) => Promise<{ final: Awaited<ReturnType<IncidentService['stop']>>; texts: Record<string, string> }>;

  const expectSafe = (texts: Record<string, string>) => {
    for (const [file, text] of Object.entries(texts)) expect([file, hasInvisibleControl(text)]).toEqual([file, false]);
  };

  it.each([
    ['an ANSI escape that erases the line above', '\u001b[1A\u001b[2Kburner'],
    ['a right-to-left override', 'burn\u202eexe.sh'],
    ['a NUL byte', 'burn\u0000er'],
    ['a lone surrogate', 'burn\ud800er'],
    ['a newline and a command', "burn\nrm -rf / #'"],
  ])('when the culprit process name holds %s, then it is diagnosed, fix.sh is valid bash and no artifact holds a raw control', async (_what, name) => {
    const { final, texts } = await run(name);
    expect(final.status).toBe('completed');
    expect(final.agents.map((a) => [a.name, a.state])).toEqual([
      ['LogAgent', 'succeeded'],
      ['MetricsAgent', 'succeeded'],
      ['FixerAgent', 'succeeded'],
      ['TesterAgent', 'succeeded'],
      ['ReporterAgent', 'succeeded'],
    ]);
    expect(final.outcome).toMatchObject({ category: 'cpu_saturation', culprit: expect.stringContaining('burn') });
    expectSafe(texts);
    const fix = texts['fix.sh']!;
    expect(fix).toMatch(/kill -TERM/);
    if (name.startsWith('\u001b')) expect(fix).toContain("= $'\\x1b[1A\\x1b[2Kburner' ]; then kill -TERM");
    if (name.includes('\u0000')) expect(fix).toContain(`= '${sanitizeHostText(name)}' ]`);
    // Every line of fix.sh is a comment, a command we wrote, or blank: the name started none.
    expect(fix.split('\n').filter((l) => /^rm /.test(l))).toEqual([]);
    execFileSync('bash', ['-n'], { input: fix });
    expect(texts['report.md']).toContain('Culprit');
    expect(texts['slack_summary.txt']).toMatch(/^Culprit: process /m);
  });

  it('when process names, log lines and the host name are any generated text, then every artifact is free of raw controls', async () => {
    await fc.assert(
      fc.asyncProperty(hostileText, async (text) => {
        const { final, texts } = await run(`burn${text}`);
        expect(final.status).toBe('completed');
        expect(final.agents.find((a) => a.name === 'FixerAgent')?.state).toBe('succeeded');
        expect(texts['fix.sh']).toBeDefined();
        expectSafe(texts);
        execFileSync('bash', ['-n'], { input: texts['fix.sh'] });
      }),
      { numRuns: 15 },
    );
  });
});
