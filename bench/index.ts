/**
 * `npm run bench`: every benchmark, each printing its own figures.
 *   --only <name>      run one: offline | loghub | miner | status | ssh | timings | watch | experiments | load-rate | selftest
 *                      (ssh, timings, watch, experiments and load-rate need the sandbox: npm run sandbox:up)
 *   --miner-mb <n>     size of the synthetic log for the miner benchmark (default 1024)
 *   --rounds <n>       rounds of the offline pipeline benchmark (default 5)
 *   timings            MTTD and MTTR of each sandbox scenario (needs the sandbox); --approve pre-approves
 *                      each run's remediation so that MTTR is measured
 *   watch              watch mode's MTTD for each of the six sandbox faults (needs the sandbox; run it under the live lock)
 *   load-rate          open-model load at 200 requests/s on the sandbox victim, healthy then under cpu_spike:
 *                      the rate kept (goal: within 5 %) and latency from the scheduled time (live lock)
 *   --selftest-incidents <n>  offline incidents per fault kind in the self-test benchmark (default 50)
 */
import { parseArgs } from 'node:util';
import { runLoghubBench } from './loghub.js';
import { runMinerThroughputBench } from './miner-throughput.js';
import { runOfflinePipelineBench } from './offline-pipeline.js';
import { runSelfTestBench } from './selftest.js';
import { runSshPipelineBench } from './ssh-pipeline.js';
import { runExperimentsBench } from './experiments.js';
import { runLoadRateBench } from './load-rate.js';
import { runStatusLatencyBench } from './status-latency.js';
import { runTimingsBench } from './timings.js';
import { runWatchMttdBench } from './watch-mttd.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    'miner-mb': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '5' },
    approve: { type: 'boolean', default: false },
    'selftest-incidents': { type: 'string', default: '50' },
  },
});

const benches: Record<string, () => Promise<unknown>> = {
  offline: () => runOfflinePipelineBench(console.log, Number(values.rounds)),
  loghub: () => runLoghubBench(console.log),
  miner: () => runMinerThroughputBench(console.log, { sizeMb: Number(values['miner-mb']) }),
  status: () => runStatusLatencyBench(console.log),
  ssh: () => runSshPipelineBench(console.log),
  timings: () => runTimingsBench(console.log, { approve: values.approve }),
  watch: () => runWatchMttdBench(console.log),
  experiments: () => runExperimentsBench(console.log),
  'load-rate': () => runLoadRateBench(console.log),
  selftest: () => runSelfTestBench(console.log, { incidentsPerKind: Number(values['selftest-incidents']) }),
};

const chosen = values.only ? [values.only] : Object.keys(benches);
for (const name of chosen) {
  const bench = benches[name];
  if (!bench) {
    console.error(`unknown benchmark ${JSON.stringify(name)}: one of ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n== ${name}`);
  await bench();
}
