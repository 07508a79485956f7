import path from 'node:path';
import { parseArgs } from 'node:util';
import { stdin } from 'node:process';
import { createInterface } from 'node:readline/promises';
import { loadConfig } from '../config/index.js';
import { createCoordinator } from '../coordinator.js';
import { errorMessage, InputError } from '../errors.js';
import { OfflineConnector, RoutingConnector } from '../incidents/connector.js';
import { SCENARIOS, type TraceEntry } from '../domain/index.js';
import { StartIncidentRequest } from '../incidents/schema.js';
import { pino } from 'pino';
import { createLogger } from '../logger.js';
import { categoryTitle, traceSummary } from '../report/markdown.js';
import { serve } from '../main.js';
import { decideCommand, describePlan } from './remediation.js';

const USAGE = `Usage: chaos-handler <command> [options]

Commands:
  run --offline --scenario <name> [--bundle <dir>] [--option key=value ...]
        Run one incident on recorded evidence and print where its report is.
  run --target <enrolled name> --scenario <name> [--record] [--option key=value ...]
        Run one live incident on an enrolled host over SSH (NEVER production).
  serve                      Start the coordinator API (configuration from CHAOS_* variables).
  templates <file|->         Mine log templates: one JSON line per input line on stdout.
  enroll <name> --host H [--port 22] --user U --key <key name>
         (--host-key '<type> <base64>' | --known-hosts <file> | --trust-on-first-use) [--replace]
                             Log in once over SSH, then add the host to CHAOS_TARGETS_FILE.
         [--http URL]... [--tcp HOST:PORT]... [--db CONNSTRING]... [--reference-seconds 10]
                             ... and record its known-good reference (what investigate compares with).
  baseline <target> [--seconds 10] [--force]
                             Record (refresh) the target's known-good reference while it is healthy.
  targets [--json]           List the enrolled targets and their host-key fingerprints.
  watch --target <name> [--interval 2] [--consecutive 3] [--cooldown 600] [--no-outside-probes]
                             Watch a host; when it leaves its known-good band, investigate by itself.
  experiment run <file> [--runs N] [--json]
                             Run a chaos experiment (YAML, see examples/experiments/) on its enrolled
                             targets; exit 0 only when the steady state held (or was restored) in every run.
  experiment validate <file> [--json]
                             Check an experiment file without running it: exit 0 when valid, 2 with
                             each problem as file:line:column: path: message.
  gameday run|validate <file> [--json]
                             Run (or check) a game day: experiments scheduled over a window with a
                             curriculum and guard rails; prints the scoreboard (see examples/gamedays/).
  approve <id> --approver NAME [--steps s1,s2] [--url URL]
                             Approve a running incident's proposed fix (high-risk steps must be listed).
  reject <id> --approver NAME [--reason TEXT] [--url URL]
                             Reject it: nothing runs on the host.
  help                       This text.

Scenarios: ${SCENARIOS.join(', ')}
Options for run:
  --offline                  Replay a recorded bundle (examples/<scenario>, or --bundle).
  --bundle <dir>             The bundle folder to replay.
  --target <name>            Live: an enrolled target from CHAOS_TARGETS_FILE (e.g. sandbox).
  --record                   Live: also save the evidence as an offline bundle (bundle/ in the incident).
  --option key=value         A scenario option (numbers and true/false are converted).
  --json                     Print the final incident record as JSON instead of a summary.
  --remediate                Live: close the loop. The chaos is not reverted first; the proposed fix
                             is shown and applied once you approve it here (needs a terminal).
  --approve                  Live: close the loop, the fix pre-approved (scripts); --approver NAME
                             (default $USER) is recorded; --approve-high-risk includes high-risk steps.
`;

type Out = { write(text: string): unknown; isTTY?: boolean };

export async function runCli(argv: string[], env: Record<string, string | undefined>, stdout: Out, stderr: Out): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return run(rest, env, stdout, stderr);
    case 'serve':
      await serve(env);
      return new Promise<number>(() => undefined); // runs until a signal stops it
    case 'templates': {
      const { runTemplates, openInput } = await import('./templates.js');
      const source = rest[0];
      if (!source) {
        stderr.write(`chaos-handler templates: name a file, or - for standard input\n\n${USAGE}`);
        return 2;
      }
      return runTemplates(await openInput(source), process.stdout, process.stderr);
    }
    case 'enroll': {
      const { runEnroll } = await import('./enroll.js');
      return runEnroll(rest, env, stdout, stderr);
    }
    case 'baseline': {
      const { runBaseline } = await import('./baseline.js');
      return runBaseline(rest, env, stdout, stderr);
    }
    case 'watch': {
      const { runWatch } = await import('./watch.js');
      return runWatch(rest, env, stdout, stderr);
    }
    case 'targets': {
      const { runTargets } = await import('./targets.js');
      return runTargets(rest, env, stdout, stderr);
    }
    case 'gameday': {
      const { runGameDayCli } = await import('./gameday.js');
      return runGameDayCli(rest, env, stdout, stderr);
    }
    case 'experiment': {
      const [verb, ...more] = rest;
      if (verb === 'run') {
        const { runExperimentRun } = await import('./experiment-run.js');
        return runExperimentRun(more, env, stdout, stderr);
      }
      if (verb === 'validate') {
        const { runExperimentValidate } = await import('./experiment-validate.js');
        return runExperimentValidate(more, stdout, stderr);
      }
      stderr.write(`chaos-handler experiment: unknown verb ${JSON.stringify(verb ?? '')}\n\n${USAGE}`);
      return 2;
    }
    case undefined:
    case 'approve':
    case 'reject':
      return decideCommand(command, rest, env, stdout, stderr);
    case 'help':
    case '--help':
    case '-h':
      stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      stderr.write(`chaos-handler: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

async function run(args: string[], env: Record<string, string | undefined>, stdout: Out, stderr: Out): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        offline: { type: 'boolean', default: false },
        scenario: { type: 'string' },
        bundle: { type: 'string' },
        target: { type: 'string' },
        record: { type: 'boolean', default: false },
        option: { type: 'string', multiple: true, default: [] },
        json: { type: 'boolean', default: false },
        remediate: { type: 'boolean', default: false },
        approve: { type: 'boolean', default: false },
        approver: { type: 'string' },
        'approve-high-risk': { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    stderr.write(`chaos-handler run: ${errorMessage(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.offline === Boolean(values.target)) {
    stderr.write('chaos-handler run: give either --offline (recorded evidence) or --target <enrolled name> (a live host)\n');
    return 2;
  }
  const options: Record<string, unknown> = values.offline ? { offline: true } : { record: values.record };
  if (values.remediate && values.approve) {
    stderr.write('chaos-handler run: give --remediate (approve here) or --approve (pre-approved), not both\n');
    return 2;
  }
  if (values.remediate && !(stdin.isTTY ?? false)) {
    stderr.write('chaos-handler run: --remediate asks for approval on a terminal; in scripts use --approve --approver NAME\n');
    return 2;
  }
  if (values.remediate) options.remediation = 'approve';
  if (values.approve) {
    const approver = values.approver ?? env.USER ?? env.LOGNAME;
    if (!approver) {
      stderr.write('chaos-handler run: --approve needs --approver NAME (no $USER to default to)\n');
      return 2;
    }
    Object.assign(options, { remediation: 'auto', approver, approve_high_risk: values['approve-high-risk'] });
  }
  for (const pair of values.option ?? []) {
    const eq = pair.indexOf('=');
    if (eq < 1) {
      stderr.write(`chaos-handler run: --option needs key=value, got ${JSON.stringify(pair)}\n`);
      return 2;
    }
    options[pair.slice(0, eq)] = coerce(pair.slice(eq + 1));
  }
  const parsed = StartIncidentRequest.safeParse({ scenario: values.scenario, options, ...(values.target ? { target_vm: { name: values.target } } : {}) });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) stderr.write(`chaos-handler run: ${issue.path.join('.') || 'scenario'}: ${issue.message}\n`);
    if (!values.scenario) stderr.write(`Scenarios: ${SCENARIOS.join(', ')}\n`);
    return 2;
  }

  const config = loadConfig({ CHAOS_LOG_LEVEL: 'warn', ...env });
  // Logs go to stderr: stdout carries the progress lines, or the JSON record with --json.
  const log = createLogger(config.CHAOS_LOG_LEVEL, pino.destination(2));
  // --bundle may name any folder: the CLI's user owns this machine (the API only takes names).
  const coordinator = await createCoordinator(
    config,
    log,
    values.bundle ? { connector: new RoutingConnector(new OfflineConnector({ examplesDir: config.CHAOS_EXAMPLES_DIR, bundleDir: values.bundle }), null, '--bundle replays offline only') } : {},
  );
  const colour = stdout.isTTY === true && env.NO_COLOR === undefined;
  try {
    const { record, done } = await coordinator.incidents.start(parsed.data).catch((error: unknown) => {
      throw new InputError(errorMessage(error), 'bundle', { cause: error });
    });
    const t0 = Date.now();
    const where = record.target.kind === 'offline' ? `offline replay of ${record.target.bundle}` : `live on ${record.target.user}@${record.target.name} (${record.target.host}:${record.target.port})`;
    if (!values.json) stdout.write(`Incident ${record.id} (${parsed.data.scenario}, ${where})\n`);
    const unsubscribe = coordinator.incidents.subscribe(
      record.id,
      (entry) => {
        if (!values.json) stdout.write(progressLine(entry, t0, colour));
        // --remediate: the proposal is shown and the decision asked for here.
        if (values.remediate && /^remediation proposed/.test(traceSummary(entry))) void askApproval(coordinator, record.id, stdout, stderr, env);
      },
      () => undefined,
    );
    const onSigint = () => void coordinator.incidents.stop(record.id, 'interrupted from the terminal');
    process.once('SIGINT', onSigint);
    const final = await done;
    process.off('SIGINT', onSigint);
    unsubscribe();

    const dir = coordinator.store.dir(final.id);
    if (values.json) {
      stdout.write(`${JSON.stringify({ ...final, dir }, null, 2)}\n`);
    } else {
      const artifacts = await coordinator.store.listArtifacts(final.id);
      stdout.write('\n');
      if (final.outcome) {
        stdout.write(`Root cause: ${categoryTitle(final.outcome.category)} (${final.outcome.category}), confidence ${final.outcome.confidence.toFixed(2)}\n`);
        stdout.write(`Culprit:    ${final.outcome.culprit ?? 'none named'}\n`);
      }
      stdout.write(`Status:     ${final.status}${final.error ? ` (${final.error})` : ''}\n`);
      stdout.write(`Artifacts:  ${path.relative(process.cwd(), dir) || dir}/\n`);
      for (const a of artifacts) stdout.write(`  ${a.name.padEnd(40)} ${a.bytes} bytes\n`);
      const pdf = artifacts.some((a) => a.name === 'report.pdf');
      stdout.write(`Report:     ${path.join(path.relative(process.cwd(), dir) || dir, pdf ? 'report.pdf' : 'report.md')}\n`);
      if (artifacts.some((a) => a.name === 'bundle/manifest.json')) stdout.write(`Recording:  ${path.join(path.relative(process.cwd(), dir) || dir, 'bundle')}/ (replay with --offline --bundle)\n`);
    }
    return final.status === 'completed' ? 0 : 1;
  } catch (error) {
    stderr.write(`chaos-handler run: ${errorMessage(error)}\n`);
    return 1;
  } finally {
    await coordinator.close();
  }
}

const AGENT_COLOUR: Record<string, string> = {
  Coordinator: '\x1b[90m',
  LogAgent: '\x1b[36m',
  MetricsAgent: '\x1b[35m',
  FixerAgent: '\x1b[33m',
  TesterAgent: '\x1b[34m',
  ReporterAgent: '\x1b[32m',
};

function progressLine(entry: TraceEntry, t0: number, colour: boolean): string {
  const seconds = ((Date.parse(entry.timestamp) - t0) / 1000).toFixed(1).padStart(5);
  const who = entry.agent.padEnd(13);
  const what = traceSummary(entry).slice(0, 160);
  const line = `[+${seconds}s] ${who} ${entry.type.padEnd(8)} ${what}`;
  return colour ? `${AGENT_COLOUR[entry.agent] ?? ''}${line}\x1b[0m\n` : `${line}\n`;
}

/** Shows the proposed plan and asks: y approves (high-risk steps too: they were shown), n rejects. */
async function askApproval(coordinator: Awaited<ReturnType<typeof createCoordinator>>, id: string, stdout: Out, stderr: Out, env: Record<string, string | undefined>): Promise<void> {
  const { remediation } = await coordinator.incidents.remediation(id);
  if (!remediation) return;
  stdout.write(`\n${describePlan(remediation)}\n`);
  const rl = createInterface({ input: stdin, output: process.stdout });
  try {
    const answer = (await rl.question(`Apply these steps (${remediation.steps.filter((s) => s.state === 'pending').map((s) => s.id).join(', ')})? [y/N] `)).trim().toLowerCase();
    const by = env.USER ?? env.LOGNAME ?? 'terminal';
    const pending = remediation.steps.filter((s) => s.state === 'pending').map((s) => s.id);
    const decided = answer === 'y' || answer === 'yes'
      ? await coordinator.incidents.decideRemediation(id, { kind: 'approve', approver: by, steps: pending })
      : await coordinator.incidents.decideRemediation(id, { kind: 'reject', by, reason: 'declined at the terminal' });
    stdout.write(`${describePlan(decided)}\n`);
  } catch (error) {
    stderr.write(`chaos-handler run: the decision was not taken: ${errorMessage(error)}\n`);
  } finally {
    rl.close();
  }
}

function coerce(value: string): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^-?\d+(?:\.\d+)?$/.test(value)) return Number(value);
  return value;
}
