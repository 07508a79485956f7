import { startTestServer, type TestServer } from '../../fixtures/coordinator.js';

/** The experiment routes through the real HTTP stack, before anything touches a host. */
describe('experiment API without a host', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ CHAOS_TARGETS_FILE: '/nonexistent/targets.json' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const experiment = {
    title: 'API stays up',
    targets: ['sandbox'],
    steady_state: [{ name: 'api', type: 'http', url: 'http://127.0.0.1:9/health', expect_status: 200 }],
    method: [{ type: 'inject', scenario: 'cpu_spike' }],
  };
  const post = (body: unknown) => fetch(`${server.url}/experiments`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it('when the body is not a valid experiment, then 400 names each field that is wrong', async () => {
    const res = await post({ ...experiment, steady_state: [{ name: 'api', type: 'http', url: 'ftp://x', expect_status: 200 }], runs: 0 });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: { field: string }[] };
    expect(problem.errors.map((e) => e.field)).toEqual(expect.arrayContaining(['steady_state[0].url', 'runs']));
  });

  it('when no target is enrolled, then the experiment is refused before anything runs', async () => {
    const res = await post(experiment);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/No targets are enrolled/);
    const list = (await (await fetch(`${server.url}/experiments`)).json()) as { experiments: unknown[] };
    expect(list.experiments).toEqual([]);
  });

  it('when an experiment id is unknown or malformed, then 404', async () => {
    expect((await fetch(`${server.url}/experiments/exp-20261201-000000-aaaaaaaaaa`)).status).toBe(404);
    expect((await fetch(`${server.url}/experiments/..%2f..%2fetc`)).status).toBe(404);
    expect((await fetch(`${server.url}/experiments/exp-20261201-000000-aaaaaaaaaa/files/report.md`)).status).toBe(404);
  });
});
