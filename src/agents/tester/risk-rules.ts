import type { RiskFinding, RiskLevel } from '../findings.js';

type Rule = { rule: string; severity: RiskLevel; pattern: RegExp; message: string; unless?: RegExp };

/** Paths where removing files is part of undoing chaos, not data loss. */
export const CHAOS_PATHS = /^(?:\/tmp\/chaos_fill(?:\/|$)|\/var\/tmp\/chaos_fill(?:\/|$))/;

/**
 * Static rules over each command line of fix.sh. Ordered most severe first; each line is
 * reported under every rule it breaks. Comments are ignored.
 */
const RULES: Rule[] = [
  { rule: 'kills-pid-1', severity: 'high', pattern: /\bkill\b[^#\n]*\s-?\d*\s*\b1\b(?!\d)|\bkill\s+(?:-\w+\s+)*1\s*(?:$|;)/, message: 'signals PID 1 (init): takes the whole host down' },
  { rule: 'stops-ssh', severity: 'high', pattern: /\b(?:kill|pkill|killall|systemctl\s+(?:stop|kill|restart|disable|mask))\b[^#\n]*\bsshd?\b/, message: 'stops or kills SSH: cuts off remote access to the host' },
  { rule: 'power', severity: 'high', pattern: /\b(?:reboot|shutdown|poweroff|halt|init\s+[06])\b/, message: 'reboots or powers off the host' },
  { rule: 'destroys-disk', severity: 'high', pattern: /\b(?:mkfs(?:\.\w+)?|wipefs|fdisk|parted)\b|\bdd\b[^#\n]*\bof=\/dev\//, message: 'rewrites a disk or partition table' },
  { rule: 'pipes-download-to-shell', severity: 'high', pattern: /\b(?:curl|wget)\b[^#\n]*\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b/, message: 'runs code downloaded at fix time' },
  { rule: 'recursive-delete', severity: 'high', pattern: /\brm\s+(?:-\w*[rR]\w*|--recursive)\b/, message: 'recursively deletes outside the chaos paths: data loss', unless: /\brm\s+[^#\n]*\s\/(?:tmp|var\/tmp)\/chaos_fill(?:\/[^\s'"]*)?['"]?\s*$/ },
  { rule: 'deletes-files', severity: 'medium', pattern: /\brm\s/, message: 'deletes files: data loss if they were needed' },
  { rule: 'drops-db-sessions', severity: 'medium', pattern: /pg_terminate_backend|pg_cancel_backend/, message: 'terminates database sessions: in-flight work of those clients is lost' },
  { rule: 'service-downtime', severity: 'medium', pattern: /\bsystemctl\s+(?:stop|restart|kill)\b|\.sh\s+(?:stop|restart)\b|\bservice\s+\S+\s+(?:stop|restart)\b/, message: 'stops or restarts a service: downtime while it comes back' },
  { rule: 'kills-process', severity: 'medium', pattern: /\b(?:kill|pkill|killall)\b/, message: 'kills a process: its in-flight work is lost' },
  { rule: 'changes-network', severity: 'low', pattern: /\btc\s+qdisc\s+(?:del|add|replace|change)\b|\bip\s+link\s+set\b|\biptables\b|\bnft\b/, message: 'changes traffic control or interfaces: may briefly affect traffic' },
  { rule: 'starts-service', severity: 'low', pattern: /\bsystemctl\s+start\b|\.sh\s+start\b/, message: 'starts a service' },
];

const RANK: Record<RiskLevel, number> = { low: 0, medium: 1, high: 2 };

export function assessRisk(script: string): { risk: RiskLevel; findings: RiskFinding[] } {
  const findings: RiskFinding[] = [];
  script.split('\n').forEach((raw, index) => {
    const text = raw.trim();
    if (text === '' || text.startsWith('#') || /^echo\s/.test(text)) return;
    for (const rule of RULES) {
      if (!rule.pattern.test(text)) continue;
      if (rule.unless?.test(text)) continue;
      if (rule.rule === 'deletes-files' && isChaosPathRemoval(text)) continue;
      findings.push({ rule: rule.rule, line: index + 1, severity: rule.severity, message: rule.message, text: text.slice(0, 200) });
    }
  });
  const risk = findings.reduce<RiskLevel>((max, f) => (RANK[f.severity] > RANK[max] ? f.severity : max), 'low');
  return { risk, findings };
}

function isChaosPathRemoval(line: string): boolean {
  const target = /\brm\s+(?:-\w+\s+)*(?:--\s+)?'?([^'\s]+)'?\s*$/.exec(line)?.[1];
  return target !== undefined && CHAOS_PATHS.test(target);
}
