import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../../src/errors.js';
import { DEFAULT_POLICY, RateLimiter, decide, hourlyLimit, loadPolicy, parsePolicy, remediationHistory } from '../../../src/remediation/policy.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/policy.yaml', import.meta.url));

const POLICY = `version: 1
targets:
  "*":
    max_per_hour: 5
  sandbox:
    auto_apply:
      actions: [stop_process, free_path]
      risks: [low]
    max_per_hour: 2
  lab:
    auto_apply:
      actions: ["*"]
      risks: [low, medium]
commands:
  deny:
    - pattern: 'rm\\s+-rf\\s+/(\\s|$)'
      reason: never the root
    - 'mkfs'
`;

const step = (over: Partial<Parameters<typeof decide>[1]> = {}) => ({ target: 'sandbox', action: 'stop_process', risk: 'low' as const, command: "kill -TERM 4242", ...over });

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('policy file parsing', () => {
  it('when the example policy is loaded, then it validates and names its source', async () => {
    const policy = await loadPolicy(EXAMPLE);
    expect(policy.source).toBe(EXAMPLE);
    expect(policy.targets.sandbox?.auto_apply?.risks).toEqual(['low']);
    expect(policy.commands.deny.length).toBeGreaterThan(0);
  });

  it('when no file is configured, then nothing auto-applies and there is no limit', async () => {
    expect(await loadPolicy()).toBe(DEFAULT_POLICY);
    expect(decide(DEFAULT_POLICY, step())).toEqual({ verdict: 'needs_approval', reason: 'no policy file: nothing auto-applies on sandbox' });
    expect(hourlyLimit(DEFAULT_POLICY, 'sandbox')).toBeNull();
  });

  it('when a risk level is misspelt, then the error names the YAML path and its line', () => {
    const text = POLICY.replace('risks: [low]', 'risks: [lowish]');
    expect(problem(() => parsePolicy(text, 'p.yaml'))).toMatch(/p\.yaml:8:\d+: targets\.sandbox\.auto_apply\.risks\[0\]: /);
  });

  it('when a key is unknown, then the error names it on its own line', () => {
    const text = POLICY.replace('    max_per_hour: 2\n', '    max_per_hour: 2\n    max_per_day: 9\n');
    expect(problem(() => parsePolicy(text, 'p.yaml'))).toMatch(/p\.yaml:10:5: targets\.sandbox\.max_per_day: is not a known field/);
  });

  it('when a pattern is not a regular expression, then the error says so with its line', () => {
    const text = POLICY.replace("- 'mkfs'", "- 'mkfs('");
    expect(problem(() => parsePolicy(text, 'p.yaml'))).toMatch(/p\.yaml:18:\d+: commands\.deny\[1\]\.pattern: .*not a valid regular expression/);
  });

  it('when the YAML itself is broken, then the error gives the line', () => {
    expect(problem(() => parsePolicy('version: 1\ntargets:\n  a: [\n', 'p.yaml'))).toMatch(/^Invalid policy file p\.yaml:\n {2}p\.yaml:\d+:\d+: not valid YAML/);
  });

  it('when the version is missing, then the error names the top level', () => {
    expect(problem(() => parsePolicy('targets: {}\n', 'p.yaml'))).toMatch(/p\.yaml:1:\d+: version: /);
  });

  it('when the file does not exist, then the error names the file and the setting', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'policy-'));
    try {
      await expect(loadPolicy(path.join(dir, 'none.yaml'))).rejects.toThrow(/none\.yaml cannot be read \(no such file\); CHAOS_POLICY_FILE/);
      await writeFile(path.join(dir, 'p.yaml'), POLICY);
      expect((await loadPolicy(path.join(dir, 'p.yaml'))).targets.lab?.auto_apply?.actions).toEqual(['*']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('policy decisions', () => {
  const policy = parsePolicy(POLICY, 'p.yaml');

  it('when the target lists the action and its risk level, then the step auto-applies', () => {
    expect(decide(policy, step())).toEqual({ verdict: 'auto', reason: 'policy p.yaml: targets.sandbox auto-applies low-risk stop_process' });
  });

  it('when the step is high-risk, then it waits for a human', () => {
    expect(decide(policy, step({ risk: 'high' }))).toEqual({ verdict: 'needs_approval', reason: 'policy p.yaml: targets.sandbox does not auto-apply high-risk steps' });
  });

  it('when the action is not listed, then it waits for a human', () => {
    expect(decide(policy, step({ action: 'restart_service' })).verdict).toBe('needs_approval');
  });

  it('when a deny rule matches, then the step is denied whoever approves it', () => {
    const d = decide(policy, step({ command: 'rm -rf / ' }));
    expect(d.verdict).toBe('denied');
    expect(d.reason).toContain('never the root');
    expect(decide(policy, step({ command: 'mkfs.ext4 /dev/sdb' })).verdict).toBe('denied');
  });

  it('when the target has no entry, then the "*" entry applies (here: nothing auto)', () => {
    expect(decide(policy, step({ target: 'db-1' }))).toEqual({ verdict: 'needs_approval', reason: 'policy p.yaml: nothing auto-applies on db-1' });
    expect(hourlyLimit(policy, 'db-1')).toBe(5);
    expect(hourlyLimit(policy, 'lab')).toBe(5);
    expect(hourlyLimit(policy, 'sandbox')).toBe(2);
  });

  it('when the entry allows every action, then any action of a listed risk auto-applies', () => {
    expect(decide(policy, step({ target: 'lab', action: 'restart_service', risk: 'medium' })).verdict).toBe('auto');
    expect(decide(policy, step({ target: 'lab', risk: 'high' })).verdict).toBe('needs_approval');
  });

  it('when allow rules exist, then only matching commands auto-apply', () => {
    const strict = parsePolicy(`${POLICY}  allow:\n    - pattern: '^kill -TERM [0-9]+$'\n`, 'p.yaml');
    expect(decide(strict, step()).verdict).toBe('auto');
    expect(decide(strict, step({ command: 'pkill -f worker' }))).toEqual({ verdict: 'needs_approval', reason: 'policy p.yaml: the command matches no allow rule, so it waits for a human' });
  });

  it('when the target is named like an inherited property, then it is just an unknown target', () => {
    expect(decide(policy, step({ target: 'constructor' })).verdict).toBe('needs_approval');
  });
});

describe('rate limit', () => {
  const policy = parsePolicy(POLICY, 'p.yaml');
  const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 10, 0) + minutes * 60_000);

  it('when the hour is full, then take refuses until the oldest remediation is an hour old', () => {
    const limiter = new RateLimiter(policy);
    expect(limiter.take('sandbox', at(0))).toBe(true);
    expect(limiter.take('sandbox', at(10))).toBe(true);
    expect(limiter.take('sandbox', at(20))).toBe(false);
    expect(limiter.nextAllowedAt('sandbox', at(20))).toEqual(at(60));
    expect(limiter.take('sandbox', at(59.9))).toBe(false);
    expect(limiter.take('sandbox', at(60))).toBe(true);
    expect(limiter.used('sandbox', at(60))).toBe(2);
  });

  it('when one target is full, then the others are not', () => {
    const limiter = new RateLimiter(policy);
    limiter.take('sandbox', at(0));
    limiter.take('sandbox', at(1));
    expect(limiter.take('sandbox', at(2))).toBe(false);
    expect(limiter.take('db-1', at(2))).toBe(true);
  });

  it('when seeded with earlier remediations (after a restart), then they count', () => {
    const limiter = new RateLimiter(policy, [{ target: 'sandbox', at: at(-30) }, { target: 'sandbox', at: at(-90) }]);
    expect(limiter.used('sandbox', at(0))).toBe(1);
    expect(limiter.take('sandbox', at(0))).toBe(true);
    expect(limiter.take('sandbox', at(1))).toBe(false);
  });

  it('when there is no policy file, then there is no limit', () => {
    const limiter = new RateLimiter(DEFAULT_POLICY);
    for (let i = 0; i < 50; i++) expect(limiter.take('sandbox', at(i))).toBe(true);
  });

  it('when the limit is zero, then nothing may run', () => {
    const limiter = new RateLimiter(parsePolicy('version: 1\ntargets:\n  frozen:\n    max_per_hour: 0\n', 'p.yaml'));
    expect(limiter.take('frozen', at(0))).toBe(false);
  });

  it('when the coordinator restarts, then remediations applied in the last hour are read back from the records and count', () => {
    const ssh = (name: string) => ({ kind: 'ssh' as const, name, host: '10.0.0.1', port: 22, user: 'ops' });
    const applied = (minutes: number | null) => ({ applied_at: minutes === null ? null : at(minutes).toISOString() }) as never;
    const history = remediationHistory(
      [
        { target: ssh('sandbox'), remediation: applied(-10) },
        { target: ssh('sandbox'), remediation: applied(-70) },
        { target: ssh('sandbox'), remediation: applied(null) },
        { target: ssh('db-1'), remediation: null },
        { target: { kind: 'offline' as const, bundle: 'cpu_spike' }, remediation: applied(-5) },
      ],
      at(0),
    );
    expect(history).toEqual([{ target: 'sandbox', at: at(-10) }]);
    const limiter = new RateLimiter(policy, history);
    expect(limiter.take('sandbox', at(0))).toBe(true);
    expect(limiter.take('sandbox', at(1))).toBe(false);
  });
});
