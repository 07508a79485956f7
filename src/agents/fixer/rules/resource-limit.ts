import { clamp, describeProcess, median, processName, round, type Candidate, type Facts, type Signal } from '../facts.js';
import type { Culprit } from '../../findings.js';

/** Share of a limit in use past which the limit is what the host is hitting. */
const AT_LIMIT = 0.9;

/**
 * A process hitting a per-process or system limit: open files, processes/threads, ulimits.
 * The error phrases are absolute (printed only when the limit was hit), so they count whether
 * they began before the run or during it.
 */
export function resourceLimit(f: Facts): Candidate {
  const signals: Signal[] = [];
  let culprit: Culprit | null = null;

  const incident = f.incidentSamples().flatMap((s) => (s.limits ? [s.limits] : []));
  if (incident.length) {
    const files = median(incident.map((l) => l.files_open / l.files_max));
    const tasks = median(incident.map((l) => l.tasks / l.tasks_max));
    if (files >= AT_LIMIT) signals.push({ weight: 0.7, primary: true, strength: clamp((files - 0.85) / 0.12), ref: { kind: 'limit', ref: 'limit:files', detail: `${round(files * 100)}% of the system's open-file limit (fs.file-max) in use` } });
    if (tasks >= AT_LIMIT) signals.push({ weight: 0.7, primary: true, strength: clamp((tasks - 0.85) / 0.12), ref: { kind: 'limit', ref: 'limit:tasks', detail: `${round(tasks * 100)}% of the system's process/thread limit in use` } });
  }

  const pressed = f.evidence.snapshot?.fd_pressure ?? [];
  const top = pressed[0];
  if (top && top.open_fds >= 0.95 * top.limit) {
    const name = processName(top);
    culprit = { kind: 'process', name, pid: top.pid, ...(top.exe ? { exe: top.exe } : {}), detail: `${describeProcess({ name, comm: top.comm, ...(top.exe ? { exe: top.exe } : {}) })} holds ${top.open_fds} open files of its limit of ${top.limit} (RLIMIT_NOFILE)` };
    signals.push({ weight: 0.6, primary: true, strength: clamp(top.open_fds / top.limit), ref: { kind: 'process', ref: `process:${name}:${top.pid}:fds`, detail: culprit.detail ?? '' } });
  }

  const emfile = f.signatureSignal('too_many_open_files', 0.7, true, { absolute: true, minCount: 2 });
  const nproc = f.signatureSignal('process_limit', 0.7, true, { absolute: true, minCount: 2 });
  signals.push(...emfile, ...nproc);
  // Who printed it: the service whose log the lines came from.
  if (!culprit && (emfile.length || nproc.length)) {
    const hit = f.signature(emfile.length ? 'too_many_open_files' : 'process_limit')!;
    for (const stream of hit.streams) {
      const svc = f.serviceOfStream(stream);
      if (!svc) continue;
      culprit = {
        kind: 'process',
        name: svc.argv0 ? processName({ comm: svc.name, argv0: svc.argv0 }) : svc.name,
        ...(svc.pids[0] ? { pid: svc.pids[0] } : {}),
        ...(svc.exe ? { exe: svc.exe } : {}),
        detail: `service ${svc.name}${svc.ports.length ? ` (port ${svc.ports.join(', ')})` : ''} logs: ${hit.example.slice(0, 160)}`,
      };
      break;
    }
  }
  // A failed allocation with memory to spare points at a limit rather than at exhaustion.
  signals.push(...f.signatureSignal('out_of_memory', 0.2, false));
  return { category: 'resource_limit', signals, culprit };
}
