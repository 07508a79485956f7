export { timeSeriesChart } from './time-series-chart.js';
export { barChart } from './bar-chart.js';
export { cleanLabel, escapeXml } from './svg.js';
export type { Bar, BarChartInput, ChartInput, ChartSeries, Severity, TimePoint } from './types.js';
