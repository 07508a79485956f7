import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { dashboardStaticDir } from '../../../src/dashboard/static-dir.js';
import { REPO_ROOT } from '../../fixtures/paths.js';
import { startTestServer, type TestServer } from '../../fixtures/coordinator.js';

const STATIC_DIR = path.join(REPO_ROOT, 'src', 'dashboard', 'static');

describe('dashboard and /docs static files', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ CHAOS_API_TOKEN: 'dashboard-token-0123456789' });
  });
  afterAll(() => server?.stop());

  it('when a browser asks for /, then the page comes with a strict CSP and no inline script', async () => {
    const res = await fetch(`${server.url}/`, { headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    // Every script is a file; no inline style either (style-src has no 'unsafe-inline').
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\ssrc="\/dashboard\/[a-z-]+\.js"/);
    expect(html).not.toMatch(/<style\b|\sstyle="|\son[a-z]+="/i);
  });

  it('when an API client asks for / without wanting HTML, then it gets the API\'s 404 with a hint', async () => {
    const res = await fetch(`${server.url}/`, { headers: { Authorization: 'Bearer dashboard-token-0123456789' } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/dashboard is served to browsers/);
  });

  it('when the API has a token, then the page and its assets are public while the API still needs the token', async () => {
    for (const asset of ['/dashboard/app.js', '/dashboard/style.css', '/dashboard/favicon.svg', '/docs/', '/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css']) {
      const res = await fetch(`${server.url}${asset}`);
      expect([asset, res.status]).toEqual([asset, 200]);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    }
    expect((await fetch(`${server.url}/dashboard/app.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${server.url}/incidents`)).status).toBe(401);
    expect((await fetch(`${server.url}/openapi.json`)).status).toBe(401);
  });

  it('when a path tries to leave the static folders or names a file not served, then 404', async () => {
    for (const asset of ['/dashboard/..%2F..%2F..%2Fpackage.json', '/dashboard/%2e%2e/static-dir.ts', '/dashboard/', '/docs/assets/index.html', '/docs/assets/swagger-initializer.js', '/docs/assets/package.json']) {
      const res = await fetch(`${server.url}${asset}`, { headers: { Authorization: 'Bearer dashboard-token-0123456789' } });
      expect([asset, res.status]).toEqual([asset, 404]);
    }
  });

  it('when /docs is fetched without its slash, then it redirects to /docs/', async () => {
    const res = await fetch(`${server.url}/docs`, { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/docs/');
  });

  it('when the dashboard scripts are read, then none of them parses HTML from strings', async () => {
    const files = (await readdir(STATIC_DIR)).filter((f) => f.endsWith('.js'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const source = await readFile(path.join(STATIC_DIR, file), 'utf8');
      expect([file, /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(/.test(source)]).toEqual([file, false]);
    }
  });
});

describe('dashboardStaticDir', () => {
  it('when the module runs from src/ (ts-jest), then the folder next to it is used', () => {
    expect(dashboardStaticDir()).toBe(`${STATIC_DIR}${path.sep}`);
  });

  it('when the module runs compiled from dist/src/dashboard/, then it finds src/dashboard/static', () => {
    const compiled = pathToFileURL(path.join(REPO_ROOT, 'dist', 'src', 'dashboard', 'static-dir.js')).href;
    expect(dashboardStaticDir(compiled)).toBe(`${STATIC_DIR}${path.sep}`);
  });

  it('when neither location has the files, then the error says where it looked', () => {
    expect(() => dashboardStaticDir(pathToFileURL('/nonexistent/a/b/c/static-dir.js').href)).toThrow(/src\/dashboard\/static\/index\.html/);
  });
});
