import { isForbiddenAddress, isForbiddenHost } from '../../../src/ssh/address-policy.js';

describe('address policy', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '0.0.0.0',
    '0.1.2.3',
    '169.254.169.254',
    '169.254.0.1',
    '100.100.100.200',
    '::1',
    '::',
    '0:0:0:0:0:0:0:1',
    'fe80::1',
    'fe80::1%eth0',
    'febf:ffff::1',
    'fd00:ec2::254',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '64:ff9b::169.254.169.254',
    'not-an-ip',
    '',
  ])('when the resolved address is %j, then it is forbidden', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(['203.0.113.10', '192.0.2.2', '10.0.0.5', '169.255.0.1', '126.255.255.255', '2001:db8::1', 'fec0::1', 'fd00:ec2::253', '::ffff:203.0.113.10'])(
    'when the resolved address is %j, then it is allowed',
    (address) => {
      expect(isForbiddenAddress(address)).toBe(false);
    },
  );

  it.each(['localhost', 'LocalHost.', 'x.localhost', 'ip6-localhost', 'metadata.google.internal', 'metadata', '[::1]', '127.0.0.1', ''])(
    'when the host as typed is %j, then it is forbidden',
    (host) => {
      expect(isForbiddenHost(host)).toBe(true);
    },
  );

  it.each(['droplet.example.com', 'localhost.example.com', '203.0.113.10', '2001:db8::1'])('when the host as typed is %j, then it is allowed before DNS', (host) => {
    expect(isForbiddenHost(host)).toBe(false);
  });
});
