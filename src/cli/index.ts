#!/usr/bin/env node
import { runCli } from './run-cli.js';

runCli(process.argv.slice(2), process.env, process.stdout, process.stderr).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`chaos-handler: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
