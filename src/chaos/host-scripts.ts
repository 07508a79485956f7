import type { ScenarioName } from '../domain/index.js';
import type { StartIncidentRequest } from '../incidents/schema.js';
import { CHAOS_SCRIPTS_DIR } from '../ssh/quote.js';

/** Scenarios that inject something (everything but `investigate`). */
export type FaultScenario = Exclude<ScenarioName, 'investigate'>;

/** Every program the coordinator may run on a host: fixed paths, nothing built from input. */
export const HOST_SCRIPTS = {
  cpu_spike: `${CHAOS_SCRIPTS_DIR}cpu_spike.sh`,
  memory_leak: `${CHAOS_SCRIPTS_DIR}memory_leak.sh`,
  disk_fill: `${CHAOS_SCRIPTS_DIR}disk_fill.sh`,
  net_latency: `${CHAOS_SCRIPTS_DIR}net_latency.sh`,
  service_kill: `${CHAOS_SCRIPTS_DIR}service_kill.sh`,
  db_conn_exhaust: `${CHAOS_SCRIPTS_DIR}db_conn_exhaust.sh`,
  cleanup_all: `${CHAOS_SCRIPTS_DIR}cleanup_all.sh`,
  sampler: `${CHAOS_SCRIPTS_DIR}collect/sampler.py`,
  logs: `${CHAOS_SCRIPTS_DIR}collect/logs.py`,
  snapshot: `${CHAOS_SCRIPTS_DIR}collect/snapshot.py`,
  discover: `${CHAOS_SCRIPTS_DIR}collect/discover.py`,
} as const;

export const ALLOWED_HOST_SCRIPTS: readonly string[] = Object.values(HOST_SCRIPTS);

export type ScenarioOptions = StartIncidentRequest['options'];

/**
 * The positional arguments of `<scenario>.sh start`, from options zod already validated
 * (numbers, enums, strict patterns). They are still quoted when the command is built.
 */
export function scenarioArgs(scenario: FaultScenario, options: ScenarioOptions, defaults: { db?: string }): string[] {
  const o = options as Record<string, unknown>;
  const s = (key: string) => String(o[key]);
  switch (scenario) {
    case 'cpu_spike':
      return [s('duration'), s('load')];
    case 'memory_leak':
      return [s('target_mb'), s('duration')];
    case 'disk_fill':
      return [s('size_mb'), s('path')];
    case 'net_latency':
      return [s('iface'), s('delay_ms'), String(Math.round(Number(o.loss_pct)))];
    case 'service_kill':
      return [s('service_name')];
    case 'db_conn_exhaust': {
      const conn = typeof o.conn_string === 'string' ? o.conn_string : defaults.db;
      if (!conn) throw new Error('db_conn_exhaust needs options.conn_string or a target with services.db enrolled');
      return [conn, s('clients')];
    }
  }
}

export function isFaultScenario(scenario: ScenarioName): scenario is FaultScenario {
  return scenario !== 'investigate';
}
