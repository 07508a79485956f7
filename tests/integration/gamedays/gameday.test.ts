/**
 * A one-hour game day compressed to about a minute, on the real sandbox through the real HTTP
 * stack: a single fault first, then a compound one (two faults on one host at once), each an
 * experiment whose faults go through incidents; the scoreboard fills from what really happened.
 */
import { ensureSandbox, onSandbox, SANDBOX } from '../../fixtures/sandbox.js';
import { startTestServer, type TestServer } from '../../fixtures/coordinator.js';

type Record = {
  id: string;
  status: string;
  entries: { stage: string; kind: string; fault: string; state: string; experiment_id: string | null; detail: string | null; due_at: string; started_at: string | null }[];
  scoreboard: { kind: string; fault: string; runs: number; detected: number; diagnosed_right: number; held: number; mttd_s_p50: number | null }[];
};

const HEALTH = `http://${SANDBOX.address}:8080/health`;
const steadyState = [{ name: 'api', type: 'http', url: HEALTH, expect_status: 200, timeout_ms: 3000 }];

describe('a game day on the sandbox, compressed', () => {
  let server: TestServer;
  beforeAll(async () => {
    const sandbox = await ensureSandbox();
    server = await startTestServer({ CHAOS_TARGETS_FILE: sandbox.targetsFile, CHAOS_KEYS_DIR: sandbox.keysDir, CHAOS_PDF: 'false' });
  }, 660_000);
  afterAll(async () => {
    await server?.stop();
    await onSandbox('sudo -n /opt/chaos-scripts/cleanup_all.sh');
  });

  it('when a one-hour curriculum of a single then a compound fault runs in about a minute, then both run in order and the scoreboard counts them', async () => {
    const gameDay = {
      title: 'Rehearsal',
      window: { duration: '1h', compress_to: '40s' },
      max_targets_at_once: 1,
      curriculum: [
        {
          name: 'one fault',
          kind: 'single',
          experiments: [{ at: '0m', experiment: { title: 'CPU pinned', targets: ['sandbox'], steady_state: steadyState, method: [{ type: 'inject', scenario: 'cpu_spike', args: { duration: 30, load: 4 } }, { type: 'wait', seconds: 6 }], settle_s: 0 } }],
        },
        {
          name: 'two faults on one host',
          kind: 'compound',
          experiments: [
            {
              at: '30m',
              experiment: {
                title: 'CPU pinned while the disk fills',
                targets: ['sandbox'],
                steady_state: steadyState,
                method: [
                  { type: 'inject', scenario: 'disk_fill', args: { size_mb: 64, path: '/tmp/chaos_fill' } },
                  { type: 'inject', scenario: 'cpu_spike', args: { duration: 30, load: 4 } },
                  { type: 'wait', seconds: 6 },
                ],
                settle_s: 0,
              },
            },
          ],
        },
      ],
    };
    const res = await fetch(`${server.url}/gamedays`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(gameDay) });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as Record;

    let record: Record;
    const deadline = Date.now() + 240_000;
    for (;;) {
      record = (await (await fetch(`${server.url}/gamedays/${id}`)).json()) as Record;
      if (record.status !== 'running' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(record.status).toBe('completed');
    expect(record.entries.map((e) => [e.kind, e.fault, e.state])).toEqual([
      ['single', 'cpu_spike', 'completed'],
      ['compound', 'cpu_spike+disk_fill', 'completed'],
    ]);
    // The compound fault was due 20 s in (30 of 60 minutes, compressed to 40 s) and never before the single one ended.
    const [first, second] = record.entries;
    expect(Date.parse(second!.due_at) - Date.parse(first!.due_at)).toBe(20_000);
    expect(Date.parse(second!.started_at!)).toBeGreaterThanOrEqual(Date.parse(second!.due_at));

    const single = record.scoreboard.find((r) => r.kind === 'single')!;
    expect(single).toMatchObject({ fault: 'cpu_spike', runs: 1, detected: 1, diagnosed_right: 1 });
    expect(single.mttd_s_p50).not.toBeNull();
    const compound = record.scoreboard.find((r) => r.kind === 'compound')!;
    expect(compound).toMatchObject({ fault: 'cpu_spike+disk_fill', runs: 1, detected: 1 });

    // Every fault was reverted: nothing of the game day is left on the host.
    for (const scenario of ['cpu_spike', 'disk_fill']) {
      const check = await onSandbox(`sudo -n /opt/chaos-scripts/${scenario}.sh status`);
      expect(JSON.parse(check.stdout)).toMatchObject({ state: 'stopped' });
    }
    // The dashboard's game-day page is served.
    const page = await fetch(`${server.url}/dashboard/gamedays.html`);
    expect(page.status).toBe(200);
  }, 300_000);
});
