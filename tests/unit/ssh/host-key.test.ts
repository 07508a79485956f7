import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InputError, NotAllowedError } from '../../../src/errors.js';
import { HostKeyMismatchError } from '../../../src/ssh/errors.js';
import {
  blobKeyType,
  createHostKeyVerifier,
  fingerprintSha256,
  formatPublicKeyLine,
  hostKeyAlgorithms,
  parseKnownHosts,
  parsePublicKeyLine,
} from '../../../src/ssh/host-key.js';

const dir = mkdtempSync(path.join(tmpdir(), 'chaos-hostkey-'));

function keygen(name: string, type: 'ed25519' | 'ecdsa' | 'rsa'): { line: string; fingerprint: string } {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-C', `${name}@test`, '-f', file]);
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1] ?? '';
  return { line: readFileSync(`${file}.pub`, 'utf8').trim(), fingerprint };
}

const ed = keygen('ed', 'ed25519');
const ed2 = keygen('ed2', 'ed25519');
const ecdsa = keygen('ec', 'ecdsa');
const rsa = keygen('rsa', 'rsa');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parsePublicKeyLine and fingerprints', () => {
  it.each([
    ['ed25519', ed],
    ['ecdsa', ecdsa],
    ['rsa', rsa],
  ])('when a real %s public key is parsed, then its fingerprint equals ssh-keygen -l', (_type, key) => {
    const parsed = parsePublicKeyLine(key.line);
    expect(parsed.type).toBe(key.line.split(' ')[0]);
    expect(blobKeyType(parsed.blob)).toBe(parsed.type);
    expect(fingerprintSha256(parsed.blob)).toBe(key.fingerprint);
    expect(formatPublicKeyLine(parsed)).toBe(key.line.split(' ').slice(0, 2).join(' '));
  });

  it('when the declared type differs from the blob, then the line is refused', () => {
    const blob = ed.line.split(' ')[1];
    expect(() => parsePublicKeyLine(`ssh-rsa ${blob}`)).toThrow(InputError);
  });

  it.each(['', 'ssh-ed25519', 'ssh-ed25519 not*base64', 'ssh-ed25519 AAAA'])('when the line is %j, then it is refused', (line) => {
    expect(() => parsePublicKeyLine(line)).toThrow(InputError);
  });
});

describe('parseKnownHosts', () => {
  const blob = (line: string): string => line.split(' ').slice(0, 2).join(' ');

  it('when entries name the host on port 22 and [host]:port, then only the ones for that port match', () => {
    const text = [
      '# comment',
      '',
      `web.example.com,203.0.113.10 ${blob(ed.line)}`,
      `[web.example.com]:2222 ${blob(ecdsa.line)}`,
      `other.example.com ${blob(rsa.line)}`,
      'garbage line',
    ].join('\n');
    expect(parseKnownHosts(text, 'web.example.com', 22).keys.map((k) => k.type)).toEqual(['ssh-ed25519']);
    expect(parseKnownHosts(text, 'WEB.example.com', 2222).keys.map((k) => k.type)).toEqual(['ecdsa-sha2-nistp256']);
    expect(parseKnownHosts(text, '203.0.113.10', 22).keys).toHaveLength(1);
    expect(parseKnownHosts(text, 'nope.example.com', 22).keys).toHaveLength(0);
  });

  it('when names are hashed by ssh-keygen -H, then they still match', () => {
    const file = path.join(dir, 'known_hosts_hashed');
    writeFileSync(file, `web.example.com ${blob(ed.line)}\n[web.example.com]:2222 ${blob(rsa.line)}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('web.example.com');
    expect(parseKnownHosts(text, 'web.example.com', 22).keys.map((k) => k.type)).toEqual(['ssh-ed25519']);
    expect(parseKnownHosts(text, 'web.example.com', 2222).keys.map((k) => k.type)).toEqual(['ssh-rsa']);
    expect(parseKnownHosts(text, 'web2.example.com', 22).keys).toHaveLength(0);
  });

  it('when patterns use wildcards and negation, then they match like OpenSSH', () => {
    const text = `*.example.com,!evil.example.com ${blob(ed.line)}\n10.0.0.? ${blob(ecdsa.line)}\n`;
    expect(parseKnownHosts(text, 'web.example.com', 22).keys).toHaveLength(1);
    expect(parseKnownHosts(text, 'evil.example.com', 22).keys).toHaveLength(0);
    expect(parseKnownHosts(text, '10.0.0.7', 22).keys).toHaveLength(1);
    expect(parseKnownHosts(text, '10.0.0.77', 22).keys).toHaveLength(0);
  });

  it('when a line is @revoked or @cert-authority, then it is reported as revoked or skipped', () => {
    const text = `@revoked web.example.com ${blob(ed.line)}\n@cert-authority *.example.com ${blob(rsa.line)}\n`;
    const match = parseKnownHosts(text, 'web.example.com', 22);
    expect(match.keys).toHaveLength(0);
    expect(match.revoked.map((k) => k.type)).toEqual(['ssh-ed25519']);
  });
});

describe('createHostKeyVerifier', () => {
  const trusted = parsePublicKeyLine(ed.line);
  const presented = (line: string): Buffer => parsePublicKeyLine(line).blob;

  it('when the presented key equals an enrolled key, then it is accepted and not marked learned', () => {
    const v = createHostKeyVerifier({ host: 'h', port: 22, trusted: [trusted] });
    expect(v.verify(presented(ed.line))).toBe(true);
    expect(v.decision()).toMatchObject({ ok: true, learned: false, fingerprint: ed.fingerprint });
  });

  it('when the presented key differs, then it is refused with the presented key fingerprint', () => {
    const v = createHostKeyVerifier({ host: 'h', port: 2222, trusted: [trusted] });
    expect(v.verify(presented(ed2.line))).toBe(false);
    const decision = v.decision();
    expect(decision?.ok).toBe(false);
    const error = decision && !decision.ok ? decision.error : undefined;
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect(error).toBeInstanceOf(NotAllowedError);
    expect(error).toMatchObject({ host: 'h', port: 2222, keyType: 'ssh-ed25519', fingerprint: ed2.fingerprint, reason: 'mismatch' });
    expect(error?.message).toContain(ed2.fingerprint);
  });

  it('when a key of another type is presented, then it is refused even if same-length bytes', () => {
    const v = createHostKeyVerifier({ host: 'h', port: 22, trusted: [trusted] });
    expect(v.verify(presented(ecdsa.line))).toBe(false);
  });

  it('when nothing is enrolled, then the key is refused as unknown unless trust-on-first-use is on', () => {
    const strict = createHostKeyVerifier({ host: 'h', port: 22, trusted: [] });
    expect(strict.verify(presented(ed.line))).toBe(false);
    expect(strict.decision()).toMatchObject({ ok: false, error: { reason: 'unknown' } });

    const tofu = createHostKeyVerifier({ host: 'h', port: 22, trusted: [], trustOnFirstUse: true });
    expect(tofu.verify(presented(ed.line))).toBe(true);
    expect(tofu.decision()).toMatchObject({ ok: true, learned: true, key: { type: 'ssh-ed25519' } });
  });

  it('when trust-on-first-use is on but a key is enrolled, then a different key is still refused', () => {
    const v = createHostKeyVerifier({ host: 'h', port: 22, trusted: [trusted], trustOnFirstUse: true });
    expect(v.verify(presented(ed2.line))).toBe(false);
  });

  it('when the presented key is revoked, then it is refused even if also trusted', () => {
    const v = createHostKeyVerifier({ host: 'h', port: 22, trusted: [trusted], revoked: [trusted], trustOnFirstUse: true });
    expect(v.verify(presented(ed.line))).toBe(false);
    expect(v.decision()).toMatchObject({ ok: false, error: { reason: 'revoked' } });
  });

  it('when the presented blob is garbage, then it is refused', () => {
    const v = createHostKeyVerifier({ host: 'h', port: 22, trusted: [], trustOnFirstUse: true });
    expect(v.verify(Buffer.from([0, 0, 0]))).toBe(false);
  });
});

describe('hostKeyAlgorithms', () => {
  it('when keys are enrolled, then only algorithms for their types are offered', () => {
    expect(hostKeyAlgorithms([parsePublicKeyLine(rsa.line)])).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(hostKeyAlgorithms([parsePublicKeyLine(ed.line), parsePublicKeyLine(ecdsa.line)])).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
    expect(hostKeyAlgorithms([])).toBeUndefined();
  });
});
