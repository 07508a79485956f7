/**
 * Child process of the miner throughput benchmark: runs `runTemplates` on one file with stdout
 * to /dev/null (what `chaos-handler templates <file> > /dev/null` does),
 * then reports its own peak memory as one JSON line on stderr, after the usual summary line.
 *
 * Usage: node dist/bench/miner-runner.js <file>
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';

import { openInput, runTemplates } from '../src/cli/templates.js';

/** VmHWM (peak resident set) of this process in KiB, from /proc; undefined off Linux. */
async function peakRssKib(): Promise<number | undefined> {
  try {
    const status = await readFile('/proc/self/status', 'utf8');
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

async function main(file: string | undefined): Promise<number> {
  if (file === undefined) {
    process.stderr.write('usage: miner-runner <file>\n');
    return 2;
  }
  const sink = createWriteStream('/dev/null');
  const code = await runTemplates(openInput(file), sink, process.stderr);
  await new Promise<void>((resolve) => sink.end(resolve));
  const report = {
    exitCode: code,
    vmHwmKib: await peakRssKib(),
    // resourceUsage().maxRSS is in KiB as well (getrusage's ru_maxrss on Linux).
    maxRssKib: process.resourceUsage().maxRSS,
    heapUsedMib: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  };
  process.stderr.write(`${JSON.stringify(report)}\n`);
  return code;
}

main(process.argv[2]).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`miner-runner: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
