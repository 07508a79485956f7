import type { RemedyAction, RemedyRisk } from '../domain/index.js';
import { CHAOS_SCRIPTS_DIR } from '../ssh/quote.js';

/** One kind of fix the coordinator can apply: a fixed host script and what it risks. */
export type RemedyKind = {
  script: string;
  risk: RemedyRisk;
  /** What the step does, for the approver. */
  label: string;
  /** What its rollback does (or why there is none). */
  rollback: string;
  /** The plan pins the process identity (pid:starttime) when it is proposed. */
  pins: boolean;
};

const dir = `${CHAOS_SCRIPTS_DIR}remediate/`;

/**
 * The catalogue (chaos-scripts/remediate/). Risk: deleting data is high (its own approval);
 * ending processes or sessions and restarting services is medium; removing a shaping qdisc or
 * raising a limit is low.
 */
export const REMEDIES: Record<RemedyAction, RemedyKind> = {
  stop_process: {
    script: `${dir}stop_process.sh`,
    risk: 'medium',
    label: 'stop the process (SIGTERM, SIGKILL after 5 s) after re-checking its name and start time',
    rollback: 'none automatically: a stopped process cannot be resumed; its command line is in the step output',
    pins: true,
  },
  restart_service: {
    script: `${dir}restart_service.sh`,
    risk: 'medium',
    label: 'start the service (restart it when it runs): systemd, or the pid-file contract',
    rollback: 'stop the service again if it was down before the fix',
    pins: false,
  },
  free_path: {
    script: `${dir}free_path.sh`,
    risk: 'high',
    label: 'delete the named files, largest first, only regular files inside the allowed roots on that filesystem',
    rollback: 'none: deleted files cannot be restored',
    pins: false,
  },
  terminate_db_backends: {
    script: `${dir}terminate_db_backends.sh`,
    risk: 'medium',
    label: "terminate the application's PostgreSQL sessions (pg_terminate_backend), never a superuser's",
    rollback: 'none: terminated sessions are gone; clients reconnect on their own',
    pins: false,
  },
  remove_qdisc: {
    script: `${dir}remove_qdisc.sh`,
    risk: 'low',
    label: 'remove the root qdisc tree of the interface while the attributed qdisc is still in it',
    rollback: 'none automatically: the removed tree is printed in the step output, for a person to re-add',
    pins: false,
  },
  raise_limit: {
    script: `${dir}raise_limit.sh`,
    risk: 'low',
    label: 'raise the open-files limit of the running process in place (prlimit)',
    rollback: 'restore the old limits recorded before the change',
    pins: true,
  },
};

export const REMEDY_SCRIPTS: readonly string[] = Object.values(REMEDIES).map((r) => r.script);
