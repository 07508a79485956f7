import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../config/index.js';
import { createCoordinator } from '../coordinator.js';
import { errorMessage } from '../errors.js';
import { createLogger } from '../logger.js';
import { categoryTitle } from '../report/markdown.js';

type Out = { write(text: string): unknown };

const USAGE = `Usage: chaos-handler watch --target <enrolled name> [--interval 2] [--consecutive 3] [--cooldown 600] [--no-outside-probes]
  Samples the target every --interval seconds over SSH; after --consecutive samples in a row outside
  its known-good band it opens an investigate incident by itself, then none for --cooldown seconds.
  Runs until Ctrl-C or SIGTERM (the watch stops, a running investigation is stopped cleanly).
`;

/** `chaos-handler watch`: watch mode in the foreground, one line per detection and per diagnosis. */
export async function runWatch(args: string[], env: Record<string, string | undefined>, stdout: Out, stderr: Out): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        target: { type: 'string' },
        interval: { type: 'string' },
        consecutive: { type: 'string' },
        cooldown: { type: 'string' },
        'no-outside-probes': { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    stderr.write(`chaos-handler watch: ${errorMessage(error)}\n\n${USAGE}`);
    return 2;
  }
  if (!values.target) {
    stderr.write(`chaos-handler watch: --target is required\n\n${USAGE}`);
    return 2;
  }
  const number = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const options = {
    ...(values.interval !== undefined ? { interval_s: number(values.interval) } : {}),
    ...(values.consecutive !== undefined ? { consecutive: number(values.consecutive) } : {}),
    ...(values.cooldown !== undefined ? { cooldown_s: number(values.cooldown) } : {}),
    ...(values['no-outside-probes'] ? { outside_probes: false } : {}),
  };

  const config = loadConfig({ CHAOS_LOG_LEVEL: 'warn', ...env });
  const log = createLogger(config.CHAOS_LOG_LEVEL, pino.destination(2));
  const coordinator = await createCoordinator(config, log);
  const target = values.target;
  let stopping: Promise<void> | null = null;
  const stop = () => (stopping ??= coordinator.close());
  try {
    const view = await coordinator.watches.start(target, options);
    stdout.write(`Watching ${target} every ${view.options.interval_s} s (out of band ${view.options.consecutive} samples in a row opens an investigation; cooldown ${view.options.cooldown_s} s)${view.reference ? `, compared with its reference of ${view.reference}` : ', no known-good reference: judged on absolute limits and its first samples'}\n`);
  } catch (error) {
    stderr.write(`chaos-handler watch: ${errorMessage(error)}\n`);
    await stop();
    return error instanceof Error && error.name === 'InputError' ? 2 : 1;
  }

  const reported = new Set<string>();
  const tick = setInterval(() => {
    let view;
    try {
      view = coordinator.watches.get(target);
    } catch {
      return;
    }
    for (const d of view.detections) {
      const key = d.detected_at;
      if (reported.has(key)) continue;
      reported.add(key);
      stdout.write(`${d.detected_at} ${target} left its band: ${d.breaches.join('; ')}\n`);
      if (!d.incident_id) {
        stdout.write(`  no investigation opened: ${d.error ?? 'unknown reason'}\n`);
        continue;
      }
      const id = d.incident_id;
      stdout.write(`  investigation ${id} opened (${coordinator.store.dir(id)})\n`);
      void coordinator.incidents
        .whenSettled(id)
        .then(() => coordinator.store.loadRecord(id))
        .then((r) => stdout.write(`  ${id}: ${r.status}${r.outcome ? `, ${categoryTitle(r.outcome.category)} (${r.outcome.category})${r.outcome.culprit ? `, culprit ${r.outcome.culprit}` : ''}` : ''}\n`))
        .catch(() => undefined);
    }
    if (view.state === 'failed') void stop();
  }, 500);

  await new Promise<void>((resolve) => {
    const onSignal = () => resolve();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  clearInterval(tick);
  stdout.write(`Stopping the watch of ${target}\n`);
  await stop();
  return 0;
}
