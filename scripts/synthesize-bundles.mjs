#!/usr/bin/env node
// Writes the one synthetic evidence bundle in examples/: net_latency (recorded_from: "synthetic").
// Every other bundle there is a live recording from the sandbox host (`run --target sandbox
// --record`); this one cannot be, because the sandbox's kernel has no netem qdisc. It uses the
// formats a live recording has (samples shaped like the host sampler's /proc readings, syslog,
// PostgreSQL and access-log lines), with a seeded random walk so it is reproducible.
// Usage: node scripts/synthesize-bundles.mjs [outDir=examples]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const OUT = process.argv[2] ?? 'examples';
const T0 = Date.parse('2026-11-20T14:00:00Z');
const BASELINE_S = 20;
const INCIDENT_S = 30;
const MEM_TOTAL = 7940;
const CORES = 2;

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const iso = (ms) => new Date(ms).toISOString();
const r2 = (v) => Math.round(v * 100) / 100;
const syslogTime = (ms) => {
  const d = new Date(ms);
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  return `${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`;
};
const pgTime = (ms) => `${new Date(ms).toISOString().replace('T', ' ').slice(0, 23)} UTC`;
const accessTime = (ms) => {
  const d = new Date(ms);
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  return `${String(d.getUTCDate()).padStart(2, '0')}/${mon}/${d.getUTCFullYear()}:${d.toISOString().slice(11, 19)} +0000`;
};

/** The steady host every bundle starts from; `fault` bends it during the incident window. */
function build(name, fault, seed) {
  const rand = rng(seed);
  const jitter = (v, spread) => Math.max(0, v + (rand() - 0.5) * 2 * spread);
  const samples = [];
  const probes = [];
  const logs = { baseline: { syslog: [], 'victim-api': [], postgresql: [] }, incident: { syslog: [], 'victim-api': [], postgresql: [] } };
  const faultAt = T0 + (BASELINE_S + 2) * 1000;
  const total = BASELINE_S + 2 + INCIDENT_S;
  let load = 0.3;
  for (let i = 0; i < total; i++) {
    const ms = T0 + i * 1000;
    if (i >= BASELINE_S && i < BASELINE_S + 2) continue; // injecting: no sample
    const phase = i < BASELINE_S ? 'baseline' : 'incident';
    const k = phase === 'incident' ? i - BASELINE_S - 2 : -1; // seconds since the fault
    const s = {
      t: iso(ms),
      phase,
      cpu: { busy_pct: r2(jitter(7, 3)), iowait_pct: r2(jitter(0.4, 0.3)), steal_pct: 0, cores: CORES },
      load1: 0,
      mem: { total_mb: MEM_TOTAL, available_mb: 0, used_pct: 0, swap_used_mb: 0 },
      disks: [
        { mount: '/', device: '/dev/vda1', size_mb: 25_226, used_mb: r2(6_120 + i * 0.02), used_pct: 0 },
        { mount: '/tmp', device: 'tmpfs', size_mb: 1024, used_mb: r2(jitter(3, 0.2)), used_pct: 0 },
      ],
      net: [{ iface: 'eth0', rx_kbps: r2(jitter(24, 8)), tx_kbps: r2(jitter(31, 9)), rx_errs: 0, tx_errs: 0, rx_drop: 0, tx_drop: 0 }],
      top: [
        { pid: 812, comm: 'postgres', cpu_pct: r2(jitter(1.2, 0.8)), rss_mb: r2(jitter(31, 0.5)), args: 'postgres: 15/main: checkpointer' },
        { pid: 905, comm: 'python3', cpu_pct: r2(jitter(0.8, 0.5)), rss_mb: r2(jitter(24, 0.3)), args: 'python3 /opt/chaos-scripts/victim/victim_api.py --port 8080' },
        { pid: 641, comm: 'sshd', cpu_pct: r2(jitter(0.2, 0.2)), rss_mb: 9.4, args: 'sshd: sre-demo@notty' },
        { pid: 1, comm: 'systemd', cpu_pct: 0.1, rss_mb: 12.1, args: '/sbin/init' },
      ],
      db: { connections: 6, max_connections: 100, by_application: [{ application: 'victim-api', state: 'idle', count: 4 }, { application: '', state: 'active', count: 2 }] },
    };
    let used = jitter(1_450, 6);
    const http = { ok: true, latency_ms: r2(jitter(3.1, 1)), status: 200 };
    const db = { ok: true, latency_ms: r2(jitter(1.4, 0.4)) };
    const gateway = { ok: true, latency_ms: r2(jitter(0.09, 0.03)) };
    if (phase === 'incident') fault({ k, s, http, db, gateway, rand, jitter, ms, logs: logs.incident, usedRef: (v) => (used = v(used)) });
    load = load + (s.cpu.busy_pct / 100 * CORES - load) * 0.08;
    s.load1 = r2(Math.max(load, 0.02));
    s.mem.available_mb = r2(MEM_TOTAL - used);
    s.mem.used_pct = r2((100 * used) / MEM_TOTAL);
    for (const d of s.disks) d.used_pct = r2((100 * d.used_mb) / d.size_mb);
    samples.push(s);
    probes.push({ t: iso(ms + 200), phase, target: 'http', ok: http.ok, latency_ms: http.ok ? http.latency_ms : null, ...(http.status ? { status: http.status } : {}), ...(http.error ? { error: http.error } : {}) });
    probes.push({ t: iso(ms + 250), phase, target: 'db', ok: db.ok, latency_ms: db.ok ? db.latency_ms : null, ...(db.error ? { error: db.error } : {}) });
    probes.push({ t: iso(ms + 300), phase, target: 'gateway', ok: gateway.ok, latency_ms: gateway.ok ? gateway.latency_ms : null, ...(gateway.error ? { error: gateway.error } : {}) });

    // Steady log traffic: health checks, the odd cron run and ssh session, checkpoints.
    const L = logs[phase];
    if (http.ok) L['victim-api'].push(`10.213.7.1 - - [${accessTime(ms)}] "GET /health HTTP/1.1" ${http.status ?? 200} 43 "-" "chaos-handler-probe/1.0" ${Math.round(http.latency_ms)}ms`);
    if (i % 5 === 0) L['victim-api'].push(`10.213.7.1 - - [${accessTime(ms + 400)}] "GET /items?limit=${10 + (i % 3) * 10} HTTP/1.1" 200 ${900 + i * 7} "-" "curl/7.88.1" ${Math.round(jitter(6, 2))}ms`);
    if (i % 10 === 3) L.syslog.push(`${syslogTime(ms)} chsbx CRON[${3100 + i}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)`);
    if (i % 15 === 7) L.syslog.push(`${syslogTime(ms)} chsbx sshd[${2900 + i}]: Accepted publickey for sre-demo from 10.213.7.1 port ${40_000 + i * 13} ssh2: ED25519 SHA256:q3X9kFv0cXh1n8W2yT7bQ0m4pP5sL6dR8eZ1aB2cD3E`);
    if (i % 12 === 0) L.postgresql.push(`${pgTime(ms)} [812] LOG:  checkpoint complete: wrote ${3 + (i % 7)} buffers (0.0%); 0 WAL file(s) added, 0 removed, 0 recycled; write=0.${100 + i} s, sync=0.002 s, total=0.${110 + i} s`);
  }
  const dir = path.join(OUT, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'logs', 'baseline'), { recursive: true });
  mkdirSync(path.join(dir, 'logs', 'incident'), { recursive: true });
  const snapshot = {
    t: iso(T0 + (total - 1) * 1000 + 500),
    hostname: 'chsbx',
    kernel: '6.1.0-27-amd64',
    largest_files: [],
    services: [
      { name: 'victim-api', active: true, manager: 'pidfile', pid: 905 },
      { name: 'postgresql', active: true, manager: 'pidfile', pid: 812 },
    ],
    qdiscs: [{ iface: 'eth0', kind: 'noqueue', detail: 'qdisc noqueue 0: root refcnt 2' }],
    listeners: ['tcp 10.213.7.2:22 sshd', 'tcp 10.213.7.2:8080 python3', 'tcp 127.0.0.1:5432 postgres'],
  };
  fault.snapshot?.(snapshot);
  const manifest = {
    format_version: 1,
    label: name,
    host: 'sre-demo@chsbx (10.213.7.2)',
    recorded_from: 'synthetic',
    recorded_at: iso(T0 + total * 1000),
    windows: {
      baseline: { start: iso(T0), end: iso(T0 + (BASELINE_S - 1) * 1000) },
      incident: { start: iso(T0 + (BASELINE_S + 2) * 1000), end: iso(T0 + (total - 1) * 1000) },
    },
    fault_started_at: fault.none ? null : iso(faultAt),
    fault_reverted_at: null,
  };
  writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(path.join(dir, 'metrics.jsonl'), samples.map((s) => `${JSON.stringify(s)}\n`).join(''));
  writeFileSync(path.join(dir, 'probes.jsonl'), probes.map((p) => `${JSON.stringify(p)}\n`).join(''));
  writeFileSync(path.join(dir, 'snapshot.json'), `${JSON.stringify(snapshot, null, 2)}\n`);
  for (const phase of ['baseline', 'incident']) {
    for (const [stream, lines] of Object.entries(logs[phase])) {
      if (lines.length) writeFileSync(path.join(dir, 'logs', phase, `${stream}.log`), lines.map((l) => `${l}\n`).join(''));
    }
  }
}

const faults = {
  net_latency: Object.assign(
    ({ k, s, http, db, gateway, jitter, rand, ms, logs }) => {
      const lost = rand() < 0.05;
      http.latency_ms = r2(jitter(206, 8));
      db.latency_ms = r2(jitter(203, 6));
      gateway.latency_ms = r2(jitter(200.2, 2));
      if (lost) Object.assign(http, { ok: false, latency_ms: null, status: undefined, error: 'timed out after 2000 ms' });
      s.net[0].tx_drop = lost ? 3 : Math.round(rand() * 1.2);
      s.net[0].rx_kbps = r2(jitter(20, 6));
      if (k % 8 === 5) logs['victim-api'].push(`${new Date(ms).toISOString()} WARNING database query took ${Math.round(jitter(410, 30))}ms: SELECT id, name FROM items LIMIT 20`);
    },
    {
      snapshot: (snap) => {
        snap.qdiscs = [
          { iface: 'eth0', kind: 'prio', detail: 'qdisc prio 1: root refcnt 2 bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1' },
          { iface: 'eth0', kind: 'netem', detail: 'qdisc netem 30: parent 1:3 limit 1000 delay 200ms loss 5%' },
        ];
      },
    },
  ),

};

let seed = 11;
for (const [name, fault] of Object.entries(faults)) build(name, fault, seed++);
console.log(`wrote ${Object.keys(faults).join(', ')} to ${OUT}/`);
