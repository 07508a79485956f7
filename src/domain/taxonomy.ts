/**
 * The words every layer shares: which scenarios exist and which root causes a diagnosis may name
 * (SPEC §2, §3). The ground floor: imports nothing of the project.
 */
import { z } from 'zod';

export const ScenarioName = z.enum([
  'cpu_spike',
  'memory_leak',
  'disk_fill',
  'net_latency',
  'service_kill',
  'db_conn_exhaust',
  'investigate',
]);
export type ScenarioName = z.infer<typeof ScenarioName>;
export const SCENARIOS = ScenarioName.options;

export const RootCauseCategory = z.enum([
  'cpu_saturation',
  'memory_pressure',
  'disk_full',
  'network_degradation',
  'service_down',
  'db_connection_exhaustion',
  /** A process hitting a per-process or system limit: open files, processes/threads, ulimits. */
  'resource_limit',
  'healthy',
  'unknown',
]);
export type RootCauseCategory = z.infer<typeof RootCauseCategory>;
