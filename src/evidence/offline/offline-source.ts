import { setTimeout as sleep } from 'node:timers/promises';
import type { Evidence, Phase } from '../schema.js';
import type { CollectSummary, EvidenceSource, RecoveryWindow } from '../source.js';
import { readBundle } from '../bundle.js';

/**
 * Replays a recorded bundle. No SSH, no waiting: each window returns at once with what the
 * recording holds for it, and `finish` hands the agents exactly what a live run would have.
 * With `replaySpeed` each window instead takes its recorded length divided by that factor, so a
 * replay can be watched live (and stopped) like a real incident.
 */
export class OfflineEvidenceSource implements EvidenceSource {
  readonly kind = 'offline' as const;
  readonly description: string;
  private evidence: Evidence | null = null;

  constructor(
    private readonly bundleDir: string,
    private readonly options: { replaySpeed?: number } = {},
  ) {
    this.description = `recorded bundle ${bundleDir}${options.replaySpeed ? ` (replayed at ${options.replaySpeed}x)` : ''}`;
  }

  async collect(phase: Phase, _durationS: number, signal: AbortSignal): Promise<CollectSummary> {
    signal.throwIfAborted();
    const evidence = await this.load();
    const window = evidence.windows[phase];
    const recordedMs = Date.parse(window.end) - Date.parse(window.start);
    if (this.options.replaySpeed) await sleep(recordedMs / this.options.replaySpeed, undefined, { signal });
    return {
      phase,
      samples: evidence.samples.filter((s) => s.phase === phase).length,
      probes: evidence.probes.filter((p) => p.phase === phase).length,
      seconds: Math.round(recordedMs / 1000),
    };
  }

  markFault(): void {
    // The recording already carries when its fault started and ended.
  }

  async finish(signal: AbortSignal): Promise<Evidence> {
    signal.throwIfAborted();
    // What a live run has at this point: the analysed windows, not yet the recovery after them.
    const evidence = await this.load();
    return {
      ...evidence,
      windows: { baseline: evidence.windows.baseline, incident: evidence.windows.incident },
      samples: evidence.samples.filter((s) => s.phase !== 'recovery'),
      probes: evidence.probes.filter((p) => p.phase !== 'recovery'),
    };
  }

  /** The recording's own recovery window (empty for recordings that stop at the revert). */
  async followRecovery(_maxS: number, signal: AbortSignal): Promise<RecoveryWindow> {
    signal.throwIfAborted();
    const evidence = await this.load();
    const window = evidence.windows.recovery ?? null;
    if (window && this.options.replaySpeed) {
      await sleep((Date.parse(window.end) - Date.parse(window.start)) / this.options.replaySpeed, undefined, { signal });
    }
    return {
      window,
      fault_reverted_at: evidence.fault_reverted_at,
      samples: evidence.samples.filter((s) => s.phase === 'recovery'),
      probes: evidence.probes.filter((p) => p.phase === 'recovery'),
    };
  }

  async close(): Promise<null> {
    this.evidence = null;
    return null;
  }

  private async load(): Promise<Evidence> {
    this.evidence ??= (await readBundle(this.bundleDir)).evidence;
    return this.evidence;
  }
}
