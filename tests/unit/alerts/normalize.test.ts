import { fromAlertmanager, fromGeneric, resolvePointer } from '../../../src/alerts/normalize.js';
import { hostOf, matchTarget } from '../../../src/alerts/match-target.js';
import { AlertmanagerWebhook, GenericAlertMapping } from '../../../src/alerts/schema.js';
import { InputError } from '../../../src/errors.js';
import { alertmanagerPayload } from '../../fixtures/alert-payloads.js';

describe('Alertmanager webhook payloads', () => {
  it('when a version 4 payload arrives, then each alert keeps its fingerprint, instance, runbook and start, and a firing alert has no resolution time', () => {
    const [alert] = fromAlertmanager(AlertmanagerWebhook.parse(alertmanagerPayload()), 'instance');
    expect(alert).toEqual({
      source: 'alertmanager',
      status: 'firing',
      name: 'HostCpuBusy',
      fingerprint: 'a1b2c3d4e5f60718',
      instance: '10.213.7.2:9100',
      labels: { alertname: 'HostCpuBusy', instance: '10.213.7.2:9100', job: 'node', severity: 'page' },
      runbook_url: 'https://runbooks.example.com/cpu',
      fired_at: '2026-12-01T00:10:00.123Z',
      resolved_at: null,
    });
  });

  it('when the alert is resolved, then its endsAt is the resolution time', () => {
    const [alert] = fromAlertmanager(AlertmanagerWebhook.parse(alertmanagerPayload({ status: 'resolved' })), 'instance');
    expect(alert).toMatchObject({ status: 'resolved', resolved_at: '2026-12-01T00:12:00.000Z' });
  });

  it('when another payload version or no alerts arrive, then validation names the field', () => {
    const wrongVersion = AlertmanagerWebhook.safeParse({ ...alertmanagerPayload(), version: '3' });
    expect(wrongVersion.success).toBe(false);
    expect(wrongVersion.error?.issues[0]).toMatchObject({ path: ['version'], message: expect.stringContaining('version 4') });
    const empty = AlertmanagerWebhook.safeParse({ ...alertmanagerPayload(), alerts: [] });
    expect(empty.error?.issues[0]?.path).toEqual(['alerts']);
  });

  it('when a configured label names the host, then that label is the instance', () => {
    const payload = alertmanagerPayload();
    const labels: Record<string, string> = { ...payload.alerts[0]!.labels, host: 'sandbox' };
    expect(fromAlertmanager(AlertmanagerWebhook.parse({ ...payload, alerts: [{ ...payload.alerts[0]!, labels }] }), 'host')[0]?.instance).toBe('sandbox');
  });
});

describe('generic webhooks through a mapping', () => {
  const mapping = GenericAlertMapping.parse({ alerts: '/incidents', name: '/title', instance: '/tags/host', status: '/state', fingerprint: '/id', runbook_url: '/links/runbook' });

  it('when the mapping points at each field, then alerts are read from there and statuses are recognised case-insensitively', () => {
    const alerts = fromGeneric(
      {
        incidents: [
          { id: 42, title: 'Disk almost full', tags: { host: 'web-1' }, state: 'TRIGGERED', links: { runbook: 'https://wiki/disk' } },
          { id: 'x7', title: 'Latency', tags: { host: '10.0.0.5:443' }, state: 'resolved' },
        ],
      },
      mapping,
    );
    expect(alerts.map((a) => [a.status, a.name, a.fingerprint, a.instance, a.runbook_url])).toEqual([
      ['firing', 'Disk almost full', '42', 'web-1', 'https://wiki/disk'],
      ['resolved', 'Latency', 'x7', '10.0.0.5:443', null],
    ]);
  });

  it('when a required field is missing or the status is unknown, then the error names the alert and the pointer', () => {
    expect(() => fromGeneric({ incidents: [{ id: 1, state: 'firing', tags: {} }] }, mapping)).toThrow(new InputError('alert 0: /title is missing'));
    expect(() => fromGeneric({ incidents: [{ id: 1, title: 't', state: 'maybe' }] }, mapping)).toThrow(/status "maybe" is neither firing/);
    expect(() => fromGeneric({ incidents: {} }, mapping)).toThrow(/\/incidents must point to an array/);
  });

  it('when no fingerprint pointer is given, then name and instance identify the alert', () => {
    const single = GenericAlertMapping.parse({ name: '/n', instance: '/i', status: '/s' });
    const [a] = fromGeneric({ n: 'CPU', i: 'web-1', s: 'firing' }, single);
    const [b] = fromGeneric({ n: 'CPU', i: 'web-1', s: 'firing' }, single);
    const [c] = fromGeneric({ n: 'CPU', i: 'web-2', s: 'firing' }, single);
    expect(a!.fingerprint).toBe(b!.fingerprint);
    expect(a!.fingerprint).not.toBe(c!.fingerprint);
  });

  it('when a pointer escapes / and ~ or indexes an array, then it reads RFC 6901 paths and never inherited properties', () => {
    expect(resolvePointer({ 'a/b': { '~c': [1, 2] } }, '/a~1b/~0c/1')).toBe(2);
    expect(resolvePointer({}, '/constructor')).toBeUndefined();
    expect(resolvePointer([1], '/01')).toBeUndefined();
    expect(GenericAlertMapping.safeParse({ name: 'title', instance: '/i', status: '/s' }).success).toBe(false);
  });
});

describe('matching an alert to an enrolled target', () => {
  const targets = [
    { name: 'sandbox', host: '10.213.7.2' },
    { name: 'web-1', host: 'web-1.example.com' },
  ];

  it('when the instance is host:port, a bare host, a target name or an IPv6 literal, then the port is ignored and the host matched', () => {
    expect(matchTarget('10.213.7.2:9100', targets, 'instance')).toEqual({ ok: true, target: 'sandbox' });
    expect(matchTarget('WEB-1.example.com.', targets, 'instance')).toEqual({ ok: true, target: 'web-1' });
    expect(matchTarget('sandbox', targets, 'instance')).toEqual({ ok: true, target: 'sandbox' });
    expect(hostOf('[fd00::5]:9100')).toBe('fd00::5');
    expect(hostOf('fd00::5')).toBe('fd00::5');
  });

  it('when nothing or two targets match, or the label is missing, then the reason says so', () => {
    expect(matchTarget('10.9.9.9:9100', targets, 'instance')).toEqual({ ok: false, reason: 'instance "10.9.9.9:9100" is not an enrolled target (enrolled: sandbox, web-1)' });
    expect(matchTarget(null, targets, 'host')).toEqual({ ok: false, reason: 'the alert has no host label: nothing says which host it is about' });
    expect(matchTarget('10.213.7.2', [...targets, { name: 'sandbox-2', host: '10.213.7.2' }], 'instance')).toMatchObject({ ok: false, reason: expect.stringContaining('matches 2 enrolled targets') });
  });
});
