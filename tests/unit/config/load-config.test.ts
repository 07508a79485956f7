import { loadConfig } from '../../../src/config/index.js';

describe('loadConfig', () => {
  it('when nothing is set, then it listens on loopback with defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ CHAOS_PORT: 8080, CHAOS_BIND: '127.0.0.1', CHAOS_INCIDENTS_DIR: 'incidents', CHAOS_PDF: true });
  });

  it('when it binds beyond loopback without a token, then start-up fails naming CHAOS_API_TOKEN', () => {
    expect(() => loadConfig({ CHAOS_BIND: '0.0.0.0' })).toThrow(/CHAOS_API_TOKEN is required/);
  });

  it('when a variable is malformed, then the error names it', () => {
    expect(() => loadConfig({ CHAOS_PORT: 'eighty' })).toThrow(/CHAOS_PORT/);
    expect(() => loadConfig({ CHAOS_PDF: 'maybe' })).toThrow(/CHAOS_PDF/);
    expect(() => loadConfig({ CHAOS_SLACK_WEBHOOK_URL: 'ftp://x' })).toThrow(/CHAOS_SLACK_WEBHOOK_URL/);
  });

  it('when a token and a public bind are given, then both are accepted', () => {
    expect(loadConfig({ CHAOS_BIND: '0.0.0.0', CHAOS_API_TOKEN: 'a-long-enough-token' }).CHAOS_API_TOKEN).toBe('a-long-enough-token');
  });
});
