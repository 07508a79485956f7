import { firstDb, probeArgs, probePlan } from '../../../src/evidence/probes.js';
import { expectArgs } from '../../../src/evidence/ssh/ssh-evidence-source.js';
import { healthyReference } from '../../fixtures/synthetic-host.js';

describe('what the collectors are asked to watch', () => {
  it('when a target enrolled probes and has a reference, then every listening port of the reference gets a TCP probe unless one already covers it', () => {
    const plan = probePlan({ http: 'http://127.0.0.1:8088/', db: ['postgresql://shopapp@127.0.0.1:6543/shop'] }, healthyReference());
    expect(plan).toEqual([
      { kind: 'http', spec: 'http://127.0.0.1:8088/' },
      { kind: 'db', spec: 'postgresql://shopapp@127.0.0.1:6543/shop' },
      { kind: 'tcp', spec: '127.0.0.1:2222' },
      { kind: 'tcp', spec: '127.0.0.1:7070' },
    ]);
    expect(probeArgs(plan.slice(0, 1))).toEqual(['--probe', 'http=http://127.0.0.1:8088/']);
    expect(firstDb({ db: ['postgresql://a@h:1/x', 'postgresql://b@h:2/y'] })).toBe('postgresql://a@h:1/x');
  });

  it('when listener probes are switched off or there is no reference, then only the enrolled probes run', () => {
    expect(probePlan({ tcp: ['10.0.0.5:6379'], listener_probes: false }, healthyReference())).toEqual([{ kind: 'tcp', spec: '10.0.0.5:6379' }]);
    expect(probePlan({}, null)).toEqual([]);
  });

  it('when the reference lists services, then the snapshot expects each with its ports and log files, leaving out what its syntax cannot carry', () => {
    const reference = healthyReference();
    reference.inventory.services.push({ name: 'odd name', manager: 'process', active: true, pids: [9], ports: [1], log_files: [] });
    reference.inventory.services[0]!.log_files.push('/srv/a,b.log', '/etc/passwd');
    expect(expectArgs(reference)).toEqual([
      '--expect',
      'nginx=8088:/srv/shop/logs/access.log,/srv/shop/logs/error.log',
      '--expect',
      'ledger=7070:/srv/ledger/log/ledger.log',
      '--expect',
      'postgresql=6543:/srv/pg/log/postgresql.log',
    ]);
    expect(expectArgs(null)).toEqual([]);
  });
});
