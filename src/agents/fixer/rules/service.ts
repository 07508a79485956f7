import { clamp, processName, type Candidate, type Facts, type Signal } from '../facts.js';
import type { Culprit, MetricFindings } from '../../findings.js';

type ProbeFinding = MetricFindings['probes'][number];

/** Errors that mean nothing answered (or something answered badly), not a slow path or a full DB. */
const DOWN = /refused|reset|not listening|unreachable|connection aborted|EOF|closed|HTTP 5\d\d|status 5\d\d|No such file/i;
const NOT_DOWN = /too many (clients|connections)|remaining connection slots|time ?out|timed out/i;

export function service(f: Facts): Candidate {
  const signals: Signal[] = [];
  // Named by the best source there is: the owner of a failing probe's port, a port gone from
  // the reference, a service its manager says is down, and only then the probe's own name.
  // Declared wide: TypeScript cannot see the assignments inside `blame`.
  let culprit = null as Culprit | null;
  let unresolved = null as Culprit | null;
  const blame = (c: Culprit, resolved: boolean) => {
    if (resolved) culprit ??= c;
    else unresolved ??= c;
  };

  for (const p of f.metrics?.probes ?? []) {
    const down = downErrors(p);
    // Absolute: a probe that failed in every sample of the run is down, never "the baseline".
    if (p.total >= 3 && p.failed === p.total && down.share >= 0.5) {
      blame(...probeCulprit(f, p));
      signals.push({
        weight: 0.8,
        primary: true,
        strength: 0.6 + 0.4 * down.refusedShare,
        ref: { kind: 'probe', ref: `probe:${p.target}`, detail: `${p.target}: failed in all ${p.total} probes of the run: ${p.errors[0]?.error ?? 'no answer'}` },
      });
    } else if (p.baseline_ok_pct >= 80 && p.incident_ok_pct <= 70 && down.share >= 0.5) {
      // The change inside the run: it answered in the baseline and stopped answering.
      blame(...probeCulprit(f, p));
      signals.push({
        weight: 0.6,
        primary: true,
        // A refused connection means nothing listens; a 5xx means something answered.
        strength: clamp(((p.baseline_ok_pct - p.incident_ok_pct) / 60) * (0.3 + 0.7 * down.refusedShare)),
        ref: { kind: 'probe', ref: `probe:${p.target}`, detail: `${p.target} probe ${p.incident_ok_pct}% ok (baseline ${p.baseline_ok_pct}%): ${p.errors[0]?.error ?? ''}` },
      });
    }
  }

  // Against the known-good reference: a port that was served and is not any more.
  for (const l of f.missingListeners().slice(0, 5)) {
    const name = l.service ?? (l.comm || l.argv0 ? processName({ comm: l.comm ?? '', argv0: l.argv0 }) : `port ${l.port}`);
    blame({ kind: 'service', name, port: l.port, ...(l.exe ? { exe: l.exe } : {}), detail: `listened on ${l.address}:${l.port} in ${f.referenceLabel()}, not now` }, true);
    signals.push({ weight: 0.7, primary: true, strength: 1, ref: { kind: 'reference', ref: `reference:listener:${l.port}`, detail: `${name} listened on ${l.address}:${l.port} in ${f.referenceLabel()} and nothing listens there now` } });
  }

  const down = f.evidence.snapshot?.services.find((s) => !s.active);
  if (down) {
    blame({ kind: 'service', name: down.name, detail: `${down.manager}: inactive${down.detail ? ` (${down.detail})` : ''}` }, true);
    signals.push({ weight: 0.6, primary: true, strength: 1, ref: { kind: 'service', ref: `service:${down.name}`, detail: `${down.name} is not running (${down.manager}${down.detail ? `: ${down.detail}` : ''})` } });
  }

  culprit ??= unresolved;
  // Why it is down: the error lines its own log (or the service manager) printed.
  const errors = f.evidence.snapshot?.service_errors ?? [];
  const cited = (culprit ? errors.find((e) => e.service === culprit!.name) : undefined) ?? errors[0];
  if (cited && cited.lines.length) {
    const line = cited.lines.find((l) => /emerg|fatal|error|fail|invalid|unknown/i.test(l)) ?? cited.lines.at(-1)!;
    signals.push({ weight: 0.35, primary: false, strength: 1, ref: { kind: 'service', ref: `service:${cited.service}:errors`, detail: `${cited.service}: ${line.slice(0, 300)} (${cited.source})` } });
    if (culprit && culprit.name === cited.service) culprit = { ...culprit, detail: `${culprit.detail ?? ''}; ${cited.source}: ${line.slice(0, 200)}` };
  }
  signals.push(...f.signatureSignal('config_error', 0.35, false), ...f.signatureSignal('connection_refused', 0.3, false), ...f.signatureSignal('service_stopped', 0.3, false));
  return { category: 'service_down', signals, culprit };
}

function downErrors(p: ProbeFinding): { share: number; refusedShare: number } {
  const total = p.errors.reduce((n, e) => n + e.count, 0) || 1;
  const down = p.errors.filter((e) => !NOT_DOWN.test(e.error) && (DOWN.test(e.error) || p.kind === 'http')).reduce((n, e) => n + e.count, 0);
  const refused = p.errors.filter((e) => /refused|reset|not listening|unreachable/i.test(e.error)).reduce((n, e) => n + e.count, 0);
  return { share: down / total, refusedShare: refused / total };
}

/** The service behind a probe: whoever listens (or listened, at the reference) on its port. */
function probeCulprit(f: Facts, p: ProbeFinding): [Culprit, boolean] {
  const port = portOf(p.target);
  const owner = port === null ? null : f.ownerOfPort(port);
  const name = owner?.service ?? owner?.name ?? p.target;
  const culprit: Culprit = {
    kind: 'service',
    name,
    ...(port !== null ? { port } : {}),
    ...(owner?.pid ? { pid: owner.pid } : {}),
    ...(owner?.exe ? { exe: owner.exe } : {}),
    detail: `${p.target} fails: ${p.errors[0]?.error ?? 'no answer'}`,
  };
  return [culprit, owner !== null];
}

/** The port a probe target names: "http://h:8088/x", "tcp h:6543", "db u@h:5432/d". */
export function portOf(target: string): number | null {
  const url = /^(https?):\/\/(?:\[[^\]]+\]|[^/:]+)(?::(\d+))?/.exec(target);
  if (url) return url[2] ? Number(url[2]) : url[1] === 'https' ? 443 : 80;
  const hostPort = /^(?:tcp|db) (?:[^@\s]+@)?(?:\[[^\]]+\]|[^\s:/]+):(\d+)/.exec(target);
  return hostPort ? Number(hostPort[1]) : null;
}
