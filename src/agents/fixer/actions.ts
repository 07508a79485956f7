import type { Evidence } from '../../evidence/schema.js';
import type { RootCauseCategory } from '../../domain/index.js';
import { bashWord, visibleLine } from '../../evidence/sanitize.js';
import type { Culprit, Diagnosis, FixAction } from '../findings.js';

/**
 * What a human should run to end the incident, aimed at the culprit the evidence named. Every
 * value from the host (process names, paths, service names) is quoted as one bash word that
 * shows its control characters as escapes (bashWord): a host is attacker-controlled, and fix.sh
 * is meant to be read and then run by a person.
 */
export function planActions(category: RootCauseCategory, culprit: Culprit | null, evidence: Evidence): FixAction[] {
  switch (category) {
    case 'cpu_saturation':
    case 'memory_pressure':
      return culprit?.kind === 'process' ? processActions(culprit, category) : inspectActions();
    case 'disk_full':
      return culprit?.kind === 'mount' ? diskActions(culprit) : inspectActions();
    case 'network_degradation':
      return culprit?.kind === 'interface' ? networkActions(culprit, evidence) : inspectActions();
    case 'service_down':
      return culprit?.kind === 'service' ? serviceActions(culprit, evidence) : inspectActions();
    case 'db_connection_exhaustion':
      return culprit?.kind === 'db_application' ? databaseActions(culprit) : inspectActions();
    case 'resource_limit':
      return culprit?.kind === 'process' && culprit.pid ? limitActions(culprit) : inspectActions();
    case 'healthy':
      return [];
    case 'unknown':
      return inspectActions();
  }
}

function processActions(culprit: Culprit, category: RootCauseCategory): FixAction[] {
  const pids = pidsOf(culprit);
  // Re-check the name before signalling: the pid may have been reused since the evidence.
  const kill = pids.map((pid) => `if ${stillNamed(pid, culprit.name)}; then kill -TERM ${pid}; fi`).join('\n');
  return [
    {
      description: `Stop ${culprit.name} (${pids.length > 1 ? `pids ${pids.join(', ')}` : `pid ${pids[0]}`}), the process behind the ${category === 'cpu_saturation' ? 'CPU saturation' : 'memory growth'}.`,
      command: kill,
      rollback: `If ${culprit.name} is needed, start it again the way it is normally started (its command line is in the report), ideally with a ${category === 'cpu_saturation' ? 'CPU quota (systemd CPUQuota= or nice)' : 'memory limit (systemd MemoryMax=)'}.`,
      remedy: { action: 'stop_process', args: [culprit.name, ...pids.map(String)] },
    },
  ];
}

/**
 * A process at its open-files limit: look at what it holds, then raise its limit in place
 * (prlimit, no restart) so it can work again; the lasting fix is in its service definition.
 */
function limitActions(culprit: Culprit): FixAction[] {
  const pid = culprit.pid!;
  return [
    {
      description: `See what ${culprit.name} (pid ${pid}) holds open: a leak of descriptors shows as many entries of one kind.`,
      command: `ls -l /proc/${pid}/fd | awk '{print $NF}' | sed 's/[0-9]*]$/]/' | sort | uniq -c | sort -rn | head -n 20\ngrep -i 'open files' /proc/${pid}/limits`,
      rollback: 'Nothing to roll back: this only reads.',
    },
    {
      description: `Raise the open-files limit of ${culprit.name} (pid ${pid}) in place, without a restart, after checking the pid is still that process.`,
      command: `if ${stillNamed(pid, culprit.name)}; then prlimit --pid ${pid} --nofile=65536:65536; fi`,
      remedy: { action: 'raise_limit', args: [culprit.name, String(pid), '65536'] },
      rollback: `prlimit --pid ${pid} --nofile=<old soft>:<old hard> (the old values are in /proc/${pid}/limits before the change). Make it lasting with LimitNOFILE= in the unit or ulimit -n in its start script.`,
    },
  ];
}

/**
 * A bash test that pid is still the process the evidence named, for fix.sh to run right before
 * acting on it (the pid may have been reused). The same test as the host-side remedies
 * (chaos-scripts/remediate/lib.sh): argv[0] as ps shows it (`exec -a shop-indexer perl`), its
 * basename (`/opt/ledger/bin/ledger`), or the kernel's comm, which keeps 15 characters.
 */
export function stillNamed(pid: number, name: string): string {
  const word = bashWord(name);
  return `{ a=$(tr '\\0' '\\n' 2>/dev/null </proc/${pid}/cmdline | head -n 1); [ "$a" = ${word} ] || [ "\${a##*/}" = ${word} ]; } || [ "$(cat /proc/${pid}/comm 2>/dev/null)" = ${bashWord(name.slice(0, 15))} ]`;
}

/** The processes the evidence blamed (`pids`); culprits recorded before it existed list them in their detail. */
function pidsOf(culprit: Culprit): number[] {
  if (culprit.pids?.length) return culprit.pids.filter((n) => Number.isInteger(n) && n > 1);
  const listed = /pids ([\d, ]+)/.exec(culprit.detail ?? '')?.[1];
  const pids = listed ? listed.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 1) : [];
  if (!pids.length && culprit.pid && culprit.pid > 1) pids.push(culprit.pid);
  return pids;
}

/** Files smaller than this are not worth deleting to free a filesystem. */
const MIN_REMOVAL_MB = 1;

function diskActions(culprit: Culprit): FixAction[] {
  const files = (culprit.files ?? []).filter((f) => f.size_mb >= MIN_REMOVAL_MB);
  const actions: FixAction[] = [
    {
      description: `Check what fills ${culprit.name} before deleting anything.`,
      // `|| true`: head closing the pipe early must not fail the script under pipefail.
      command: `df -h ${bashWord(culprit.name)}\n{ du -xh --max-depth=2 ${bashWord(culprit.name)} 2>/dev/null | sort -rh | head -20; } || true`,
      rollback: 'Read-only: nothing to undo.',
    },
  ];
  if (files.length) {
    actions.push({
      description: `Remove the largest recently grown files on ${culprit.name} (${files.map((f) => `${f.path} ${f.size_mb} MB`).join(', ')}). Data loss: confirm they are disposable first.`,
      command: files.map((f) => `rm -f -- ${bashWord(f.path)}`).join('\n'),
      // Largest first: the host script stops once the filesystem is out of danger.
      remedy: { action: 'free_path', args: [culprit.name, ...[...files].sort((a, b) => b.size_mb - a.size_mb).map((f) => f.path)] },
      rollback: 'Deleted files cannot be restored: copy them elsewhere first if they might be needed.',
    });
  }
  return actions;
}

function networkActions(culprit: Culprit, evidence: Evidence): FixAction[] {
  const iface = bashWord(culprit.name);
  const qdisc = evidence.snapshot?.qdiscs.find((q) => q.iface === culprit.name && (q.kind === 'netem' || q.kind === 'tbf' || q.kind === 'prio'));
  if (qdisc) {
    return [
      {
        description: `Remove the traffic-shaping qdisc (${qdisc.kind}) on ${culprit.name} that adds delay or loss.`,
        command: `tc qdisc show dev ${iface}\ntc qdisc del dev ${iface} root`,
        rollback: `Re-add it if it was intended: tc qdisc add dev ${iface} root ${qdisc.kind} … (was: ${qdisc.detail.replace(/\n/g, ' ')})`,
        remedy: { action: 'remove_qdisc', args: [culprit.name, qdisc.kind] },
      },
    ];
  }
  return [
    {
      description: `Inspect ${culprit.name}: errors and drops rose on it.`,
      command: `ip -s link show dev ${iface}\ntc -s qdisc show dev ${iface}`,
      rollback: 'Read-only: nothing to undo.',
    },
  ];
}

function serviceActions(culprit: Culprit, evidence: Evidence): FixAction[] {
  const name = bashWord(culprit.name);
  const state = evidence.snapshot?.services.find((s) => s.name === culprit.name);
  const systemd = state?.manager !== 'pidfile';
  return [
    {
      description: `Start ${culprit.name} again and check it answers.`,
      command: systemd
        ? `systemctl start ${name}\nsystemctl --no-pager status ${name}`
        : `/etc/chaos-handler/services/${safeName(culprit.name)}.sh start\n/etc/chaos-handler/services/${safeName(culprit.name)}.sh status`,
      rollback: systemd ? `systemctl stop ${name}` : `/etc/chaos-handler/services/${safeName(culprit.name)}.sh stop`,
      remedy: { action: 'restart_service', args: [culprit.name] },
    },
  ];
}

function databaseActions(culprit: Culprit): FixAction[] {
  const literal = `'${culprit.name.replaceAll("'", "''")}'`;
  const list = `SELECT pid, usename, application_name, state, backend_start FROM pg_stat_activity WHERE application_name = ${literal};`;
  // Every session of that application, busy or idle, but never a superuser's (the remediation
  // script runs the same statement).
  const terminate = `SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid WHERE a.application_name = ${literal} AND NOT r.rolsuper AND a.pid <> pg_backend_pid();`;
  return [
    {
      description: `See the connections held by ${culprit.name}.`,
      command: `sudo -u postgres psql -X -c ${bashWord(list)}`,
      rollback: 'Read-only: nothing to undo.',
    },
    {
      description: `Terminate ${culprit.name}'s connections (never a superuser's) so other clients can connect; then fix its pool size (or set a per-role CONNECTION LIMIT).`,
      command: `sudo -u postgres psql -X -c ${bashWord(terminate)}`,
      rollback: 'Terminated sessions are gone; clients reconnect on their own. Nothing else to undo.',
      remedy: { action: 'terminate_db_backends', args: [culprit.name] },
    },
  ];
}

function inspectActions(): FixAction[] {
  return [
    {
      description: 'Collect more evidence (read-only): the evidence did not point at one culprit.',
      command: [
        'uptime',
        'free -m',
        'df -h',
        'ps -eo pid,comm,%cpu,rss --sort=-%cpu | head -15',
        'dmesg -T 2>/dev/null | tail -50',
        'journalctl -p warning --since "-30min" --no-pager 2>/dev/null | tail -100',
      ].join('\n'),
      rollback: 'Read-only: nothing to undo.',
    },
  ];
}

/** Service names were validated by the evidence schema; keep only plain characters in paths. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9@._-]/g, '_');
}

/** fix.sh: commented, strict, and never executed by the coordinator. */
export function buildFixScript(incidentId: string, diagnosis: Diagnosis): string {
  const rc = diagnosis.root_cause;
  const lines = [
    '#!/usr/bin/env bash',
    `# fix.sh for incident ${incidentId}: REVIEW BEFORE RUNNING. Chaos-Handler never runs this itself.`,
    `# Diagnosis: ${rc.category} (confidence ${rc.confidence})${rc.culprit ? `; culprit ${rc.culprit.kind} ${oneLine(rc.culprit.name)}` : ''}`,
    `# ${oneLine(rc.summary)}`,
    '# Run it on the affected host as root, after reading every step.',
    'set -euo pipefail',
    '',
  ];
  if (!diagnosis.actions.length) {
    lines.push('# The host looked healthy: there is nothing to fix.', "echo 'Nothing to fix: the host was diagnosed healthy.'", 'exit 0', '');
    return lines.join('\n');
  }
  diagnosis.actions.forEach((action, i) => {
    lines.push(`# Step ${i + 1}: ${oneLine(action.description)}`);
    lines.push(`# Rollback: ${oneLine(action.rollback)}`);
    // The step Chaos-Handler can apply once approved runs a fixed host script with these arguments.
    if (action.remedy) lines.push(`# Applied by Chaos-Handler as: remediate/${action.remedy.action}.sh apply ${oneLine(action.remedy.args.map(bashWord).join(' '))}`);
    lines.push(`echo ${bashWord(`Step ${i + 1}: ${oneLine(action.description)}`)}`);
    lines.push(action.command, '');
  });
  return lines.join('\n');
}

/**
 * Comments must stay comments and show what they say: no newline from the host may end one early,
 * and no control or bidi character may make `cat fix.sh` show something else than what runs.
 */
function oneLine(text: string): string {
  return Array.from(visibleLine(text.replace(/[\r\n]+/g, ' '))).slice(0, 300).join('');
}
