import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { InputError } from '../../../src/errors.js';
import { buildCommand, shellQuote } from '../../../src/ssh/quote.js';

/** Runs `printf '%s\0' <words>` through a real shell and returns the argv it saw. */
function argvSeenBy(shell: '/bin/sh' | '/bin/bash', quotedWords: string[]): string[] {
  const script = `printf '%s\\0' ${quotedWords.join(' ')}`;
  const result = spawnSync(shell, ['-c', script], { encoding: 'buffer', env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
  if (result.status !== 0) throw new Error(`${shell} failed: ${result.stderr.toString()}`);
  const out = result.stdout.toString('utf8');
  return out === '' ? [] : out.slice(0, -1).split('\0');
}

/** Characters a shell treats specially, to be sure the generator hits them often. */
const META = [..."'\"\\$`!*?[]{}()<>|&;~#= \t\n\r%^", '\u00a0', '\u2028', '\u{1F600}', '\x01', '\x7f', '\x1b'];

const nastyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(...META), maxLength: 20 }),
  fc.string({ unit: fc.oneof(fc.constantFrom(...META), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 30 }),
);
const noNul = nastyString.filter((s) => !s.includes('\0'));

describe('shellQuote', () => {
  it.each(['/bin/sh', '/bin/bash'] as const)(
    'when arbitrary strings are quoted, then %s gives back exactly the same argv',
    (shell) => {
      fc.assert(
        fc.property(fc.array(noNul, { minLength: 1, maxLength: 6 }), (args) => {
          expect(argvSeenBy(shell, args.map(shellQuote))).toEqual(args);
        }),
        { numRuns: 150 },
      );
    },
  );

  it('when a string has quotes and shell syntax, then it is one inert word', () => {
    expect(shellQuote("it's $(rm -rf /)")).toBe("'it'\\''s $(rm -rf /)'");
    expect(shellQuote('')).toBe("''");
    expect(argvSeenBy('/bin/sh', [shellQuote("'; touch /tmp/pwned; '")])).toEqual(["'; touch /tmp/pwned; '"]);
  });

  it('when a string contains NUL, then it is refused', () => {
    expect(() => shellQuote('a\0b')).toThrow(InputError);
  });

  it('when a string contains a lone surrogate, then it is refused (it has no UTF-8 form)', () => {
    expect(() => shellQuote('a\uD800b')).toThrow(InputError);
    expect(shellQuote('\u{1F600}')).toBe("'\u{1F600}'");
  });
});

describe('buildCommand', () => {
  const allowedScripts = ['/opt/chaos-scripts/cpu_spike.sh', '/opt/chaos-scripts/disk_fill.sh'];

  it('when the script is allowed, then the command is the script and quoted arguments', () => {
    expect(buildCommand('/opt/chaos-scripts/cpu_spike.sh', ['start', '60', '2'], { allowedScripts })).toBe(
      "'/opt/chaos-scripts/cpu_spike.sh' 'start' '60' '2'",
    );
  });

  it('when sudo is asked for, then the command runs non-interactively behind sudo -n --', () => {
    expect(buildCommand('/opt/chaos-scripts/disk_fill.sh', ['stop'], { allowedScripts, sudo: true })).toBe(
      "sudo -n -- '/opt/chaos-scripts/disk_fill.sh' 'stop'",
    );
  });

  it('when arguments carry shell syntax, then the shell sees them as plain words', () => {
    fc.assert(
      fc.property(fc.array(noNul, { maxLength: 4 }), (args) => {
        const command = buildCommand('/opt/chaos-scripts/cpu_spike.sh', args, { allowedScripts });
        // Replace the script by printf to observe the argv the shell would pass to it.
        const observed = command.replace("'/opt/chaos-scripts/cpu_spike.sh'", "printf '%s\\0' 'SCRIPT'");
        const result = spawnSync('/bin/sh', ['-c', observed], { encoding: 'buffer' });
        expect(result.stdout.toString('utf8').split('\0').slice(0, -1)).toEqual(['SCRIPT', ...args]);
      }),
      { numRuns: 50 },
    );
  });

  it.each([
    '/opt/chaos-scripts/../../bin/sh',
    '/usr/bin/rm',
    '/opt/chaos-scripts/x.sh; reboot',
    'cpu_spike.sh',
    '/opt/chaos-scripts/./x.sh',
    '/opt/chaos-scripts/',
  ])('when the script %j is not in the allowed set, then it is refused', (script) => {
    expect(() => buildCommand(script, [], { allowedScripts })).toThrow(InputError);
  });

  it('when the allowed set itself holds a path outside /opt/chaos-scripts/, then every build fails', () => {
    expect(() => buildCommand('/bin/sh', [], { allowedScripts: ['/bin/sh'] })).toThrow(/not a file under/);
    expect(() => buildCommand('/opt/chaos-scripts/a.sh', [], { allowedScripts: ['/opt/chaos-scripts/a.sh', '/opt/chaos-scripts/../x'] })).toThrow(
      /not a file under/,
    );
  });
});
