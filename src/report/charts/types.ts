/**
 * Inputs of the chart functions. Charts are pure: a value in, an SVG string out. Every string in
 * here may come from the host (series names, labels) and is escaped by the chart code.
 */

export type Severity = 'low' | 'medium' | 'high';

export type TimePoint = { t: number /* epoch ms */; v: number };

export type ChartSeries = { name: string; points: readonly TimePoint[] };

export type ChartInput = {
  title: string;
  unit: string;
  width?: number;
  height?: number;
  /** 1..4 series, each drawn in its own colour; extra series are left out and counted. */
  series: readonly ChartSeries[];
  /** Baseline band (steady state), shaded across the whole time range. */
  band?: { lo: number; hi: number; label?: string };
  /** Anomaly windows, shaded by severity. */
  windows?: readonly { start: number; end: number; severity: Severity; label?: string }[];
  /** Vertical lines: fault injected, reverted. */
  markers?: readonly { t: number; label: string }[];
  yMin?: number;
  yMax?: number;
  /**
   * `relative` (default): mm:ss since the first point, the natural clock of an experiment.
   * `utc`: wall-clock HH:MM:SS in UTC, to line up with log timestamps.
   */
  timeAxis?: 'relative' | 'utc';
};

export type Bar = { label: string; value: number; highlight?: boolean };

export type BarChartInput = {
  title: string;
  unit: string;
  bars: readonly Bar[];
  width?: number;
};
