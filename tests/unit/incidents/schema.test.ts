import { StartIncidentRequest } from '../../../src/incidents/schema.js';

const fields = (body: unknown) => {
  const parsed = StartIncidentRequest.safeParse(body);
  return parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.'));
};

describe('StartIncidentRequest', () => {
  it('when an offline request names only the scenario, then every option gets its default', () => {
    const parsed = StartIncidentRequest.parse({ scenario: 'cpu_spike', options: { offline: true } });
    expect(parsed.options).toMatchObject({ offline: true, duration: 60, load: 2, baseline_s: 10, observe_s: 20, max_runtime_s: 300 });
  });

  it('when a live request has no target, then target_vm is named as missing', () => {
    expect(fields({ scenario: 'cpu_spike' })).toEqual(['target_vm']);
  });

  it('when the scenario is unknown, then the scenario field is named', () => {
    expect(fields({ scenario: 'rm_rf', options: { offline: true } })).toEqual(['scenario']);
  });

  it('when an option does not belong to the scenario, then it is refused by name', () => {
    const parsed = StartIncidentRequest.safeParse({ scenario: 'cpu_spike', options: { offline: true, size_mb: 10 } });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain('size_mb');
  });

  it.each([
    [{ scenario: 'cpu_spike', options: { offline: true, duration: -1 } }, 'options.duration'],
    [{ scenario: 'cpu_spike', options: { offline: true, load: 'many' } }, 'options.load'],
    [{ scenario: 'disk_fill', options: { offline: true, path: '/tmp/../etc' } }, 'options.path'],
    [{ scenario: 'disk_fill', options: { offline: true, path: "/tmp/x'; rm -rf /" } }, 'options.path'],
    [{ scenario: 'net_latency', options: { offline: true, iface: 'eth0; reboot' } }, 'options.iface'],
    [{ scenario: 'service_kill', options: { offline: true, service_name: '$(id)' } }, 'options.service_name'],
    [{ scenario: 'db_conn_exhaust', options: { offline: true, conn_string: 'postgres://x y' } }, 'options.conn_string'],
    // A password would end up in the trace (options are traced) and in argv on the host.
    [{ scenario: 'db_conn_exhaust', options: { offline: true, conn_string: 'postgresql://app:s3cret@127.0.0.1:5432/app' } }, 'options.conn_string'],
    [{ scenario: 'cpu_spike', options: { offline: true, bundle: '../secrets' } }, 'options.bundle'],
    [{ scenario: 'cpu_spike', target_vm: { host: 'h', user: 'root;id' } }, 'target_vm.user'],
  ])('when the request is %j, then %s is named', (body, field) => {
    expect(fields(body)).toContain(field);
  });
});
