/**
 * `chaos-handler targets [--json]`: the targets enrolled in CHAOS_TARGETS_FILE with the
 * fingerprints of the host keys each one trusts. Exit 0 listed (an absent file lists none),
 * 2 the file or the configuration is invalid.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index.js';
import { errorMessage } from '../errors.js';
import { describeTargets, type TargetDescription } from '../ssh/describe-targets.js';

export const TARGETS_USAGE = 'Usage: chaos-handler targets [--json]\n';

type Out = { write(text: string): unknown };

export async function runTargets(args: string[], env: Record<string, string | undefined>, stdout: Out, stderr: Out): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, strict: true, options: { json: { type: 'boolean', default: false } } }));
  } catch (error) {
    stderr.write(`chaos-handler targets: ${errorMessage(error)}\n\n${TARGETS_USAGE}`);
    return 2;
  }
  let targets: TargetDescription[];
  let file: string;
  try {
    file = loadConfig(env).CHAOS_TARGETS_FILE;
    targets = await describeTargets(file);
  } catch (error) {
    stderr.write(`chaos-handler targets: ${errorMessage(error)}\n`);
    return 2;
  }
  if (values.json) {
    stdout.write(`${JSON.stringify({ file, targets }, null, 2)}\n`);
    return 0;
  }
  if (targets.length === 0) {
    stdout.write(`No targets enrolled in ${file} (chaos-handler enroll adds one).\n`);
    return 0;
  }
  const rows = targets.map((t) => [t.name, `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`, t.user, t.key]);
  const header = ['NAME', 'ADDRESS', 'USER', 'KEY'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]): string => `${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}  `;
  stdout.write(`${line(header)}HOST KEYS\n`);
  targets.forEach((t, i) => {
    const [first, ...more] = t.host_keys.map(
      (k) => `${k.type} ${k.fingerprint}${k.source === 'known_hosts' ? ' (known_hosts)' : ''}${k.revoked ? ' REVOKED' : ''}`,
    );
    stdout.write(`${line(rows[i] ?? [])}${first ?? 'none: no connection will be accepted'}\n`);
    const indent = ' '.repeat(line(header).length);
    for (const k of more) stdout.write(`${indent}${k}\n`);
    for (const p of t.problems) stdout.write(`${indent}${p}\n`);
  });
  stdout.write(`(${targets.length} in ${file})\n`);
  return 0;
}
