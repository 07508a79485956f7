/**
 * Axis ticks: "nice" numbers (1, 2, 5 × 10^n, Heckbert's Graphics Gems algorithm) for values and
 * round seconds/minutes/hours for time. Every function here returns finite numbers only.
 */

export type LinearScale = { lo: number; hi: number; step: number; ticks: number[] };

const MAX_TICKS = 12;

function niceNumber(range: number, round: boolean): number {
  const exponent = Math.floor(Math.log10(range));
  const fraction = range / 10 ** exponent;
  let nice: number;
  if (round) nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  else nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * 10 ** exponent;
}

/** Widens an empty or inverted range so a constant series still gets an axis around its value. */
function widen(lo: number, hi: number): [number, number] {
  if (hi > lo) return [lo, hi];
  if (lo === 0) return [0, 1];
  const pad = Math.abs(lo) * 0.1;
  return [lo - pad, lo + pad];
}

/** Decimal places a nice step (1, 2 or 5 × 10^n) needs so its multiples print exactly. */
export function decimalsFor(step: number): number {
  if (!Number.isFinite(step) || step >= 1) return 0;
  return Math.min(6, Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)));
}

/**
 * Nice ticks covering [lo, hi]. With `exact` the scale keeps the caller's bounds (yMin/yMax) and
 * only the ticks inside them are returned.
 */
export function linearScale(rawLo: number, rawHi: number, target = 5, exact = false): LinearScale {
  const [lo, hi] = widen(
    Number.isFinite(rawLo) ? rawLo : 0,
    Number.isFinite(rawHi) ? rawHi : Number.isFinite(rawLo) ? rawLo : 1,
  );
  const step = niceNumber(niceNumber(hi - lo, false) / Math.max(1, target - 1), true);
  const first = Math.floor(lo / step + 1e-9) * step;
  const last = Math.ceil(hi / step - 1e-9) * step;
  const count = Math.min(MAX_TICKS * 4, Math.round((last - first) / step));
  const decimals = decimalsFor(step);
  const ticks: number[] = [];
  for (let i = 0; i <= count; i++) ticks.push(Number((first + i * step).toFixed(decimals)));
  if (!exact) return { lo: ticks[0] ?? lo, hi: ticks.at(-1) ?? hi, step, ticks: thin(ticks) };
  return { lo, hi, step, ticks: thin(ticks.filter((t) => t >= lo - 1e-9 && t <= hi + 1e-9)) };
}

function thin(ticks: number[]): number[] {
  if (ticks.length <= MAX_TICKS) return ticks;
  const every = Math.ceil(ticks.length / MAX_TICKS);
  return ticks.filter((_, i) => i % every === 0);
}

const SI = [
  { factor: 1e12, suffix: 'T' },
  { factor: 1e9, suffix: 'G' },
  { factor: 1e6, suffix: 'M' },
  { factor: 1e3, suffix: 'k' },
] as const;

/** A value for a label: SI suffix from 10 000 up, decimals from the tick step below that. */
export function formatValue(value: number, step?: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  if (abs >= 1e4) {
    const unit = SI.find((u) => abs >= u.factor) ?? SI[3];
    const scaled = value / unit.factor;
    return `${trimZeros(scaled.toFixed(Math.abs(scaled) >= 100 ? 0 : 1))}${unit.suffix}`;
  }
  const decimals = step === undefined ? (abs >= 100 ? 0 : abs >= 1 ? 1 : 2) : decimalsFor(step);
  const text = value.toFixed(decimals);
  const cleaned = step === undefined ? trimZeros(text) : text;
  return cleaned === '-0' ? '0' : cleaned;
}

function trimZeros(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

const TIME_STEPS_S = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
];

/** Time ticks: the smallest round step giving at most `maxTicks` intervals over the span. */
export function timeTicks(t0: number, t1: number, mode: 'relative' | 'utc', maxTicks = 7): number[] {
  const span = Math.max(1, t1 - t0);
  const stepMs =
    (TIME_STEPS_S.find((s) => span / (s * 1000) <= maxTicks) ?? Math.ceil(span / 1000 / maxTicks)) * 1000;
  const first = mode === 'relative' ? t0 : Math.ceil(t0 / stepMs) * stepMs;
  const ticks: number[] = [];
  for (let t = first; t <= t1 + 1e-6 && ticks.length <= MAX_TICKS; t += stepMs) ticks.push(t);
  return ticks;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** mm:ss since `origin`, or h:mm:ss once the span reaches an hour. */
export function formatRelative(t: number, origin: number, withHours: boolean): string {
  const total = Math.max(0, Math.round((t - origin) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return withHours ? `${h}:${pad2(m)}:${pad2(s)}` : `${pad2(Math.floor(total / 60))}:${pad2(s)}`;
}

/** HH:MM:SS in UTC: the report must read the same whatever the coordinator's time zone. */
export function formatUtc(t: number): string {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return '';
  return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}
