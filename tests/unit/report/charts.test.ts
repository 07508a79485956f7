import fc from 'fast-check';
import { barChart, timeSeriesChart, type ChartInput, type TimePoint } from '../../../src/report/charts/index.js';
import { cleanLabel } from '../../../src/report/charts/svg.js';
import { formatRelative, formatUtc, formatValue, linearScale, timeTicks } from '../../../src/report/charts/ticks.js';
import { xmlProblems } from './xml-well-formed.js';

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const every5s = (n: number, f: (i: number) => number): TimePoint[] =>
  Array.from({ length: n }, (_, i) => ({ t: T0 + i * 5_000, v: f(i) }));

const HOSTILE = `</text><script>alert(1)</script><svg onload="alert(1)"> & "quoted" 'single' \u0000\u0007\u202Egnp.exe`;

/** Numbers in attributes and text nodes: any NaN/Infinity there means a broken computation. */
function nonFiniteNumbers(svg: string): string[] {
  return svg.match(/NaN|Infinity/g) ?? [];
}

function pathCommands(svg: string): number {
  return [...svg.matchAll(/<path d="([^"]*)"/g)].reduce((n, m) => n + ((m[1] ?? '').match(/M/g)?.length ?? 0), 0);
}

describe('timeSeriesChart', () => {
  const base: ChartInput = {
    title: 'CPU utilisation',
    unit: '%',
    series: [{ name: 'cpu', points: every5s(60, (i) => 10 + (i % 7)) }],
  };

  it('when given a normal series, then it returns one well-formed standalone SVG with an accessible title', () => {
    const svg = timeSeriesChart(base);
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toMatch(/<svg [^>]*role="img"[^>]*><title>CPU utilisation<\/title><desc>/);
    expect(svg).not.toMatch(/<script|\son[a-z]+=|href=/i);
    expect(nonFiniteNumbers(svg)).toEqual([]);
  });

  it('when host-controlled names and labels contain markup, quotes and control characters, then all of it is escaped and the XML stays well-formed', () => {
    const svg = timeSeriesChart({
      ...base,
      title: HOSTILE,
      unit: HOSTILE,
      series: [{ name: HOSTILE, points: every5s(10, (i) => i) }],
      band: { lo: 1, hi: 3, label: HOSTILE },
      windows: [{ start: T0, end: T0 + 20_000, severity: 'high', label: HOSTILE }],
      markers: [{ t: T0 + 10_000, label: HOSTILE }],
    });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toContain('<script');
    expect(svg).not.toContain('<svg onload');
    expect(svg).not.toMatch(/\son[a-z]+="/i);
    expect(svg).toContain('&lt;/text&gt;&lt;script&gt;');
    expect(svg).toContain('&amp;');
    for (const c of ['\u0000', '\u0007', '\u202E']) expect(svg).not.toContain(c);
  });

  it('when a baseline band and anomaly windows are given, then both are shaded and named in the legend', () => {
    const svg = timeSeriesChart({
      ...base,
      band: { lo: 8, hi: 18, label: 'baseline p5–p95' },
      windows: [
        { start: T0 + 60_000, end: T0 + 120_000, severity: 'high', label: 'cpu saturation' },
        { start: T0 + 150_000, end: T0 + 170_000, severity: 'low' },
      ],
    });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toContain('fill="#10b981" fill-opacity="0.12"');
    expect(svg).toContain('fill="#ef4444" fill-opacity="0.22"');
    expect(svg).toContain('fill="#facc15" fill-opacity="0.18"');
    expect(svg).toContain('high: cpu saturation');
    expect(svg).toContain('>baseline p5–p95</text>');
    expect(svg).toContain('>high anomaly</text>');
    expect(svg).toContain('>low anomaly</text>');
  });

  it('when markers are given, then dashed vertical lines are drawn with their labels, and markers outside the data are left out', () => {
    const svg = timeSeriesChart({
      ...base,
      markers: [
        { t: T0 + 50_000, label: 'fault injected' },
        { t: T0 + 200_000, label: 'reverted' },
        { t: T0 + 10 * 3_600_000, label: 'far away' },
      ],
    });
    expect(svg).toContain('>fault injected</text>');
    expect(svg).toContain('>reverted</text>');
    expect(svg).not.toContain('far away</text>');
    expect(svg.match(/stroke-dasharray="5 3"/g)).toHaveLength(2);
  });

  it('when a series is constant, then the axis is built around the value and no NaN appears', () => {
    const svg = timeSeriesChart({ ...base, series: [{ name: 'flat', points: every5s(20, () => 42) }] });
    expect(xmlProblems(svg)).toEqual([]);
    expect(nonFiniteNumbers(svg)).toEqual([]);
    expect(pathCommands(svg)).toBe(1);
  });

  it('when a series is constant at zero, then the axis still has a range and no NaN appears', () => {
    const svg = timeSeriesChart({ ...base, series: [{ name: 'zero', points: every5s(20, () => 0) }] });
    expect(nonFiniteNumbers(svg)).toEqual([]);
    expect(svg).toContain('>1.0</text>');
  });

  it('when a series has a single point, then it is drawn as a dot on a one-minute axis with no NaN', () => {
    const svg = timeSeriesChart({ ...base, series: [{ name: 'one', points: [{ t: T0, v: 5 }] }] });
    expect(xmlProblems(svg)).toEqual([]);
    expect(nonFiniteNumbers(svg)).toEqual([]);
    expect(svg).toContain('<circle');
    expect(svg).toContain('>01:00</text>');
  });

  it('when every series is empty, then the chart says "no data"', () => {
    for (const series of [[], [{ name: 'rss', points: [] }], [{ name: 'rss', points: [{ t: T0, v: NaN }] }]]) {
      const svg = timeSeriesChart({ title: 'Memory', unit: 'MB', series });
      expect(xmlProblems(svg)).toEqual([]);
      expect(svg).toContain('>no data</text>');
      expect(nonFiniteNumbers(svg)).toEqual([]);
    }
  });

  it('when values are missing or sampling stopped for a while, then the line breaks instead of bridging the gap', () => {
    const withHole = every5s(30, (i) => (i >= 10 && i < 13 ? NaN : i));
    expect(pathCommands(timeSeriesChart({ ...base, series: [{ name: 'a', points: withHole }] }))).toBe(2);

    const pause = every5s(30, (i) => i).filter((_, i) => i < 10 || i >= 20);
    expect(pathCommands(timeSeriesChart({ ...base, series: [{ name: 'a', points: pause }] }))).toBe(2);
  });

  it('when points arrive out of order, then they are drawn in time order', () => {
    const points = every5s(5, (i) => i).reverse();
    const d = /<path d="([^"]*)"/.exec(timeSeriesChart({ ...base, series: [{ name: 'a', points }] }))?.[1] ?? '';
    const xs = [...d.matchAll(/[ML]([\d.]+) /g)].map((m) => Number(m[1]));
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
  });

  it('when up to four series are given, then each gets its own colour; more are counted, not drawn', () => {
    const series = ['a', 'b', 'c', 'd', 'e', 'f'].map((name, k) => ({ name, points: every5s(10, (i) => i + k) }));
    const svg = timeSeriesChart({ ...base, series });
    const strokes = [...svg.matchAll(/<path d="[^"]*" fill="none" stroke="(#[0-9a-f]{6})"/g)].map((m) => m[1]);
    expect(new Set(strokes).size).toBe(4);
    expect(svg).toContain('+2 more series not shown');
  });

  it('when yMin/yMax are given, then the axis uses them and out-of-range values are clamped into the plot', () => {
    const svg = timeSeriesChart({ ...base, yMin: 0, yMax: 100, series: [{ name: 'a', points: every5s(10, (i) => (i === 5 ? 250 : 50)) }] });
    expect(svg).toContain('>100</text>');
    expect(svg).not.toContain('>250</text>');
    expect(nonFiniteNumbers(svg)).toEqual([]);
  });

  it('when the time axis is relative, then ticks read mm:ss from the first point; when utc, then HH:MM:SS', () => {
    expect(timeSeriesChart(base)).toContain('>00:00</text>');
    expect(timeSeriesChart(base)).toContain('time since start (mm:ss)');
    const utc = timeSeriesChart({ ...base, timeAxis: 'utc' });
    expect(utc).toContain('>12:00:00</text>');
    expect(utc).toContain('time (UTC)');
  });

  it('when a series has 100 000 points, then the SVG stays small and keeps the spike', () => {
    const points = Array.from({ length: 100_000 }, (_, i) => ({ t: T0 + i * 100, v: i === 50_000 ? 1000 : 10 }));
    const svg = timeSeriesChart({ ...base, series: [{ name: 'dense', points }] });
    expect(svg.length).toBeLessThan(120_000);
    expect(svg).toContain('>1000</text>');
    expect(xmlProblems(svg)).toEqual([]);
  });

  it('when given arbitrary numbers and host text, then the SVG is always well-formed and never prints NaN or Infinity', () => {
    const unsafeText = fc.string({ unit: fc.constantFrom('a', 'z', '<', '>', '&', '"', "'", ' ', '\u0000', '\u202E', '\uD800', 'é', '😀'), maxLength: 30 });
    const value = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, 0, -0));
    const point = fc.record({ t: fc.oneof(fc.integer({ min: T0, max: T0 + 3_600_000 }), fc.constant(NaN)), v: value });
    fc.assert(
      fc.property(
        fc.record({
          title: unsafeText,
          unit: unsafeText,
          series: fc.array(fc.record({ name: unsafeText, points: fc.array(point, { maxLength: 30 }) }), { maxLength: 5 }),
          band: fc.option(fc.record({ lo: value, hi: value, label: unsafeText }), { nil: undefined }),
          windows: fc.array(
            fc.record({ start: value, end: value, severity: fc.constantFrom('low', 'medium', 'high'), label: unsafeText }),
            { maxLength: 3 },
          ),
          markers: fc.array(fc.record({ t: value, label: unsafeText }), { maxLength: 3 }),
          yMin: fc.option(value, { nil: undefined }),
          yMax: fc.option(value, { nil: undefined }),
          width: fc.option(fc.oneof(fc.integer({ min: -10, max: 5000 }), fc.constant(NaN)), { nil: undefined }),
        }),
        (input) => {
          const svg = timeSeriesChart(input as ChartInput);
          expect(xmlProblems(svg)).toEqual([]);
          expect(nonFiniteNumbers(svg)).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('barChart', () => {
  it('when comparing baseline and incident, then highlighted bars use the accent colour and values carry the unit', () => {
    const svg = barChart({
      title: 'p95 latency',
      unit: 'ms',
      bars: [
        { label: 'baseline', value: 42 },
        { label: 'incident', value: 870, highlight: true },
      ],
    });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toContain('fill="#ea580c"');
    expect(svg).toContain('fill="#64748b"');
    expect(svg).toContain('>870 ms</text>');
    expect(svg).toContain('<title>p95 latency</title>');
  });

  it('when labels come from the host, then they are escaped', () => {
    const svg = barChart({ title: HOSTILE, unit: HOSTILE, bars: [{ label: HOSTILE, value: 1 }] });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toContain('<script');
  });

  it('when there are no bars or no finite values, then the chart says "no data"', () => {
    expect(barChart({ title: 't', unit: 'u', bars: [] })).toContain('>no data</text>');
    expect(barChart({ title: 't', unit: 'u', bars: [{ label: 'x', value: NaN }] })).toContain('>no data</text>');
  });

  it('when one value is missing among others, then it reads n/a and nothing prints NaN', () => {
    const svg = barChart({ title: 't', unit: 'u', bars: [{ label: 'x', value: NaN }, { label: 'y', value: 3 }] });
    expect(svg).toContain('>n/a</text>');
    expect(nonFiniteNumbers(svg)).toEqual([]);
  });

  it('when values are negative or all equal, then the chart stays well-formed with no NaN', () => {
    for (const bars of [[{ label: 'a', value: -5 }, { label: 'b', value: 10 }], [{ label: 'a', value: 0 }, { label: 'b', value: 0 }]]) {
      const svg = barChart({ title: 't', unit: 'u', bars });
      expect(xmlProblems(svg)).toEqual([]);
      expect(nonFiniteNumbers(svg)).toEqual([]);
    }
  });
});

describe('chart helpers', () => {
  it('when building a value axis, then ticks are nice round numbers covering the range', () => {
    expect(linearScale(0, 97).ticks).toEqual([0, 20, 40, 60, 80, 100]);
    expect(linearScale(0, 0.7).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(linearScale(-3, 12).ticks).toEqual([-5, 0, 5, 10, 15]);
    expect(linearScale(42, 42).ticks.every(Number.isFinite)).toBe(true);
    expect(linearScale(NaN, NaN).ticks.every(Number.isFinite)).toBe(true);
    expect(linearScale(0, 100, 5, true)).toMatchObject({ lo: 0, hi: 100 });
  });

  it('when formatting values, then large ones get SI suffixes and non-finite ones read n/a', () => {
    expect(formatValue(12_345)).toBe('12.3k');
    expect(formatValue(2_500_000)).toBe('2.5M');
    expect(formatValue(0.25, 0.05)).toBe('0.25');
    expect(formatValue(NaN)).toBe('n/a');
    expect(formatValue(-0)).toBe('0');
  });

  it('when formatting time, then relative time reads mm:ss (h:mm:ss past an hour) and utc reads HH:MM:SS', () => {
    expect(formatRelative(T0 + 125_000, T0, false)).toBe('02:05');
    expect(formatRelative(T0 + 3_725_000, T0, true)).toBe('1:02:05');
    expect(formatUtc(T0 + 61_000)).toBe('12:01:01');
    expect(timeTicks(T0, T0 + 600_000, 'relative')).toHaveLength(6);
  });

  it('when cleaning a label, then control and bidi characters go, whitespace collapses and long text is capped', () => {
    expect(cleanLabel('a\u0000b\u202Ec\n\td')).toBe('abc d');
    expect(cleanLabel('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(cleanLabel('😀'.repeat(5), 3)).toBe('😀😀…');
  });
});
